"""Modality dropout: the "Adj. pre" training procedure of section 5.1, for any number of modalities."""

from __future__ import annotations

import torch
from torch import Tensor, nn


def modality_dropout(available: Tensor, missing_prob: float = 0.5, generator: torch.Generator | None = None) -> Tensor:
    """Randomly hide modalities of each row, always keeping at least one that was available.

    Per row, one available modality is drawn uniformly and always kept; every other available
    modality is hidden independently with probability ``missing_prob``. With two modalities and
    ``missing_prob=0.5`` this is the paper's Table 1 setting: half of the samples keep both halves,
    the other half keep a single, randomly chosen one. With ``m`` modalities the expected fraction
    hidden is ``missing_prob * (m - 1) / m`` (0.44 for m = 8, 0.47 for m = 19).

    Args:
        available: ``BoolTensor[B, m]``; rows with nothing available stay as they are.
        missing_prob: probability of hiding each modality other than the kept one, in [0, 1].
        generator: random source.

    Returns:
        ``BoolTensor[B, m]``, a subset of ``available`` row by row.
    """
    if not 0.0 <= missing_prob <= 1.0:
        raise ValueError(f"missing_prob must be in [0, 1], got {missing_prob}")
    if available.ndim != 2:
        raise ValueError(f"available must be [B, m], got shape {tuple(available.shape)}")
    if missing_prob == 0.0 or available.shape[1] == 1:
        return available
    weights = available.float()
    has_any = weights.sum(1) > 0
    weights[~has_any] = 1.0  # any index will do; those rows are restored below
    keep = torch.multinomial(weights, 1, generator=generator)  # [B, 1]
    u = torch.rand(available.shape, generator=generator, device=available.device)
    kept = u >= missing_prob
    kept.scatter_(1, keep, True)
    return torch.where(has_any.unsqueeze(1), available & kept, available)


class ModalityDropout(nn.Module):
    """Module form of :func:`modality_dropout`: active in training mode only."""

    def __init__(self, missing_prob: float = 0.5) -> None:
        super().__init__()
        if not 0.0 <= missing_prob <= 1.0:
            raise ValueError(f"missing_prob must be in [0, 1], got {missing_prob}")
        self.missing_prob = missing_prob

    def forward(self, available: Tensor) -> Tensor:
        if not self.training or self.missing_prob == 0.0:
            return available
        return modality_dropout(available, self.missing_prob)

    def extra_repr(self) -> str:
        return f"missing_prob={self.missing_prob}"
