"""Shared part of the models that encode each modality with its own encoder."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn

from ..backbones.base import Backbone, output_size
from .base import FusionModel, InputFill


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

    def projections(self, width: int | None) -> tuple[nn.ModuleList, list[int]]:
        """Per-modality fully connected layers to ``width`` (identity when ``None``) and their output sizes."""
        if width is None:
            return nn.ModuleList(nn.Identity() for _ in self.feature_sizes), list(self.feature_sizes)
        from ..backbones.base import fc_block

        layers = nn.ModuleList(fc_block(f, width, self.backbone.dropout) for f in self.feature_sizes)
        return layers, [width] * len(self.feature_sizes)


def any_available_rows(available: Tensor) -> Tensor:
    """``BoolTensor[B]``: rows with at least one modality."""
    return available.any(dim=1)


def uniform_logits(batch: int, n_classes: int, like: Tensor) -> Tensor:
    return torch.zeros(batch, n_classes, dtype=like.dtype, device=like.device)
