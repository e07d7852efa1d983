"""Bimodal MNIST and Fashion-MNIST (section 5): left and right 28x14 halves of each image."""

from __future__ import annotations

from pathlib import Path

import torch

from .dataset import MultimodalDataset
from .images import image_halves_split, stratified_indices

CLASS_NAMES = {
    "mnist": [str(d) for d in range(10)],
    "fashion": ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"],
}


def bimodal_mnist(root: str | Path, variant: str = "mnist", val_size: int = 5000, seed: int = 0, limit: int | None = None) -> MultimodalDataset:
    """Load the official IDX files from ``root`` (prepared by ``python -m data_prep.mnist``).

    Args:
        root: folder holding the four ``*-idx*-ubyte.gz`` files.
        variant: ``"mnist"`` or ``"fashion"``.
        val_size: images held out of the 60000 training images (stratified, seeded) to watch
            validation behaviour (never the test images).
        seed: seed of the held-out selection.
        limit: keep only the first ``limit`` images of each file (quick checks).
    """
    from data_prep.mnist import read_idx  # the parser lives with the checksums it is verified by

    if variant not in CLASS_NAMES:
        raise ValueError(f"dataset variant must be 'mnist' or 'fashion', got {variant!r}")
    root = Path(root)
    missing = [f for f in ("train-images-idx3-ubyte.gz", "t10k-images-idx3-ubyte.gz") if not (root / f).exists()]
    if missing:
        raise FileNotFoundError(
            f"{root}: {missing[0]} not found. Run `python -m data_prep.mnist --dataset {variant} --out {root}` "
            "(add --source DIR to copy local files) or set dataset.loader.root."
        )
    arrays = {}
    for split in ("train", "t10k"):
        images = torch.from_numpy(read_idx(root / f"{split}-images-idx3-ubyte.gz").copy()).float() / 255.0
        labels = torch.from_numpy(read_idx(root / f"{split}-labels-idx1-ubyte.gz").copy()).long()
        if limit is not None:
            images, labels = images[:limit], labels[:limit]
        arrays[split] = (images, labels)
    images, labels = arrays["train"]
    if not 0 < val_size < len(labels):
        raise ValueError(f"dataset.loader.val_size must be in (0, {len(labels)}), got {val_size}")
    train_idx, val_idx = stratified_indices(labels, (1 - val_size / len(labels), val_size / len(labels)), seed)
    return MultimodalDataset(
        name=variant,
        train=image_halves_split(images[train_idx], labels[train_idx]),
        val=image_halves_split(images[val_idx], labels[val_idx]),
        test=image_halves_split(*arrays["t10k"]),
        modality_names=["left", "right"],
        class_names=CLASS_NAMES[variant],
    )
