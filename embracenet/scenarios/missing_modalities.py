"""Missing modalities (section 6.4.1): which subsets of modalities are evaluated."""

from __future__ import annotations

import itertools
import math
import random

import torch
from torch import Tensor


def subset_masks(m: int, max_per_size: int | None = None, seed: int = 0) -> Tensor:
    """Every non-empty subset of ``m`` modalities, or at most ``max_per_size`` of each size.

    Subsets are ordered by size, then lexicographically. When a size has more than
    ``max_per_size`` subsets, that many distinct ones are drawn uniformly with ``seed`` (so the
    same masks serve every model). ``m = 8`` gives 255 subsets; ``m = 19`` with 1000 gives 14319.

    Returns:
        ``BoolTensor[S, m]``, one row per subset.
    """
    if m < 1:
        raise ValueError(f"the number of modalities must be >= 1, got {m}")
    if max_per_size is not None and max_per_size < 1:
        raise ValueError(f"max_per_size must be >= 1 or None, got {max_per_size}")
    rng = random.Random(seed)
    rows: list[tuple[int, ...]] = []
    for size in range(1, m + 1):
        total = math.comb(m, size)
        if max_per_size is None or total <= max_per_size:
            rows.extend(itertools.combinations(range(m), size))
            continue
        chosen: set[tuple[int, ...]] = set()
        while len(chosen) < max_per_size:
            chosen.add(tuple(sorted(rng.sample(range(m), size))))
        rows.extend(sorted(chosen))
    masks = torch.zeros(len(rows), m, dtype=torch.bool)
    for i, row in enumerate(rows):
        masks[i, list(row)] = True
    return masks


def subset_count(m: int, max_per_size: int | None = None) -> int:
    """Equation (10): ``sum_i min(max_per_size, C(m, i))``."""
    return sum(math.comb(m, i) if max_per_size is None else min(max_per_size, math.comb(m, i)) for i in range(1, m + 1))


def subset_name(mask: Tensor, names: list[str]) -> str:
    """Readable name of a subset, e.g. ``"left+right"``."""
    return "+".join(n for n, keep in zip(names, mask.tolist()) if keep)


def evaluate_missing_modalities(
    model,
    dataset,
    split: str = "test",
    max_per_size: int | None = None,
    subset_seed: int = 0,
    seed: int = 0,
    batch_size: int = 1024,
    device: str = "cpu",
    progress: bool = False,
    **context,
) -> list[dict]:
    """Score ``model`` on every subset of modalities of ``dataset``'s ``split``.

    Samples whose data already miss a modality (``dataset.complete_rows[split]``, when the
    dataset provides it) are left out, so the number of modalities is exactly controlled.

    ``context`` takes what the runner passes to every scenario (``out_dir``, ``variant``) and is
    unused here.

    Returns:
        One dict per subset: ``level`` (modalities available), ``subset``, ``weighted_f1``,
        ``error_rate``, ``n``.
    """
    from ..evaluation import evaluate_subsets

    masks = subset_masks(dataset.n_modalities, max_per_size, subset_seed)
    rows = dataset.complete_rows.get(split) if getattr(dataset, "complete_rows", None) else None
    scores = evaluate_subsets(model, dataset.split(split), masks, batch_size=batch_size, seed=seed, rows=rows, device=device, progress=progress)
    return [
        {
            "level": int(mask.sum()),
            "subset": subset_name(mask, dataset.modality_names),
            "weighted_f1": float(scores.weighted_f1[i]),
            "error_rate": float(scores.error_rate[i]),
            "n": int(scores.n[i]),
        }
        for i, mask in enumerate(scores.masks)
    ]


def evaluate_complete(model, dataset, split: str = "test", **kwargs) -> list[dict]:  # noqa: D417
    """Score with every modality as the data gives it (no scenario): one row, subset ``"all"``."""
    from ..evaluation import evaluate

    scores = evaluate(model, dataset.split(split), **{k: v for k, v in kwargs.items() if k in ("batch_size", "seed", "device", "progress")})
    return [{"level": dataset.n_modalities, "subset": "all", **scores}]
