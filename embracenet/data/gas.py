"""Gas sensor arrays (section 6.1.1): eight sensor types as modalities, windows of 240 s x 9 boards.

The data come from the HDF5 cache written by ``python -m data_prep.gas`` (which documents how the
archive is read, downsampled to 1 Hz, split by location and normalised to [0, 1]).
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import h5py

from .dataset import MultimodalDataset

log = logging.getLogger(__name__)


def _cache_file(cache: str | Path) -> Path:
    """``cache`` may name the ``gas.h5`` file or the folder that holds it."""
    from data_prep.gas import CACHE_NAME

    path = Path(cache)
    return path if path.suffix in (".h5", ".hdf5") else path / CACHE_NAME


def gas_sensor_arrays(
    cache: str | Path,
    source: str | Path | None = None,
    window: int = 240,
    step: int = 1,
    eval_step: int | None = None,
    clip: bool = True,
) -> MultimodalDataset:
    """Load the gas splits (L1, L3, L5 train; L2 validation; L4 test) from the cache.

    Each sample is 8 tensors ``[window, 9]`` (one per sensor slot, time x board) in [0, 1], with
    one of 10 gas labels. Training windows slide by ``step`` seconds; validation and test take one
    window per trial (its last ``window`` seconds) unless ``eval_step`` is given.

    Args:
        cache: ``gas.h5`` or its folder (``data/gas`` by default in the configs).
        source: the archive (a folder holding ``WTD_upload/`` or the official zip). When given, the
            cache is built, resumed or rebuilt as needed by :func:`data_prep.gas.build_gas_cache`,
            which reuses it only when its fingerprint matches the source checksums. When ``None``,
            the cache must already exist. Checksumming the real 8.4 GB archive takes minutes, so
            runs on it leave ``source`` empty and prepare the cache once beforehand; parallel runs
            must never build the same cache at the same time.
        window: window length in seconds (240 in the paper).
        step: training stride in seconds (1 in the paper; larger for quick checks).
        eval_step: validation / test stride; ``None`` for one window per trial.
        clip: clip validation / test values into [0, 1] after training-range normalisation.

    Returns:
        The three splits as :class:`~embracenet.data.splits.WindowedSplit` objects, modalities
        ``slot1`` .. ``slot8``, value range (0, 1).
    """
    from data_prep.gas import GasParams, build_gas_cache, load_gas_splits

    path = _cache_file(cache)
    if source is not None:
        # build_gas_cache reuses a cache whose fingerprint matches and rebuilds a stale one.
        path = build_gas_cache(source, path.parent, GasParams(window=window))
    elif not path.is_file():
        raise FileNotFoundError(
            f"{path}: gas cache not found. Build it with `python -m data_prep.gas --source DIR --out {path.parent}` "
            "(DIR: the folder holding WTD_upload/ or the UCI 251 zip), or set dataset.loader.source=DIR "
            "to build it on first use."
        )
    if step < 1 or (eval_step is not None and eval_step < 1):
        raise ValueError(f"dataset.loader.step and eval_step must be >= 1, got step={step}, eval_step={eval_step}")
    splits = load_gas_splits(path, window=window, step=step, eval_step=eval_step, clip=clip)
    with h5py.File(path, "r") as f:
        classes = json.loads(f.attrs["classes"])
        modality_names = json.loads(f.attrs["modality_names"])
    for name, split in splits.items():
        if len(split) == 0:
            raise ValueError(
                f"{path}: the {name} split has no window of {window} s; check the cache "
                f"(gas_prep.log beside it lists the skipped files) or lower dataset.loader.window"
            )
    log.info("gas windows: %s", {name: len(s) for name, s in splits.items()})
    return MultimodalDataset(
        name="gas",
        train=splits["train"],
        val=splits["val"],
        test=splits["test"],
        modality_names=list(modality_names),
        class_names=list(classes),
        value_range=(0.0, 1.0),
    )
