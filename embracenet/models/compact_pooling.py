"""Intermediate integration with compact multilinear pooling instead of concatenation (section 6.3.4)."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor

from ..backbones.base import Backbone
from ..nn.compact_pooling import CompactMultilinearPooling
from .encoders import FilledProjectionModel


class CompactPoolingIntegration(FilledProjectionModel):
    """Per-modality encoders, compact multilinear pooling to ``pooled_size``, shared head.

    Missing modalities are filled with their training mean, like intermediate integration.
    """

    needs_filled_inputs = True

    def __init__(
        self,
        backbone: Backbone,
        modality_shapes: Sequence[Sequence[int]],
        n_classes: int,
        pooled_size: int = 1024,
        fill: str = "mean",
        normalize_output: bool = True,
        sketch_seed: int = 0,
    ) -> None:
        super().__init__(backbone, modality_shapes, n_classes, fill)
        self.pool = CompactMultilinearPooling(self.widths, pooled_size, normalize_output=normalize_output, seed=sketch_seed)
        self.head = backbone.head(pooled_size, n_classes)

    def fuse(self, encoded: Sequence[Tensor], available: Tensor, generator: torch.Generator | None = None) -> Tensor:
        return self.head(self.pool(self.filled_features(encoded, available)))
