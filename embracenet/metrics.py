"""Classification metrics: weighted F1 (section 6.2) and error rate, over a whole split.

Computed from confusion matrices so that many prediction sets (one per subset of modalities) are
scored at once; the weighted F1 equals scikit-learn's ``f1_score(average="weighted")`` (tested).
"""

from __future__ import annotations

import torch
from torch import Tensor


def confusion_matrices(y_true: Tensor, y_pred: Tensor, n_classes: int) -> Tensor:
    """Confusion matrices of many prediction sets at once.

    Args:
        y_true: ``LongTensor[N]``.
        y_pred: ``LongTensor[S, N]``, one row of predictions per set (e.g. per modality subset).

    Returns:
        ``LongTensor[S, n_classes, n_classes]``, rows true classes, columns predictions.
    """
    s = y_pred.shape[0]
    flat = (torch.arange(s).unsqueeze(1) * n_classes * n_classes + y_true.unsqueeze(0) * n_classes + y_pred).reshape(-1)
    return torch.bincount(flat, minlength=s * n_classes * n_classes).reshape(s, n_classes, n_classes)


def scores_from_confusion(confusion: Tensor) -> tuple[Tensor, Tensor]:
    """Weighted F1 and error rate from confusion matrices ``[S, C, C]``; both ``[S]``.

    Matches scikit-learn's ``f1_score(average="weighted", zero_division=0)`` exactly (tested).
    """
    conf = confusion.double()
    tp = conf.diagonal(dim1=1, dim2=2)
    support = conf.sum(2)  # true counts per class
    predicted = conf.sum(1)
    denom = support + predicted
    f1 = torch.where(denom > 0, 2 * tp / denom.clamp_min(1), torch.zeros_like(tp))
    n = support.sum(1)
    weighted = (f1 * support).sum(1) / n.clamp_min(1)
    errors = 1 - tp.sum(1) / n.clamp_min(1)
    return weighted, errors
