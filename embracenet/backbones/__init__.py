"""Per-dataset backbones: the encoder (lower part) and head (upper part) of each network."""

from .base import Backbone, fc_block, output_size
from .mnist_half_cnn import mnist_half_cnn

__all__ = ["Backbone", "fc_block", "output_size", "mnist_half_cnn"]
