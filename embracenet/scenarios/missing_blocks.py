"""Missing block-wise data (section 6.4.2): remove ranges of steps of single modalities from the raw streams.

The simulator is a pure function of the stream lengths, the number of modalities, the target rate,
the block length range and a seed: it never sees a model or the data values, so every model is
scored on exactly the same blocks.

Definition of the missing rate used here: the number of removed (time step, modality) pairs
divided by the number of all pairs, ``sum_i T_i * m``; a pair covered by several blocks counts
once. Gaps already present in the recordings are not counted (they are the same for every rate);
the rate including them is reported beside it as ``total_missing_rate``.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

DEFAULT_RATES = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)


@dataclass
class BlockLoss:
    """The outcome of :func:`simulate_block_loss`.

    Attributes:
        masks: per session ``BoolTensor[T_i, m]``, True where the step of that modality is removed.
        blocks: ``LongTensor[n_blocks, 4]``, one row ``(session, modality, start, end)`` per removed
            block (end exclusive), in the order they were drawn.
        target_rate: the requested rate.
        achieved_rate: removed pairs / all pairs, overlaps counted once.
    """

    masks: list[Tensor]
    blocks: Tensor
    target_rate: float
    achieved_rate: float


def simulate_block_loss(
    lengths: Sequence[int] | Sequence[object],
    m: int,
    target_rate: float,
    min_len: int = 300,
    max_len: int = 900,
    seed: int = 0,
) -> BlockLoss:
    """Remove random blocks until the missing rate reaches ``target_rate``.

    Each block: a modality drawn uniformly; a session drawn with probability proportional to its
    length; a length drawn uniformly in ``[min_len, max_len]``; a start drawn uniformly so that the
    whole block lies inside the session. Only a session shorter than the drawn length clips the
    block, to the whole session. Blocks are added until ``removed >= target_rate * total``; since
    one block adds at most ``max_len`` pairs, the achieved rate exceeds the target by less than
    ``max_len / total`` (``total = sum_i T_i * m``).

    Args:
        lengths: the number of steps of each session (or objects with a ``data`` array, whose
            first dimension is used).
        m: number of modalities.
        target_rate: in ``[0, 1)``.
        min_len, max_len: block length range in steps (300 and 900 = 10 and 30 s at 30 Hz).
        seed: seed of the draws (independent of any model).

    Returns:
        A :class:`BlockLoss`.
    """
    sizes = [int(len(x.data)) if hasattr(x, "data") else int(x) for x in lengths]
    if m < 1:
        raise ValueError(f"the number of modalities must be >= 1, got {m}")
    if not 0.0 <= target_rate < 1.0:
        raise ValueError(f"the target missing rate must be in [0, 1), got {target_rate}")
    if not 1 <= min_len <= max_len:
        raise ValueError(f"block lengths need 1 <= min_len <= max_len, got min_len={min_len}, max_len={max_len}")
    if not sizes or min(sizes) < 0 or sum(sizes) == 0:
        raise ValueError(f"need at least one non-empty session, got lengths {sizes}")
    masks = [np.zeros((t, m), dtype=bool) for t in sizes]
    total = sum(sizes) * m
    goal = target_rate * total
    generator = torch.Generator().manual_seed(int(seed))
    weights = torch.tensor(sizes, dtype=torch.float64)
    removed, blocks = 0, []
    chunk = 1024  # draws are made in chunks: one generator call per chunk, not four per block
    while removed < goal:
        sessions = torch.multinomial(weights, chunk, replacement=True, generator=generator).tolist()
        modalities = torch.randint(m, (chunk,), generator=generator).tolist()
        block_lengths = torch.randint(min_len, max_len + 1, (chunk,), generator=generator).tolist()
        uniforms = torch.rand(chunk, generator=generator, dtype=torch.float64).tolist()
        for i, k, length, u in zip(sessions, modalities, block_lengths, uniforms):
            if removed >= goal:
                break
            length = min(length, sizes[i])
            start = min(int(u * (sizes[i] - length + 1)), sizes[i] - length)
            column = masks[i][start : start + length, k]
            removed += length - int(column.sum())
            column[:] = True
            blocks.append((i, k, start, start + length))
    return BlockLoss(
        masks=[torch.from_numpy(x) for x in masks],
        blocks=torch.tensor(blocks, dtype=torch.long).reshape(-1, 4),
        target_rate=float(target_rate),
        achieved_rate=removed / total,
    )


def remove_blocks(streams: Sequence, masks: Sequence[Tensor], channel_groups: Sequence[Sequence[int]]) -> tuple[list, list[np.ndarray]]:
    """Apply block masks to raw streams: removed steps become NaN in every channel of the modality.

    Args:
        streams: ``SessionStream``-like objects (``data [T_i, C]``, ``missing [T_i, m]``, ``labels``).
        masks: per session ``BoolTensor[T_i, m]`` from :func:`simulate_block_loss`.
        channel_groups: stream channels of each modality.

    Returns:
        ``(streams with NaN in the removed blocks, per-session missing masks [T_i, m])``; the masks
        are the original gaps OR the removed blocks.
    """
    from dataclasses import replace

    # [m, C] one-hot of channel membership: a channel is removed where its modality is.
    n_channels = streams[0].data.shape[1] if streams else 0
    member = np.zeros((len(channel_groups), n_channels), dtype=bool)
    for k, group in enumerate(channel_groups):
        member[k, list(group)] = True
    out, missing = [], []
    for stream, mask in zip(streams, masks):
        mask_np = mask.numpy()
        removed_channels = (mask_np.astype(np.uint8) @ member.astype(np.uint8)) > 0  # [T_i, C]
        data = np.where(removed_channels, np.float32(np.nan), stream.data)
        out.append(replace(stream, data=data))
        missing.append(np.asarray(stream.missing, dtype=bool) | mask_np)
    return out, missing


def rate_seed(seed: int, rate: float) -> int:
    """A separate, reproducible seed for each target rate (so adding a rate changes no other)."""
    return int(seed) * 1000 + int(round(rate * 100))


def evaluate_missing_blocks(
    model,
    dataset,
    split: str = "test",
    rates: Sequence[float] = DEFAULT_RATES,
    min_len: int = 300,
    max_len: int = 900,
    block_seed: int = 0,
    seed: int = 0,
    batch_size: int = 1024,
    device: str = "cpu",
    progress: bool = False,
    out_dir: str | Path | None = None,
    variant: str | None = None,
    **context,
) -> list[dict]:
    """Score ``model`` on the raw ``split`` streams with blocks removed, at each target rate and at 0.

    For each rate the blocks come from :func:`simulate_block_loss` with a seed derived from
    ``block_seed`` and the rate only, so all models see the same blocks. The altered streams are
    filled with the previous value of each channel and windowed as the evaluation split. Models
    with ``needs_filled_inputs`` (early, intermediate, compact pooling) see every modality as
    available and use the filled values; the others (late, autoencoder, EmbraceNet) get the
    availability of each window: a modality is unavailable in a window when any of its steps there
    is removed or originally missing (``dataset.window_available="all"``). Rate 0 is the original
    data under the same rules.

    ``dataset`` must provide ``raw_streams(split)``, ``windows(streams, missing, use_missing_mask)``
    and ``channel_groups`` (see :class:`~embracenet.data.opportunity.OpportunityDataset`).

    Args:
        rates: target missing rates in (0, 1); 0 is always added as the original data.
        min_len, max_len: block length range in steps.
        block_seed: seed of the blocks (not the model's seed).
        seed: seeds stochastic fusion (EmbraceNet's draws) during scoring.
        out_dir: when given, ``missing_blocks.csv`` there lists target and achieved rates and the
            number of blocks (one row per rate; rewritten by every variant with the same values).

    Returns:
        One dict per rate: ``level`` (target rate), ``subset`` (``"rate=0.8"``),
        ``weighted_f1``, ``error_rate``, ``n``, ``achieved_rate``, ``total_missing_rate``.
    """
    from ..evaluation import evaluate_subsets

    for name in ("raw_streams", "windows", "channel_groups"):
        if not hasattr(dataset, name):
            raise TypeError(
                f"the missing_blocks scenario needs a stream dataset (with {name}); {type(dataset).__name__} has none. "
                "It is defined for OPPORTUNITY (dataset=opportunity_locomotion or opportunity_gestures)."
            )
    streams = dataset.raw_streams(split)
    m = dataset.n_modalities
    everything = torch.ones(1, m, dtype=torch.bool)
    use_mask = not getattr(model, "needs_filled_inputs", False)
    original_pairs = sum(int(np.asarray(s.missing).sum()) for s in streams)
    total_pairs = sum(len(s.data) for s in streams) * m
    rows, summary = [], []
    for rate in [0.0, *sorted(float(r) for r in rates if float(r) > 0)]:
        loss = simulate_block_loss([len(s.data) for s in streams], m, rate, min_len, max_len, rate_seed(block_seed, rate))
        altered, missing = remove_blocks(streams, loss.masks, dataset.channel_groups)
        split_windows = dataset.windows(altered, missing, use_missing_mask=use_mask)
        scores = evaluate_subsets(model, split_windows, everything, batch_size=batch_size, seed=seed, device=device, progress=progress)
        total_rate = sum(int(x.sum()) for x in missing) / total_pairs
        rows.append({
            "level": rate,
            "subset": f"rate={rate:g}",
            "weighted_f1": float(scores.weighted_f1[0]),
            "error_rate": float(scores.error_rate[0]),
            "n": int(scores.n[0]),
            "achieved_rate": loss.achieved_rate,
            "total_missing_rate": total_rate,
        })  # fmt: skip
        summary.append((rate, loss.achieved_rate, total_rate, original_pairs / total_pairs, len(loss.blocks)))
    if out_dir is not None:
        path = Path(out_dir) / "missing_blocks.csv"
        with open(path, "w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["target_rate", "achieved_rate", "total_missing_rate", "original_missing_rate", "n_blocks"])
            writer.writerows(summary)
    return rows
