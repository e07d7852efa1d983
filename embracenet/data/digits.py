"""scikit-learn's bundled 8x8 handwritten digits as a bimodal dataset (left / right 8x4 halves).

It needs no download, so the demo and the tests run anywhere.
"""

from __future__ import annotations

import torch
from sklearn.datasets import load_digits

from .dataset import MultimodalDataset
from .images import image_halves_split, stratified_indices


def bimodal_digits(val_fraction: float = 0.2, test_fraction: float = 0.2, seed: int = 0, limit: int | None = None) -> MultimodalDataset:
    """1797 images, pixels scaled to [0, 1], stratified train / validation / test split.

    Args:
        val_fraction, test_fraction: shares of each class for validation and test.
        seed: seed of the split.
        limit: keep only the first ``limit`` images (for quick tests).
    """
    if not (0 < val_fraction < 1 and 0 < test_fraction < 1 and val_fraction + test_fraction < 1):
        raise ValueError(f"dataset.val_fraction and dataset.test_fraction must be in (0, 1) with a sum < 1, got {val_fraction}, {test_fraction}")
    bunch = load_digits()
    images = torch.tensor(bunch.images, dtype=torch.float32) / 16.0
    labels = torch.tensor(bunch.target, dtype=torch.long)
    if limit is not None:
        images, labels = images[:limit], labels[:limit]
    train_idx, val_idx, test_idx = stratified_indices(labels, (1 - val_fraction - test_fraction, val_fraction, test_fraction), seed)
    make = lambda idx: image_halves_split(images[idx], labels[idx])  # noqa: E731
    return MultimodalDataset(
        name="digits",
        train=make(train_idx),
        val=make(val_idx),
        test=make(test_idx),
        modality_names=["left", "right"],
        class_names=[str(d) for d in range(10)],
    )
