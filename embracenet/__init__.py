"""EmbraceNet: robust multimodal fusion (Choi & Lee), in plain PyTorch.

>>> from embracenet import EmbraceNet
"""

from .calibration import modality_scores, probabilities_from_scores
from .nn import CompactMultilinearPooling, EmbraceNet, ModalityDropout, embrace, modality_dropout

__version__ = "0.1.0"

__all__ = [
    "EmbraceNet",
    "embrace",
    "modality_dropout",
    "ModalityDropout",
    "CompactMultilinearPooling",
    "probabilities_from_scores",
    "modality_scores",
]
