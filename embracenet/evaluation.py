"""Evaluation over subsets of modalities, with each modality's encoding computed once per batch."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor
from .progress import progress_bar

from .data.splits import MultimodalSplit
from .metrics import confusion_matrices, scores_from_confusion
from .models.base import FusionModel


@dataclass
class SubsetScores:
    """Scores of one model on one split, one entry per subset: ``masks [S, m]``, the rest ``[S]``."""

    masks: Tensor
    weighted_f1: Tensor
    error_rate: Tensor
    n: Tensor


@torch.no_grad()
def evaluate_subsets(
    model: FusionModel,
    split: MultimodalSplit,
    masks: Tensor,
    batch_size: int = 1024,
    seed: int = 0,
    rows: Tensor | None = None,
    device: str | torch.device = "cpu",
    progress: bool = False,
) -> SubsetScores:
    """Score ``model`` on ``split`` with only the modalities of each subset available.

    The per-modality part (``model.encode``) runs once per batch; only ``model.fuse`` runs per
    subset. A subset's availability is ANDed with the data's own availability.

    Args:
        masks: ``BoolTensor[S, m]``, the subsets.
        seed: seeds the generator of stochastic fusion (EmbraceNet's draws), so scores repeat.
        rows: optional ``BoolTensor[N]`` selecting the samples to score (e.g. windows without
            originally missing data).
    """
    if masks.ndim != 2 or masks.shape[1] != model.n_modalities:
        raise ValueError(f"masks must be [S, {model.n_modalities}], got {tuple(masks.shape)}")
    was_training = model.training
    model.eval()
    generator = torch.Generator(device=device).manual_seed(seed)
    masks = masks.to(device)
    index = torch.arange(len(split)) if rows is None else torch.nonzero(rows, as_tuple=True)[0]
    confusion = torch.zeros(len(masks), model.n_classes, model.n_classes, dtype=torch.long)
    chunks = list(index.split(batch_size))
    for chunk in progress_bar(chunks, progress, desc="evaluate", leave=False):
        batch = split.batch(chunk).to(device)
        encoded = model.encode(batch.xs)
        preds = torch.stack([model.fuse(encoded, batch.available & mask, generator).argmax(-1) for mask in masks])
        confusion += confusion_matrices(batch.y.cpu(), preds.cpu(), model.n_classes)
    model.train(was_training)
    f1, err = scores_from_confusion(confusion)
    return SubsetScores(masks.cpu(), f1, err, confusion.sum((1, 2)))


def evaluate(model: FusionModel, split: MultimodalSplit, **kwargs) -> dict[str, float]:
    """Weighted F1 and error rate with every modality as the data gives it."""
    full = torch.ones(1, model.n_modalities, dtype=torch.bool)
    scores = evaluate_subsets(model, split, full, **kwargs)
    return {"weighted_f1": float(scores.weighted_f1[0]), "error_rate": float(scores.error_rate[0]), "n": int(scores.n[0])}
