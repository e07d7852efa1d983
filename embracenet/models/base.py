"""The interface every fusion model meets: ``forward(xs, available) -> logits``.

A model is split in two so that missing-modality evaluation can cache the expensive part:
``encode(xs)`` runs what depends on one modality at a time (done once per batch), and
``fuse(encoded, available)`` runs the fusion and the head (done once per subset of modalities).
Each model owns its missing-data policy inside ``fuse``.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..backbones.base import Backbone, Shape


class FusionModel(nn.Module):
    """Base class of the six fusion architectures.

    Args:
        backbone: the dataset's building blocks.
        modality_shapes: the shape of one sample of each modality (``m = len(modality_shapes)``).
        n_classes: number of classes.
    """

    #: Whether the model needs every input value present (early, intermediate, compact pooling):
    #: scenarios that lose parts of streams give such models gap-filled data instead of
    #: availability masks (section 6.4.2).
    needs_filled_inputs: bool = False

    def __init__(self, backbone: Backbone, modality_shapes: Sequence[Sequence[int]], n_classes: int) -> None:
        super().__init__()
        if len(modality_shapes) < 1:
            raise ValueError("a fusion model needs at least one modality (modality_shapes is empty)")
        if n_classes < 2:
            raise ValueError(f"n_classes must be >= 2, got {n_classes}")
        self.backbone = backbone
        self.modality_shapes: list[Shape] = [tuple(int(d) for d in s) for s in modality_shapes]
        self.n_modalities = len(self.modality_shapes)
        self.n_classes = n_classes

    # -- input checks --------------------------------------------------------------------------
    def check_inputs(self, xs: Sequence[Tensor], available: Tensor | None) -> Tensor:
        """Validate shapes and return ``available`` as ``BoolTensor[B, m]``."""
        if len(xs) != self.n_modalities:
            raise ValueError(f"{type(self).__name__} was built for {self.n_modalities} modalities, got {len(xs)} tensors in xs")
        batch = xs[0].shape[0]
        for k, (x, shape) in enumerate(zip(xs, self.modality_shapes)):
            if tuple(x.shape[1:]) != shape or x.shape[0] != batch:
                raise ValueError(f"xs[{k}] has shape {tuple(x.shape)}, expected [{batch}, {', '.join(map(str, shape))}]")
        if available is None:
            return torch.ones(batch, self.n_modalities, dtype=torch.bool, device=xs[0].device)
        if tuple(available.shape) != (batch, self.n_modalities):
            raise ValueError(f"available has shape {tuple(available.shape)}, expected [{batch}, {self.n_modalities}]")
        return available.bool()

    # -- the two halves ------------------------------------------------------------------------
    def encode(self, xs: Sequence[Tensor]) -> list[Tensor]:
        """Per-modality part, independent of availability. Default: the raw inputs."""
        return list(xs)

    def fuse(self, encoded: Sequence[Tensor], available: Tensor, generator: torch.Generator | None = None) -> Tensor:
        """Fusion + head: ``encoded`` from :meth:`encode`, ``available [B, m]`` -> logits ``[B, n_classes]``."""
        raise NotImplementedError

    def forward(self, xs: Sequence[Tensor], available: Tensor | None = None, generator: torch.Generator | None = None) -> Tensor:
        """``m`` tensors ``[B, *shape_k]`` and ``available [B, m]`` -> logits ``[B, n_classes]``."""
        available = self.check_inputs(xs, available)
        return self.fuse(self.encode(xs), available, generator)

    # -- training ------------------------------------------------------------------------------
    def loss(self, xs: Sequence[Tensor], available: Tensor, y: Tensor) -> Tensor:
        """Training loss of one batch; models with their own objective override it."""
        return F.cross_entropy(self(xs, available), y)

    def fit_statistics(self, modality_means: Sequence[Tensor]) -> None:
        """Receive the training mean of every modality (``[shape_k]`` each) before training."""


class InputFill(nn.Module):
    """Stores one fill value per modality, used where a modality is missing.

    ``mode="mean"`` fills with the training mean (section 6.4.1), ``"zero"`` with zeros (Table 1's
    intermediate integration), ``"constant"`` with ``value`` (the autoencoder's -1).
    """

    def __init__(self, shapes: Sequence[Shape], mode: str = "mean", value: float = 0.0) -> None:
        super().__init__()
        if mode not in ("mean", "zero", "constant"):
            raise ValueError(f"fill must be 'mean', 'zero' or 'constant', got {mode!r}")
        self.mode = mode
        start = value if mode == "constant" else 0.0
        for k, shape in enumerate(shapes):
            self.register_buffer(f"fill_{k}", torch.full(tuple(shape), float(start)))
        self.m = len(shapes)

    def set_means(self, means: Sequence[Tensor]) -> None:
        if self.mode != "mean":
            return
        for k, mean in enumerate(means):
            buf = getattr(self, f"fill_{k}")
            if tuple(mean.shape) != tuple(buf.shape):
                raise ValueError(f"mean of modality {k} has shape {tuple(mean.shape)}, expected {tuple(buf.shape)}")
            if not torch.isfinite(mean).all():
                raise ValueError(f"the training mean of modality {k} contains NaN or infinity; check the training data")
            buf.copy_(mean)

    def value(self, k: int) -> Tensor:
        return getattr(self, f"fill_{k}")

    def apply(self, xs: Sequence[Tensor], available: Tensor) -> list[Tensor]:
        """Replace missing modalities: ``xs[k][b]`` becomes the fill where ``available[b, k]`` is False."""
        out = []
        for k, x in enumerate(xs):
            mask = available[:, k].reshape(-1, *([1] * (x.ndim - 1)))
            out.append(torch.where(mask, x, self.value(k).to(x.dtype)))
        return out


def replace_missing(features: Sequence[Tensor], fills: Sequence[Tensor], available: Tensor) -> list[Tensor]:
    """Per-modality features ``[B, ...]``: rows where ``available[:, k]`` is False take ``fills[k]`` (``[1, ...]``)."""
    out = []
    for k, f in enumerate(features):
        mask = available[:, k].reshape(-1, *([1] * (f.ndim - 1)))
        out.append(torch.where(mask, f, fills[k]))
    return out
