"""Layers: the EmbraceNet module, the embracement function, modality dropout, compact pooling."""

from .compact_pooling import CompactMultilinearPooling
from .embracement import EmbraceNet, check_probabilities, embrace, sample_modalities, selection_probabilities
from .modality_dropout import ModalityDropout, modality_dropout

__all__ = [
    "EmbraceNet",
    "embrace",
    "selection_probabilities",
    "sample_modalities",
    "check_probabilities",
    "ModalityDropout",
    "modality_dropout",
    "CompactMultilinearPooling",
]
