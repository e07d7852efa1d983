"""Late integration (section 6.3.2): one network per modality, weighted sum of class probabilities."""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..backbones.base import Backbone
from .base import FusionModel
from .early import build_trunk


class LateIntegration(FusionModel):
    """Each modality has a whole network (encoder, early layer, head) of its own.

    Training sums the per-modality cross-entropies. At inference the class probabilities of the
    *available* modalities are summed with weights (validation F1 of each unimodal network, set by
    :meth:`set_weights`; uniform until then). The output is the log of the normalised weighted
    sum, so ``argmax`` is the paper's decision and cross-entropy still applies. A row with no
    available modality gets uniform probabilities.
    """

    def __init__(self, backbone: Backbone, modality_shapes: Sequence[Sequence[int]], n_classes: int) -> None:
        super().__init__(backbone, modality_shapes, n_classes)
        branches = []
        for shape in self.modality_shapes:
            encoder, hidden, code = build_trunk(backbone, shape)
            branches.append(nn.Sequential(encoder, hidden, backbone.head(code, n_classes)))
        self.branches = nn.ModuleList(branches)
        self.register_buffer("weights", torch.ones(self.n_modalities))

    def set_weights(self, weights: Sequence[float] | Tensor) -> None:
        """Per-modality weights of the sum rule (the paper: each unimodal network's validation F1)."""
        w = torch.as_tensor(weights, dtype=torch.float32)
        if w.shape != (self.n_modalities,) or not torch.isfinite(w).all() or (w < 0).any() or w.sum() <= 0:
            raise ValueError(f"late integration weights must be {self.n_modalities} finite non-negative values, not all zero; got {w.tolist()}")
        self.weights.copy_(w)

    def encode(self, xs: Sequence[Tensor]) -> list[Tensor]:
        """Per-modality class log-probabilities, each ``[B, n_classes]``."""
        return [F.log_softmax(branch(x), dim=-1) for branch, x in zip(self.branches, xs)]

    def fuse(self, encoded: Sequence[Tensor], available: Tensor, generator: torch.Generator | None = None) -> Tensor:
        probs = torch.stack(encoded, dim=1).exp()  # [B, m, n_classes]
        w = self.weights * available.to(probs.dtype)  # [B, m]
        total = w.sum(1, keepdim=True)
        w = torch.where(total > 0, w / total.clamp_min(1e-12), torch.full_like(w, 1.0 / self.n_modalities))
        mixed = (w.unsqueeze(-1) * probs).sum(1)
        mixed = torch.where(total > 0, mixed, torch.full_like(mixed, 1.0 / self.n_classes))
        return torch.log(mixed.clamp_min(1e-12))

    def loss(self, xs: Sequence[Tensor], available: Tensor, y: Tensor) -> Tensor:
        """Sum over modalities of each unimodal network's cross-entropy on its available rows."""
        available = self.check_inputs(xs, available)
        total = xs[0].new_zeros(())
        for k, log_probs in enumerate(self.encode(xs)):
            rows = available[:, k]
            if rows.any():
                total = total + F.nll_loss(log_probs[rows], y[rows])
        return total
