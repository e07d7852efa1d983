"""Images cut into vertical parts, one modality per part (the paper's bimodal MNIST, section 5)."""

from __future__ import annotations

import torch
from torch import Tensor

from .splits import TensorSplit


def split_columns(images: Tensor, parts: int = 2) -> list[Tensor]:
    """``[N, H, W]`` images -> ``parts`` tensors ``[N, 1, H, W / parts]`` (left to right)."""
    if images.ndim != 3:
        raise ValueError(f"images must be [N, H, W], got shape {tuple(images.shape)}")
    if images.shape[2] % parts:
        raise ValueError(f"image width {images.shape[2]} is not divisible into {parts} parts")
    return [p.unsqueeze(1).contiguous() for p in images.chunk(parts, dim=2)]


def image_halves_split(images: Tensor, labels: Tensor, names: list[str] | None = None) -> TensorSplit:
    """A bimodal split of left and right halves; images ``[N, H, W]`` in [0, 1], labels ``[N]``."""
    if not torch.isfinite(images).all():
        raise ValueError("images contain NaN or infinity")
    return TensorSplit(split_columns(images.float(), 2), labels.long(), modality_names=names or ["left", "right"])


def stratified_indices(labels: Tensor, fractions: tuple[float, ...], seed: int) -> list[Tensor]:
    """Split indices class by class into parts of the given fractions (the last takes the rest)."""
    g = torch.Generator().manual_seed(seed)
    parts: list[list[Tensor]] = [[] for _ in fractions]
    for cls in labels.unique():
        idx = torch.nonzero(labels == cls, as_tuple=True)[0]
        idx = idx[torch.randperm(len(idx), generator=g)]
        start = 0
        for i, frac in enumerate(fractions):
            end = len(idx) if i == len(fractions) - 1 else start + round(frac * len(idx))
            parts[i].append(idx[start:end])
            start = end
    return [torch.cat(p).sort().values for p in parts]
