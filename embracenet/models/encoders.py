"""Shared part of the models that encode each modality with its own encoder."""

from __future__ import annotations

from collections.abc import Sequence

from torch import Tensor, nn

from ..backbones.base import Backbone, fc_block, output_size
from .base import FusionModel, InputFill, replace_missing


class PerModalityModel(FusionModel):
    """A fusion model with one backbone encoder per modality and a fill value per modality.

    Missing modalities are replaced by their fill (training mean or zeros) *at the input*; since
    an encoder sees one sample at a time, this equals replacing its output by ``encoder(fill)``,
    which is what :meth:`fill_features` computes, once per call, so cached encodings stay valid.
    """

    def __init__(self, backbone: Backbone, modality_shapes: Sequence[Sequence[int]], n_classes: int, fill: str = "mean") -> None:
        super().__init__(backbone, modality_shapes, n_classes)
        self.encoders = nn.ModuleList(backbone.encoder(s) for s in self.modality_shapes)
        self.feature_sizes = [output_size(e, s) for e, s in zip(self.encoders, self.modality_shapes)]
        self.fill = InputFill(self.modality_shapes, mode=fill)

    def fit_statistics(self, modality_means: Sequence[Tensor]) -> None:
        self.fill.set_means(modality_means)

    def encode(self, xs: Sequence[Tensor]) -> list[Tensor]:
        return [enc(x) for enc, x in zip(self.encoders, xs)]

    def fill_features(self) -> list[Tensor]:
        """``encoder_k(fill_k)`` for every modality, each ``[1, ...]``."""
        return [enc(self.fill.value(k).unsqueeze(0)) for k, enc in enumerate(self.encoders)]



class FilledProjectionModel(PerModalityModel):
    """Per-modality encoders, then per-modality fully connected layers (``backbone.fusion_width``),
    with missing modalities filled: intermediate integration and compact pooling fuse the output.

    In eval mode :meth:`encode` already applies the projections, so subset evaluation runs them
    once per batch instead of once per subset (they do not depend on availability). In training
    mode the fill goes through the projection row by row, so dropout stays independent per row.
    """

    def __init__(self, backbone: Backbone, modality_shapes: Sequence[Sequence[int]], n_classes: int, fill: str = "mean") -> None:
        super().__init__(backbone, modality_shapes, n_classes, fill)
        if backbone.fusion_width is None:
            self.project = nn.ModuleList(nn.Identity() for _ in self.feature_sizes)
            self.widths = list(self.feature_sizes)
        else:
            self.project = nn.ModuleList(fc_block(f, backbone.fusion_width, backbone.dropout) for f in self.feature_sizes)
            self.widths = [backbone.fusion_width] * len(self.feature_sizes)

    def encode(self, xs: Sequence[Tensor]) -> list[Tensor]:
        features = super().encode(xs)
        return features if self.training else [p(f) for p, f in zip(self.project, features)]

    def filled_features(self, encoded: Sequence[Tensor], available: Tensor) -> list[Tensor]:
        """Projected features ``[B, ..., width_k]`` per modality, the fill's where a modality is missing."""
        fills = self.fill_features()
        if self.training:
            return [p(f) for p, f in zip(self.project, replace_missing(encoded, fills, available))]
        return replace_missing(encoded, [p(f) for p, f in zip(self.project, fills)], available)
