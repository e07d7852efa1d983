"""Per-dataset backbones: the encoder (lower part) and head (upper part) of each network."""

from .base import Backbone, fc_block, output_size
from .gas_cnn import gas_cnn
from .deepconvlstm import deepconvlstm
from .mnist_half_cnn import mnist_half_cnn

__all__ = ["Backbone", "fc_block", "output_size", "mnist_half_cnn", "gas_cnn", "deepconvlstm"]
