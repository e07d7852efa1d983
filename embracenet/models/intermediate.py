"""Intermediate integration (section 6.3.3): per-modality encoders, concatenation, shared head."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor

from ..backbones.base import Backbone
from .encoders import FilledProjectionModel


class IntermediateIntegration(FilledProjectionModel):
    """Concatenate the per-modality representations and classify them with the backbone's head.

    Missing modalities are filled at the input with their training mean (``fill="mean"``, the
    protocol of section 6.4.1) or zeros (``fill="zero"``, Table 1).
    """

    needs_filled_inputs = True

    def __init__(self, backbone: Backbone, modality_shapes: Sequence[Sequence[int]], n_classes: int, fill: str = "mean") -> None:
        super().__init__(backbone, modality_shapes, n_classes, fill)
        self.head = backbone.head(sum(self.widths), n_classes)

    def fuse(self, encoded: Sequence[Tensor], available: Tensor, generator: torch.Generator | None = None) -> Tensor:
        return self.head(torch.cat(self.filled_features(encoded, available), dim=-1))
