"""Early integration (section 6.3.1): concatenate the raw modalities, one network on top."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn

from ..backbones.base import Backbone, fc_block, output_size
from .base import FusionModel, InputFill


class EarlyIntegration(FusionModel):
    """Raw inputs concatenated (``backbone.concat_dim``), then encoder, optional wide layer, head.

    Missing modalities are filled at the input with their training mean (or zeros).
    """

    needs_filled_inputs = True

    def __init__(self, backbone: Backbone, modality_shapes: Sequence[Sequence[int]], n_classes: int, fill: str = "mean") -> None:
        super().__init__(backbone, modality_shapes, n_classes)
        self.fill = InputFill(self.modality_shapes, mode=fill)
        self.encoder, self.hidden, code_size = build_trunk(backbone, backbone.concat_shape(self.modality_shapes))
        self.head = backbone.head(code_size, n_classes)

    def fit_statistics(self, modality_means: Sequence[Tensor]) -> None:
        self.fill.set_means(modality_means)

    def fuse(self, encoded: Sequence[Tensor], available: Tensor, generator: torch.Generator | None = None) -> Tensor:
        x = self.backbone.concat(self.fill.apply(encoded, available))
        return self.head(self.hidden(self.encoder(x)))


def build_trunk(backbone: Backbone, shape: tuple[int, ...]) -> tuple[nn.Module, nn.Module, int]:
    """Encoder for ``shape`` plus the backbone's extra early layer; returns them and the code size."""
    encoder = backbone.encoder(shape)
    size = output_size(encoder, shape)
    if backbone.early_width is None:
        return encoder, nn.Identity(), size
    return encoder, fc_block(size, backbone.early_width, backbone.dropout), backbone.early_width
