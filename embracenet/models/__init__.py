"""The six fusion architectures of section 6.3, all with ``forward(xs, available) -> logits``."""

from .autoencoder import MultimodalAutoencoder
from .base import FusionModel, InputFill
from .compact_pooling import CompactPoolingIntegration
from .early import EarlyIntegration
from .embracenet_model import EmbraceNetModel
from .intermediate import IntermediateIntegration
from .late import LateIntegration

MODELS = {
    "early": EarlyIntegration,
    "late": LateIntegration,
    "intermediate": IntermediateIntegration,
    "compact_pooling": CompactPoolingIntegration,
    "autoencoder": MultimodalAutoencoder,
    "embracenet": EmbraceNetModel,
}

__all__ = [
    "FusionModel",
    "InputFill",
    "EarlyIntegration",
    "LateIntegration",
    "IntermediateIntegration",
    "CompactPoolingIntegration",
    "MultimodalAutoencoder",
    "EmbraceNetModel",
    "MODELS",
]
