"""After training: per-modality scores and what they set ("Adj. post", section 5.2; late weights)."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor

from .data.splits import MultimodalSplit
from .evaluation import evaluate_subsets
from .models.base import FusionModel


def modality_scores(model: FusionModel, split: MultimodalSplit, metric: str = "accuracy", **kwargs) -> Tensor:
    """Score of the model with one modality at a time: ``[m]``.

    Args:
        metric: ``"accuracy"`` (1 - error rate; section 5.2 on training images) or
            ``"weighted_f1"`` (section 6.3.6 on validation data).
    """
    if metric not in ("accuracy", "weighted_f1"):
        raise ValueError(f"metric must be 'accuracy' or 'weighted_f1', got {metric!r}")
    single = torch.eye(model.n_modalities, dtype=torch.bool)
    scores = evaluate_subsets(model, split, single, **kwargs)
    return 1 - scores.error_rate if metric == "accuracy" else scores.weighted_f1


def probabilities_from_scores(scores: Sequence[float] | Tensor) -> Tensor:
    """Selection probabilities proportional to per-modality scores: ``p_k = s_k / sum_j s_j``.

    Raises ValueError for negative, non-finite or all-zero scores.
    """
    s = torch.as_tensor(scores, dtype=torch.float32)
    if s.ndim != 1 or len(s) == 0:
        raise ValueError(f"scores must be a non-empty vector, got shape {tuple(s.shape)}")
    if not torch.isfinite(s).all() or (s < 0).any():
        raise ValueError(f"scores must be finite and non-negative, got {s.tolist()}")
    if s.sum() <= 0:
        raise ValueError(f"scores are all zero ({s.tolist()}); no modality can be preferred")
    return s / s.sum()
