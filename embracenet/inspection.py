"""Looking inside a trained EmbraceNet: mean embracement-layer activations (section 7.1, Figure 7).

:func:`embracement_activations` averages the embraced vector (the output of the embracement layer,
``[c]`` per sample) over the test samples of each class, separately for each number of available
modalities. :func:`missing_modalities_with_activations` is the ``missing_modalities`` scenario plus
that recording, saved beside the run's ``metrics.csv`` as ``activations_<variant>.npz``.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from .data.splits import MultimodalSplit
from .scenarios.missing_modalities import evaluate_missing_modalities, subset_masks

log = logging.getLogger(__name__)

ACTIVATIONS_FILE = "activations_{variant}.npz"


@torch.no_grad()
def embracement_activations(
    model,
    split: MultimodalSplit,
    max_per_size: int | None = None,
    subset_seed: int = 0,
    seed: int = 0,
    batch_size: int = 1024,
    rows: Tensor | None = None,
    device: str | torch.device = "cpu",
) -> tuple[Tensor, Tensor, Tensor]:
    """Mean embraced vector per class and per number of available modalities.

    For every number of modalities ``i`` the embraced vectors of every sample are averaged over all
    subsets of size ``i`` (or ``max_per_size`` of them, drawn with ``subset_seed``, as
    :func:`~embracenet.scenarios.subset_masks` does), then over the samples of each class. Whether
    a sample is classified correctly does not matter (as in the paper). The model is in eval mode:
    no modality dropout, its configured inference (the paper's sampling by default), its current
    ``p`` (after "Adj. post" when it was set), draws seeded by ``seed``.

    Args:
        model: an :class:`~embracenet.models.EmbraceNetModel` (anything with ``encode`` returning
            the docked ``[B, m, c]`` and an ``embracenet`` with ``embrace``).
        split: the samples (the test split in Figure 7).
        rows: optional ``BoolTensor[N]`` selecting samples (e.g. those without original gaps).

    Returns:
        ``mean [n_classes, m, c]`` (float32; index ``i - 1`` holds ``i`` modalities; NaN for a
        class without samples), ``counts [n_classes]`` (samples per class) and
        ``subsets [m]`` (subsets averaged per size).
    """
    if not hasattr(model, "embracenet"):
        raise TypeError(f"{type(model).__name__} has no embracement layer; only EmbraceNet models have activations to record")
    m, n_classes, c = model.n_modalities, model.n_classes, model.embracenet.c
    masks = subset_masks(m, max_per_size, subset_seed).to(device)
    sizes = masks.sum(1) - 1  # [S], level index of each subset
    subsets = torch.bincount(sizes.cpu(), minlength=m)
    was_training = model.training
    model.eval()
    generator = torch.Generator(device=device).manual_seed(seed)
    sums = torch.zeros(n_classes, m, c, dtype=torch.float64)
    counts = torch.zeros(n_classes, dtype=torch.long)
    index = torch.arange(len(split)) if rows is None else torch.nonzero(rows, as_tuple=True)[0]
    for chunk in index.split(batch_size):
        batch = split.batch(chunk).to(device)
        docked = model.encode(batch.xs)[0]  # [B, m, c]
        onehot = torch.nn.functional.one_hot(batch.y, n_classes).to(torch.float64)  # [B, n_classes]
        per_level = torch.zeros(len(chunk), m, c, dtype=torch.float64, device=device)
        for mask, level in zip(masks, sizes.tolist()):
            per_level[:, level] += model.embracenet.embrace(docked, batch.available & mask, generator=generator).double()
        sums += torch.einsum("bn,bmc->nmc", onehot, per_level).cpu()
        counts += onehot.sum(0).long().cpu()
    model.train(was_training)
    mean = sums / subsets.clamp_min(1).view(1, m, 1) / counts.view(n_classes, 1, 1)  # 0/0 -> NaN: no samples
    return mean.float(), counts, subsets


def save_activations(path: str | Path, mean: Tensor, counts: Tensor, subsets: Tensor, class_names: list[str], modality_names: list[str]) -> Path:
    """Write the result of :func:`embracement_activations` as a plain ``.npz`` (no pickled objects).

    Keys: ``mean [n_classes, m, c]``, ``counts [n_classes]``, ``subsets [m]``, ``levels [m]``
    (1..m), ``class_names``, ``modality_names`` (unicode arrays). Read it with
    ``np.load(path, allow_pickle=False)``.
    """
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp.npz")
    np.savez(
        tmp,
        mean=mean.numpy(),
        counts=counts.numpy(),
        subsets=subsets.numpy(),
        levels=np.arange(1, mean.shape[1] + 1),
        class_names=np.array(class_names, dtype=str),
        modality_names=np.array(modality_names, dtype=str),
    )
    tmp.replace(path)  # never leave half a file where a figure script looks
    return path


def missing_modalities_with_activations(
    model,
    dataset,
    split: str = "test",
    max_per_size: int | None = None,
    subset_seed: int = 0,
    activation_max_per_size: int | None = None,
    seed: int = 0,
    batch_size: int = 1024,
    device: str = "cpu",
    progress: bool = False,
    out_dir: str | Path | None = None,
    variant: str = "baseline",
    **context,
) -> list[dict]:
    """The missing-modalities scenario, plus Figure 7's activations for EmbraceNet models.

    Scores exactly as :func:`~embracenet.scenarios.evaluate_missing_modalities`. When the model has
    an embracement layer and ``out_dir`` is given, also writes ``out_dir/activations_<variant>.npz``
    (see :func:`save_activations`); other models are only scored.

    Args:
        activation_max_per_size: subsets of each size averaged for the activations (``None``: all,
            255 for m = 8).
    """
    scores = evaluate_missing_modalities(
        model, dataset, split=split, max_per_size=max_per_size, subset_seed=subset_seed, seed=seed,
        batch_size=batch_size, device=device, progress=progress, **context,
    )  # fmt: skip
    if out_dir is None or not hasattr(model, "embracenet"):
        return scores
    rows = dataset.complete_rows.get(split) if getattr(dataset, "complete_rows", None) else None
    mean, counts, subsets = embracement_activations(
        model, dataset.split(split), activation_max_per_size, subset_seed, seed, batch_size, rows, device
    )
    path = save_activations(
        Path(out_dir) / ACTIVATIONS_FILE.format(variant=variant), mean, counts, subsets, dataset.class_names, dataset.modality_names
    )
    log.info("wrote %s (mean embracement activations, %s classes x %s levels x %s)", path, *mean.shape)
    return scores
