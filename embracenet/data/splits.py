"""Multimodal splits: what the training loop and the evaluator read batches from.

A batch is ``(xs, available, y)``: ``xs`` a list with one tensor per modality ``[B, *shape_k]``,
``available`` a ``BoolTensor[B, m]`` and ``y`` a ``LongTensor[B]``. Two kinds of split exist:

* :class:`TensorSplit` holds every sample in memory (images, small data).
* :class:`WindowedSplit` holds long streams and cuts sliding windows on demand, so a window
  step of one sample never multiplies the memory by the window length (gas, OPPORTUNITY).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

import torch
from torch import Tensor


@dataclass
class Batch:
    xs: list[Tensor]
    available: Tensor
    y: Tensor

    def to(self, device: torch.device | str) -> "Batch":
        return Batch([x.to(device) for x in self.xs], self.available.to(device), self.y.to(device))


class MultimodalSplit:
    """Base class: a split knows its size, labels and modality shapes and returns batches by index."""

    modality_names: list[str]

    def __len__(self) -> int:
        raise NotImplementedError

    @property
    def labels(self) -> Tensor:
        """``LongTensor[N]``: the label of every sample, in order."""
        raise NotImplementedError

    @property
    def modality_shapes(self) -> list[tuple[int, ...]]:
        raise NotImplementedError

    @property
    def n_modalities(self) -> int:
        return len(self.modality_shapes)

    def batch(self, index: Tensor) -> Batch:
        """The samples at ``index`` (``LongTensor[B]``)."""
        raise NotImplementedError

    def batches(
        self, batch_size: int, shuffle: bool = False, generator: torch.Generator | None = None
    ) -> Iterator[Batch]:
        """Iterate over the split in batches; the order is drawn from ``generator`` when shuffling."""
        n = len(self)
        order = torch.randperm(n, generator=generator) if shuffle else torch.arange(n)
        for start in range(0, n, batch_size):
            yield self.batch(order[start : start + batch_size])

    def modality_means(self, batch_size: int = 4096) -> list[Tensor]:
        """Mean of each modality over the available samples: ``[shape_k]`` per modality."""
        sums: list[Tensor | None] = [None] * self.n_modalities
        counts = torch.zeros(self.n_modalities, dtype=torch.float64)
        for b in self.batches(batch_size):
            for k, x in enumerate(b.xs):
                mask = b.available[:, k]
                part = x[mask].double().sum(0)
                sums[k] = part if sums[k] is None else sums[k] + part
            counts += b.available.sum(0).double()
        return [
            (s / counts[k].clamp_min(1)).float() if s is not None else torch.zeros(shape)
            for k, (s, shape) in enumerate(zip(sums, self.modality_shapes))
        ]


@dataclass
class TensorSplit(MultimodalSplit):
    """Every sample in memory: ``xs[k]`` is ``[N, *shape_k]``, ``y`` is ``[N]``, ``available`` ``[N, m]``."""

    xs: list[Tensor]
    y: Tensor
    available: Tensor | None = None
    modality_names: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        n = len(self.y)
        for k, x in enumerate(self.xs):
            if len(x) != n:
                raise ValueError(f"modality {k} has {len(x)} samples but y has {n}; they must match.")
        if self.available is None:
            self.available = torch.ones(n, len(self.xs), dtype=torch.bool)
        if tuple(self.available.shape) != (n, len(self.xs)):
            raise ValueError(f"available has shape {tuple(self.available.shape)}, expected {(n, len(self.xs))}.")
        if not self.modality_names:
            self.modality_names = [f"modality_{k}" for k in range(len(self.xs))]

    def __len__(self) -> int:
        return len(self.y)

    @property
    def labels(self) -> Tensor:
        return self.y

    @property
    def modality_shapes(self) -> list[tuple[int, ...]]:
        return [tuple(x.shape[1:]) for x in self.xs]

    def batch(self, index: Tensor) -> Batch:
        return Batch([x[index] for x in self.xs], self.available[index], self.y[index])


@dataclass
class WindowedSplit(MultimodalSplit):
    """Sliding windows cut on demand from concatenated streams.

    Args:
        stream: ``[T, C]`` all recordings of the split, concatenated in time.
        available: ``[T, m]`` whether each modality is present at each time step.
        labels_stream: ``[T]`` the label of each time step.
        starts: ``[N]`` first time step of each window; a window never crosses a recording
            boundary (the caller computes starts per recording).
        length: window length L in time steps.
        channels: for each modality, the stream columns that belong to it.
        label_at: which time step of a window gives its label: ``"last"`` (as DeepConvLSTM) or
            an integer offset.
        window_available: ``"all"`` marks a modality available in a window only when every step of
            it is; ``"any"`` when at least one is.
        layout: ``"time_channels"`` gives each modality as ``[B, L, C_k]``; ``"channels_time"``
            as ``[B, C_k, L]``.
    """

    stream: Tensor
    available_stream: Tensor
    labels_stream: Tensor
    starts: Tensor
    length: int
    channels: Sequence[Sequence[int]]
    label_at: str | int = "last"
    window_available: str = "all"
    layout: str = "time_channels"
    modality_names: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.stream.ndim != 2:
            raise ValueError(f"stream must be [T, C], got shape {tuple(self.stream.shape)}")
        t = self.stream.shape[0]
        if len(self.starts) and (int(self.starts.min()) < 0 or int(self.starts.max()) + self.length > t):
            raise ValueError("a window start lies outside the stream")
        if self.window_available not in ("all", "any"):
            raise ValueError(f"window_available must be 'all' or 'any', got {self.window_available!r}")
        if self.layout not in ("time_channels", "channels_time"):
            raise ValueError(f"layout must be 'time_channels' or 'channels_time', got {self.layout!r}")
        self._channel_index = [torch.as_tensor(list(c), dtype=torch.long) for c in self.channels]
        self._offsets = torch.arange(self.length)
        label_offset = self.length - 1 if self.label_at == "last" else int(self.label_at)
        self._labels = self.labels_stream[self.starts + label_offset].long()
        if not self.modality_names:
            self.modality_names = [f"modality_{k}" for k in range(len(self.channels))]

    def __len__(self) -> int:
        return len(self.starts)

    @property
    def labels(self) -> Tensor:
        return self._labels

    @property
    def modality_shapes(self) -> list[tuple[int, ...]]:
        if self.layout == "time_channels":
            return [(self.length, len(c)) for c in self._channel_index]
        return [(len(c), self.length) for c in self._channel_index]

    def batch(self, index: Tensor) -> Batch:
        steps = self.starts[index, None] + self._offsets  # [B, L]
        window = self.stream[steps]  # [B, L, C]
        avail_steps = self.available_stream[steps]  # [B, L, m]
        available = avail_steps.all(1) if self.window_available == "all" else avail_steps.any(1)
        xs = [window[..., c] for c in self._channel_index]
        if self.layout == "channels_time":
            xs = [x.transpose(1, 2).contiguous() for x in xs]
        return Batch(xs, available, self._labels[index])


def window_starts(lengths: Sequence[int], window: int, step: float) -> Tensor:
    """Window starts over recordings of the given lengths, concatenated in that order.

    ``step`` may be fractional (7.5 samples for 250 ms at 30 Hz): starts are ``floor(j * step)``,
    so the windows keep the exact average rate. No window crosses a recording boundary.
    """
    if window <= 0 or step <= 0:
        raise ValueError(f"window and step must be positive, got window={window}, step={step}")
    starts, offset = [], 0
    for n in lengths:
        count = int((n - window) // step) + 1 if n >= window else 0
        local = torch.floor(torch.arange(count, dtype=torch.float64) * step).long()
        starts.append(local + offset)
        offset += n
    return torch.cat(starts) if starts else torch.zeros(0, dtype=torch.long)
