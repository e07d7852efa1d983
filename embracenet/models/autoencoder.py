"""Multimodal autoencoder (section 6.3.5): early integration pretrained to reconstruct its input."""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor

from ..backbones.base import Backbone
from ..nn.modality_dropout import modality_dropout
from .base import FusionModel
from .early import build_trunk

MISSING_VALUE = -1.0


class MultimodalAutoencoder(FusionModel):
    """Early-integration trunk + a decoder used only for pretraining.

    Inputs are rescaled from ``input_range`` to [0, 1]; a missing modality becomes the constant -1,
    outside that range. In training (pretraining and fine-tuning alike) each sample additionally
    loses a random half of its modalities (each hidden with probability ``corruption``, one always
    kept). Pretraining (:meth:`pretrain_loss`) reconstructs the clean input with a binary
    cross-entropy; fine-tuning trains the classifier head end to end with cross-entropy.

    Args:
        input_range: the (low, high) range of the data as given, mapped to [0, 1].
        corruption: probability of hiding each modality in training (0.5 in the paper).
    """

    def __init__(
        self,
        backbone: Backbone,
        modality_shapes: Sequence[Sequence[int]],
        n_classes: int,
        input_range: tuple[float, float] = (0.0, 1.0),
        corruption: float = 0.5,
    ) -> None:
        super().__init__(backbone, modality_shapes, n_classes)
        if backbone.decoder is None:
            raise ValueError(f"backbone {backbone.name!r} has no decoder; the multimodal autoencoder needs one")
        low, high = float(input_range[0]), float(input_range[1])
        if not high > low:
            raise ValueError(f"input_range must be (low, high) with high > low, got {input_range}")
        self.low, self.high, self.corruption = low, high, corruption
        shape = backbone.concat_shape(self.modality_shapes)
        self.encoder, self.hidden, code_size = build_trunk(backbone, shape)
        self.decoder = backbone.decoder(code_size, shape)
        self.head = backbone.head(code_size, n_classes)

    def _code(self, xs: Sequence[Tensor], available: Tensor) -> Tensor:
        if self.training and self.corruption > 0:
            available = modality_dropout(available, self.corruption)
        parts = []
        for k, x in enumerate(xs):
            x01 = ((x - self.low) / (self.high - self.low)).clamp(0.0, 1.0)
            mask = available[:, k].reshape(-1, *([1] * (x.ndim - 1)))
            parts.append(torch.where(mask, x01, torch.full_like(x01, MISSING_VALUE)))
        return self.hidden(self.encoder(self.backbone.concat(parts)))

    def fuse(self, encoded: Sequence[Tensor], available: Tensor, generator: torch.Generator | None = None) -> Tensor:
        return self.head(self._code(encoded, available))

    def pretrain_loss(self, xs: Sequence[Tensor], available: Tensor, y: Tensor | None = None) -> Tensor:
        """Reconstruction loss: binary cross-entropy between the decoder's output and the clean input
        (in [0, 1]), over the modalities that were really available."""
        available = self.check_inputs(xs, available)
        logits = self.decoder(self._code(xs, available))
        target = self.backbone.concat([((x - self.low) / (self.high - self.low)).clamp(0.0, 1.0) for x in xs])
        weight = self.backbone.concat(
            [available[:, k].reshape(-1, *([1] * (x.ndim - 1))).expand_as(x).to(x.dtype) for k, x in enumerate(xs)]
        )
        return F.binary_cross_entropy_with_logits(logits, target, weight=weight)
