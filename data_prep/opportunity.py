"""OPPORTUNITY (UCI 226): verify the official .dat files and convert the challenge subset to an h5 cache.

Run ``python -m data_prep.opportunity --source DIR --out data/opportunity``. ``DIR`` holds the extracted
``OpportunityUCIDataset/`` tree, its ``dataset/`` folder, or the official zip. Without ``--source`` the
official UCI zip is downloaded into ``--out``.

What the cache holds (``opportunity.h5``), one group per session, e.g. ``/S2-ADL4``:

* ``data``          float32 ``[T, 113]`` normalised to [-1, 1], gaps filled (see below).
* ``data_unfilled`` float32 ``[T, 113]`` normalised, NaN where the recording itself has no value, so
  block-wise loss can be re-simulated on the raw streams before windowing.
* ``missing``       bool ``[T, 19]``: a sensor is missing at a step when any of its channels is NaN
  in the original file.
* ``locomotion``    int64 ``[T]`` in 0..4 and ``gestures`` int64 ``[T]`` in 0..17 (0 = Null).
* ``time_ms``       int64 ``[T]``: the file's own time column.

Root attributes (JSON strings or small arrays) record the parameters, the sha256 of every source file,
the normalisation min/max, class names and codes, sensor names and the channel groups.

Decisions (documented here because the paper leaves them open):

* **Normalisation**: per channel, ``2 (x - min) / (max - min) - 1`` with min/max over the *training*
  sessions only (NaN ignored), then clipped to [-1, 1] so validation/test values beyond the training
  range cannot leave the interval. ``--quantile q`` replaces min/max by the q and 1-q quantiles of
  the training data (robust to spikes; default 0 = plain min/max as in the paper). A channel that
  is constant (or entirely missing) in training carries no information: it is mapped to 0.
* **Missing data**: the recordings' own gaps are filled per channel within each session with the
  previous valid value (as in the OPPORTUNITY challenge baseline). A leading gap takes the first
  valid value of the session (the nearest observation, rather than an arbitrary 0); a channel with
  no value in a whole session takes its normalised training mean. Filling happens after
  normalisation, which gives the same values since both are elementwise.
* **Split** (paper section 6.1.2): train = S1 ADL1-5 + Drill, S2/S3 ADL1, ADL2, Drill; validation =
  S2/S3 ADL3; test = S2/S3 ADL4, ADL5. Subject 4 is not used (nor read nor verified).
* **Windows** (:func:`load_opportunity_splits`): 15 samples (500 ms); step 1 for training and 7.5
  (250 ms, fractional starts ``floor(j * 7.5)``) for validation and test; a window never crosses a
  session boundary; its label is the label of its last sample (as DeepConvLSTM).
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import os
import re
import tempfile
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import torch
from torch import Tensor
from tqdm.auto import tqdm

from data_prep.files import DataPrepError, atomic_path, download, file_digest, safe_extract, verify_checksum
from embracenet.data.splits import WindowedSplit, window_starts

REFERENCE_DIR = Path(__file__).resolve().parent / "opportunity_reference"
EXPECTED_CHECKSUMS = REFERENCE_DIR / "checksums.json"
CHANNELS_FILE = REFERENCE_DIR / "challenge_113_channels.json"
LABEL_LEGEND = REFERENCE_DIR / "label_legend.txt"

UCI_URL = "https://archive.ics.uci.edu/static/public/226/opportunity+activity+recognition.zip"
ZIP_NAMES = ("opportunity+activity+recognition.zip", "OpportunityUCIDataset.zip")
CACHE_NAME = "opportunity.h5"
FORMAT_VERSION = 1

N_COLUMNS = 250
TIME_COL = 0  # 0b
LOCOMOTION_COL = 243  # 0b, "Locomotion"
GESTURE_COL = 249  # 0b, "ML_Both_Arms"
SAMPLING_RATE_HZ = 30.0

SPLIT_SESSIONS: dict[str, tuple[str, ...]] = {
    "train": (
        "S1-ADL1", "S1-ADL2", "S1-ADL3", "S1-ADL4", "S1-ADL5", "S1-Drill",
        "S2-ADL1", "S2-ADL2", "S2-Drill",
        "S3-ADL1", "S3-ADL2", "S3-Drill",
    ),
    "validation": ("S2-ADL3", "S3-ADL3"),
    "test": ("S2-ADL4", "S2-ADL5", "S3-ADL4", "S3-ADL5"),
}
TASKS = ("locomotion", "gestures")


# --------------------------------------------------------------------------------------------------
# Reference metadata (read from the repository copy, never from the dataset folder)


@dataclass(frozen=True)
class OpportunityLayout:
    """The challenge subset: which raw columns to keep and how they group into sensors.

    Attributes:
        raw_columns: ``[113]`` 0b raw column of each channel, in channel order.
        channel_names: ``[113]`` e.g. ``"Accelerometer RKN^ accX"``.
        sensor_names: ``[19]`` unique modality names, e.g. ``"Acc-BACK"`` and ``"IMU-BACK"``.
        sensor_types: ``[19]`` ``"Accelerometer"`` or ``"InertialMeasurementUnit"``.
        channel_groups: ``[19]`` lists of channel indices (into the 113) per sensor.
        class_codes: per task, raw code of each class index (index 0 is Null, code 0).
        class_names: per task, name of each class index.
    """

    raw_columns: tuple[int, ...]
    channel_names: tuple[str, ...]
    sensor_names: tuple[str, ...]
    sensor_types: tuple[str, ...]
    channel_groups: tuple[tuple[int, ...], ...]
    class_codes: dict[str, tuple[int, ...]]
    class_names: dict[str, tuple[str, ...]]


def read_label_legend(path: str | os.PathLike = LABEL_LEGEND) -> list[tuple[int, str, str]]:
    """Parse ``label_legend.txt`` into ``(code, track, name)`` rows, in file order (CRLF tolerated)."""
    rows = []
    for line in Path(path).read_text(encoding="latin-1").splitlines():
        m = re.match(r"\s*(\d+)\s+-\s+(\S+)\s+-\s+(.+?)\s*$", line)
        if m:
            rows.append((int(m.group(1)), m.group(2), m.group(3)))
    if not rows:
        raise DataPrepError(f"{path}: no 'code - track - name' rows found; restore the file from the dataset.")
    return rows


def load_layout(channels_file: str | os.PathLike = CHANNELS_FILE, legend: str | os.PathLike = LABEL_LEGEND) -> OpportunityLayout:
    """Read the 113-channel / 19-sensor mapping and the class legend from the reference files."""
    spec = json.loads(Path(channels_file).read_text())
    channels = spec["channels"]
    raw_columns = tuple(int(c["raw_idx_0based"]) for c in channels)
    if len(raw_columns) != 113 or len(spec["sensors"]) != 19:
        raise DataPrepError(f"{channels_file}: expected 113 channels in 19 sensors, got {len(raw_columns)} in {len(spec['sensors'])}.")
    short = {"Accelerometer": "Acc", "InertialMeasurementUnit": "IMU"}
    sensor_names = tuple(f"{short.get(s['sensor_type'], s['sensor_type'])}-{s['sensor']}" for s in spec["sensors"])
    groups = tuple(tuple(int(c) for c in s["channels"]) for s in spec["sensors"])
    if sorted(c for g in groups for c in g) != list(range(113)):
        raise DataPrepError(f"{channels_file}: the sensors' channel lists must cover 0..112 exactly once.")
    # Class index = position in the legend (+1 for Null): the legend order is DeepConvLSTM's mapping.
    legend_rows = read_label_legend(legend)
    codes, names = {}, {}
    for task, track in (("locomotion", "Locomotion"), ("gestures", "ML_Both_Arms")):
        rows = [(code, name) for code, t, name in legend_rows if t == track]
        codes[task] = (0,) + tuple(code for code, _ in rows)
        names[task] = ("Null",) + tuple(name for _, name in rows)
    return OpportunityLayout(
        raw_columns=raw_columns,
        channel_names=tuple(f"{c['sensor_type']} {c['sensor']} {c['axis']}" for c in channels),
        sensor_names=sensor_names,
        sensor_types=tuple(s["sensor_type"] for s in spec["sensors"]),
        channel_groups=groups,
        class_codes=codes,
        class_names=names,
    )


def read_expected_checksums(path: str | os.PathLike = EXPECTED_CHECKSUMS) -> dict[str, dict[str, Any]]:
    """``{file name: {"size": int, "sha256": str}}`` from a checksum file (the project's or a fixture's)."""
    path = Path(path)
    try:
        doc = json.loads(path.read_text())
        files = doc["files"]
        return {name: {"size": int(v["size"]), "sha256": str(v["sha256"]).lower()} for name, v in files.items()}
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise DataPrepError(
            f"{path}: not a readable checksum file ({error}). Expected JSON "
            '{"algorithm": "sha256", "files": {"S1-ADL1.dat": {"size": ..., "sha256": ...}}}.'
        ) from error


# --------------------------------------------------------------------------------------------------
# Locating, verifying and parsing the source files


def needed_sessions() -> list[str]:
    """Every session the split uses, train first (the order the cache is built in)."""
    return [s for split in ("train", "validation", "test") for s in SPLIT_SESSIONS[split]]


def _find_dataset_dir(root: Path) -> Path | None:
    for candidate in (root, root / "dataset", root / "OpportunityUCIDataset" / "dataset"):
        if (candidate / "S1-ADL1.dat").is_file() or any(candidate.glob("S[1-4]-*.dat")):
            return candidate
    hits = sorted(root.rglob("S1-ADL1.dat"))
    return hits[0].parent if hits else None


def _extract_zip(archive: Path, target: Path) -> Path:
    """Extract the official zip (and a zip nested inside it, as some UCI downloads are) into ``target``."""
    tqdm.write(f"extracting {archive} -> {target}")
    safe_extract(archive, target)
    found = _find_dataset_dir(target)
    if found is None:
        for inner in sorted(target.rglob("*.zip")):
            safe_extract(inner, inner.parent)
        found = _find_dataset_dir(target)
    if found is None:
        raise DataPrepError(f"{archive}: no S<n>-ADL<i>.dat files inside; is this the OPPORTUNITY zip from UCI?")
    return found


def locate_dataset(source: str | os.PathLike | None, out_dir: str | os.PathLike, url: str = UCI_URL) -> Path:
    """The folder holding the ``S<n>-*.dat`` files, extracting or downloading the official zip if needed.

    Args:
        source: the extracted ``OpportunityUCIDataset/`` tree, its ``dataset/`` folder, a folder
            holding the official zip, or the zip itself; ``None`` downloads ``url`` into ``out_dir``.
        out_dir: where a zip is downloaded and extracted (``out_dir/raw``).
    """
    raw_dir = Path(out_dir) / "raw"
    if source is None:
        existing = _find_dataset_dir(raw_dir) if raw_dir.is_dir() else None
        if existing is not None:
            return existing
        archive = raw_dir / ZIP_NAMES[0]
        if not archive.is_file():
            # UCI publishes no checksum for the zip; every .dat inside is verified before use.
            download(url, archive, expected=None)
        return _extract_zip(archive, raw_dir)
    source = Path(source)
    if source.is_file():
        if not zipfile.is_zipfile(source):
            raise DataPrepError(f"{source}: not a zip archive. Pass the OPPORTUNITY zip or the folder holding its extracted files.")
        return _extract_zip(source, raw_dir)
    if not source.is_dir():
        raise DataPrepError(f"{source}: no such file or folder. Pass --source DIR with the extracted OpportunityUCIDataset/ tree.")
    found = _find_dataset_dir(source)
    if found is not None:
        return found
    for name in ZIP_NAMES:
        if (source / name).is_file():
            return _extract_zip(source / name, raw_dir)
    raise DataPrepError(
        f"{source}: neither S<n>-ADL<i>.dat files (in it, in dataset/ or in OpportunityUCIDataset/dataset/) "
        f"nor one of {', '.join(ZIP_NAMES)} were found there."
    )


def verify_source_file(path: Path, expected: dict[str, Any]) -> None:
    """Check the size (cheap, catches truncation) then the sha256 of one .dat; raise naming the file."""
    if not path.is_file():
        raise DataPrepError(f"{path}: file not found. The split needs it; re-extract the OPPORTUNITY archive.")
    size = path.stat().st_size
    if size != expected["size"]:
        raise DataPrepError(
            f"{path}: {size} bytes, expected {expected['size']}. The file is truncated or not the official "
            "one: extract it again from the OPPORTUNITY zip."
        )
    verify_checksum(path, expected["sha256"], "sha256")


def _first_bad_line(path: Path) -> tuple[int, str]:
    """Slow path, run only after the fast parser failed: find the first malformed line (1b) and why."""
    with open(path, "r", encoding="ascii", errors="replace") as handle:
        for number, line in enumerate(handle, start=1):
            fields = line.split()
            if not fields:
                continue
            if len(fields) != N_COLUMNS:
                return number, f"{len(fields)} columns instead of {N_COLUMNS}"
            for column, field in enumerate(fields, start=1):
                try:
                    float(field)
                except ValueError:
                    return number, f"column {column} is {field[:20]!r}, not a number or NaN"
    return 0, "unknown problem"


def read_dat(path: str | os.PathLike) -> np.ndarray:
    """Parse one OPPORTUNITY .dat file: ``[T, 250]`` float64, NaN where the file says ``NaN``.

    Raises:
        DataPrepError: naming the file and the first malformed line (wrong column count, non-numeric).
    """
    path = Path(path)
    try:
        # numpy's C reader is fast; its error messages count rows inconsistently, so on failure the
        # exact line is found by a second, slow scan.
        table = np.loadtxt(path, dtype=np.float64, ndmin=2)
    except ValueError:
        table = None
    if table is None or table.shape[1] != N_COLUMNS or table.shape[0] == 0:
        if table is not None and table.shape[0] == 0:
            raise DataPrepError(f"{path}: the file holds no rows. Extract it again from the OPPORTUNITY zip.")
        line, why = _first_bad_line(path)
        raise DataPrepError(f"{path}, line {line}: {why}. The file is damaged: extract it again from the OPPORTUNITY zip.")
    return table


def _map_labels(codes: np.ndarray, known: Sequence[int], path: Path, column: int) -> np.ndarray:
    lookup = {code: index for index, code in enumerate(known)}
    out = np.empty(len(codes), dtype=np.int64)
    bad = ~np.isin(codes, np.asarray(known, dtype=np.float64))
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise DataPrepError(
            f"{path}, line {row + 1}: label {codes[row]:g} in column {column + 1} is not one of the codes in "
            "label_legend.txt (0 = Null). Is this the UCI release (not OpportunityChallengeLabeled)?"
        )
    for code, index in lookup.items():
        out[codes == code] = index
    return out


# --------------------------------------------------------------------------------------------------
# Normalisation and filling


def normalise(x: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Map ``x`` ``[T, C]`` to [-1, 1] per channel with training ``lo``/``hi`` ``[C]``; NaN stays NaN.

    Values beyond the training range are clipped; channels with ``hi <= lo`` (constant or never
    observed in training) become 0.
    """
    span = hi - lo
    valid = np.isfinite(span) & (span > 0)
    scale = np.where(valid, 2.0 / np.where(valid, span, 1.0), 0.0)
    offset = np.where(valid, lo, 0.0)
    out = (x - offset) * scale - np.where(valid, 1.0, 0.0)
    np.clip(out, -1.0, 1.0, out=out)
    return out.astype(np.float32)


def forward_fill(x: np.ndarray, fallback: np.ndarray | float = 0.0) -> np.ndarray:
    """Fill NaN per channel with the previous valid value of the same channel.

    A leading gap takes the first valid value of its channel; a channel with no valid value takes
    ``fallback`` (scalar or ``[C]``).

    Args:
        x: ``[T, C]`` with NaN gaps.
        fallback: value(s) for channels that are NaN from start to end.

    Returns:
        ``[T, C]`` without NaN, same dtype.
    """
    t, c = x.shape
    if t == 0:
        return x.copy()
    nan = np.isnan(x)
    index = np.where(nan, 0, np.arange(t)[:, None])
    np.maximum.accumulate(index, axis=0, out=index)
    out = x[index, np.arange(c)]
    first = nan.argmin(axis=0)  # first valid row per channel (0 when all NaN)
    first_value = x[first, np.arange(c)]
    first_value = np.where(np.isnan(first_value), np.broadcast_to(np.asarray(fallback, dtype=x.dtype), (c,)), first_value)
    return np.where(np.isnan(out), first_value[None, :], out).astype(x.dtype, copy=False)


def sensor_missing(x: np.ndarray, groups: Sequence[Sequence[int]]) -> np.ndarray:
    """``[T, m]`` bool: a sensor is missing at a step when any of its channels of ``x`` ``[T, C]`` is NaN."""
    nan = np.isnan(x)
    return np.stack([nan[:, list(g)].any(axis=1) for g in groups], axis=1)


# --------------------------------------------------------------------------------------------------
# Building the cache


def build_parameters(quantile: float = 0.0) -> dict[str, Any]:
    """Everything that determines the cache content (apart from the source files)."""
    return {
        "format_version": FORMAT_VERSION,
        "splits": {k: list(v) for k, v in SPLIT_SESSIONS.items()},
        "raw_columns": list(load_layout().raw_columns),
        "label_columns": {"locomotion": LOCOMOTION_COL, "gestures": GESTURE_COL},
        "normalisation": {"range": [-1.0, 1.0], "statistics": "train", "quantile": float(quantile), "clip": True},
        "fill": "previous value per channel within a session; leading gap: first valid value; "
        "all-missing channel: normalised training mean",
    }


def _cache_matches(cache: Path, params: dict[str, Any], sources: dict[str, str]) -> bool:
    if not cache.is_file():
        return False
    try:
        with h5py.File(cache, "r") as f:
            return json.loads(f.attrs["params"]) == params and json.loads(f.attrs["source_sha256"]) == sources
    except (OSError, KeyError, ValueError):
        return False  # unreadable or older cache: rebuild it


def prepare_opportunity(
    source: str | os.PathLike | None,
    out_dir: str | os.PathLike = "data/opportunity",
    *,
    expected_checksums: str | os.PathLike | None = EXPECTED_CHECKSUMS,
    verify: bool = True,
    quantile: float = 0.0,
    force: bool = False,
    url: str = UCI_URL,
) -> Path:
    """Verify the sources and write ``out_dir/opportunity.h5``; reuse it when nothing changed.

    Args:
        source: see :func:`locate_dataset`.
        out_dir: output folder.
        expected_checksums: checksum file (the project's by default; a fixture passes its own).
        verify: ``False`` skips the size/sha256 check (the sources are still hashed for the cache key).
        quantile: 0 for training min/max; ``q > 0`` uses the q / 1-q training quantiles.
        force: rebuild even when the cache matches.
        url: where to download the zip when ``source`` is None.

    Returns:
        Path of the cache.
    """
    if not 0.0 <= quantile < 0.5:
        raise DataPrepError(f"--quantile must be in [0, 0.5), got {quantile}.")
    out_dir = Path(out_dir)
    cache = out_dir / CACHE_NAME
    params = build_parameters(quantile)
    sessions = needed_sessions()
    expected = read_expected_checksums(expected_checksums) if verify and expected_checksums is not None else None
    if expected is not None:
        missing_entries = [s for s in sessions if f"{s}.dat" not in expected]
        if missing_entries:
            raise DataPrepError(f"{expected_checksums}: no checksum for {', '.join(missing_entries)}.")
        # Verified sources are identified by their expected digests: a matching cache is reused
        # without touching (or even having) the sources.
        sources = {s: expected[f"{s}.dat"]["sha256"] for s in sessions}
        if not force and _cache_matches(cache, params, sources):
            tqdm.write(f"{cache}: up to date, reused.")
            return cache
    dataset_dir = locate_dataset(source, out_dir, url)
    paths = {s: dataset_dir / f"{s}.dat" for s in sessions}
    absent = [str(p) for p in paths.values() if not p.is_file()]
    if absent:
        raise DataPrepError(f"{dataset_dir}: missing {', '.join(absent)}. Extract the complete OPPORTUNITY archive.")
    if expected is not None:
        for s in tqdm(sessions, desc="verify sha256"):
            verify_source_file(paths[s], expected[f"{s}.dat"])
    else:
        sources = {s: file_digest(paths[s], "sha256") for s in tqdm(sessions, desc="sha256")}
        if not force and _cache_matches(cache, params, sources):
            tqdm.write(f"{cache}: up to date, reused.")
            return cache
    _build_cache(cache, paths, params, sources, quantile)
    return cache


def _build_cache(cache: Path, paths: dict[str, Path], params: dict, sources: dict[str, str], quantile: float) -> None:
    layout = load_layout()
    columns = np.asarray(layout.raw_columns)
    train = set(SPLIT_SESSIONS["train"])
    n_channels = len(columns)
    lo = np.full(n_channels, np.inf)
    hi = np.full(n_channels, -np.inf)
    total = np.zeros(n_channels)
    count = np.zeros(n_channels)
    samples: list[np.ndarray] = []  # strided training rows for quantiles only
    cache.parent.mkdir(parents=True, exist_ok=True)
    # Pass 1 parses each text file once into a scratch h5 (selected columns only) and gathers the
    # training statistics; pass 2 normalises and fills from the scratch. Memory: one session at a time.
    fd, scratch_name = tempfile.mkstemp(prefix=f".{cache.name}.", suffix=".scratch.part", dir=cache.parent)
    os.close(fd)
    scratch_path = Path(scratch_name)
    try:
        with h5py.File(scratch_path, "w") as scratch:
            for session, path in tqdm(paths.items(), desc="parse .dat"):
                table = read_dat(path)
                x = table[:, columns]
                group = scratch.create_group(session)
                group["x"] = x.astype(np.float32)  # sensor values are integers, exact in float32 below 2**24
                group["time_ms"] = table[:, TIME_COL].astype(np.int64)
                for task, col in (("locomotion", LOCOMOTION_COL), ("gestures", GESTURE_COL)):
                    group[task] = _map_labels(table[:, col], layout.class_codes[task], path, col)
                if session in train:
                    with np.errstate(all="ignore"), _quiet_nan_warnings():
                        lo = np.fmin(lo, np.nanmin(x, axis=0))
                        hi = np.fmax(hi, np.nanmax(x, axis=0))
                    observed = ~np.isnan(x)
                    total += np.where(observed, x, 0.0).sum(axis=0)
                    count += observed.sum(axis=0)
                    if quantile > 0:
                        samples.append(x[::4].astype(np.float32))
                del table, x
            if quantile > 0:
                stacked = np.concatenate(samples)
                with _quiet_nan_warnings():
                    lo = np.nanquantile(stacked, quantile, axis=0)
                    hi = np.nanquantile(stacked, 1.0 - quantile, axis=0)
                del stacked, samples
            lo = np.where(np.isfinite(lo), lo, np.nan)
            hi = np.where(np.isfinite(hi), hi, np.nan)
            raw_mean = np.where(count > 0, total / np.maximum(count, 1), np.nan)
            train_mean = normalise(raw_mean[None, :], lo, hi)[0]
            train_mean = np.where(np.isnan(train_mean), 0.0, train_mean).astype(np.float32)
            constant = [int(c) for c in np.flatnonzero(~(hi > lo))]

            with atomic_path(cache) as part, h5py.File(part, "w") as out:
                missing_steps = {split: 0 for split in SPLIT_SESSIONS}
                total_steps = {split: 0 for split in SPLIT_SESSIONS}
                split_of = {s: split for split, names in SPLIT_SESSIONS.items() for s in names}
                for session in tqdm(paths, desc="normalise + fill"):
                    raw = scratch[session]["x"][()].astype(np.float64)
                    unfilled = normalise(raw, lo, hi)
                    missing = sensor_missing(raw, layout.channel_groups)
                    filled = forward_fill(unfilled, train_mean)
                    g = out.create_group(session)
                    opts = dict(chunks=(min(4096, max(1, len(raw))), n_channels), compression="lzf")
                    g.create_dataset("data", data=filled, **opts)
                    g.create_dataset("data_unfilled", data=unfilled, **opts)
                    g.create_dataset("missing", data=missing, compression="lzf")
                    for name in ("locomotion", "gestures", "time_ms"):
                        g.create_dataset(name, data=scratch[session][name][()], compression="lzf")
                    split = split_of[session]
                    g.attrs.update(
                        split=split,
                        subject=int(session[1]),
                        source_file=paths[session].name,
                        source_sha256=sources[session],
                        n_steps=len(raw),
                        sensor_missing_rate=float(missing.mean()) if len(raw) else 0.0,
                    )
                    missing_steps[split] += int(missing.sum())
                    total_steps[split] += missing.size
                out.attrs.update(
                    params=json.dumps(params, sort_keys=True),
                    source_sha256=json.dumps(sources, sort_keys=True),
                    sampling_rate_hz=SAMPLING_RATE_HZ,
                    norm_min=lo.astype(np.float64),
                    norm_max=hi.astype(np.float64),
                    train_mean=train_mean,
                    constant_channels=json.dumps(constant),
                    channel_names=json.dumps(list(layout.channel_names)),
                    raw_columns_0b=np.asarray(layout.raw_columns, dtype=np.int64),
                    sensor_names=json.dumps(list(layout.sensor_names)),
                    sensor_types=json.dumps(list(layout.sensor_types)),
                    channel_groups=json.dumps([list(g) for g in layout.channel_groups]),
                    class_names=json.dumps({k: list(v) for k, v in layout.class_names.items()}),
                    class_codes=json.dumps({k: list(v) for k, v in layout.class_codes.items()}),
                    splits=json.dumps({k: list(v) for k, v in SPLIT_SESSIONS.items()}),
                    sensor_missing_rate=json.dumps(
                        {k: missing_steps[k] / max(total_steps[k], 1) for k in SPLIT_SESSIONS}
                    ),
                )
    finally:
        scratch_path.unlink(missing_ok=True)
    tqdm.write(f"{cache}: written ({len(paths)} sessions, {len(constant)} constant channels).")


@contextlib.contextmanager
def _quiet_nan_warnings():
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN slices are expected and handled
        yield


# --------------------------------------------------------------------------------------------------
# Reading the cache


@dataclass
class SessionStream:
    """One recording as stored in the cache.

    Attributes:
        session: e.g. ``"S2-ADL4"``.
        data: ``[T, 113]`` float32, normalised; NaN gaps when read unfilled.
        missing: ``[T, 19]`` bool, the original missing mask.
        labels: ``[T]`` int64 class index of the task.
    """

    session: str
    data: np.ndarray
    missing: np.ndarray
    labels: np.ndarray


def load_opportunity_metadata(cache_path: str | os.PathLike) -> dict[str, Any]:
    """Root attributes of the cache, decoded: sensor names, channel groups, class names, min/max, ..."""
    with h5py.File(cache_path, "r") as f:
        a = f.attrs
        meta = {k: json.loads(a[k]) for k in (
            "params", "source_sha256", "constant_channels", "channel_names", "sensor_names", "sensor_types",
            "channel_groups", "class_names", "class_codes", "splits", "sensor_missing_rate",
        )}
        meta.update(
            norm_min=np.asarray(a["norm_min"]),
            norm_max=np.asarray(a["norm_max"]),
            train_mean=np.asarray(a["train_mean"]),
            sampling_rate_hz=float(a["sampling_rate_hz"]),
        )
    return meta


def _check_task(task: str) -> None:
    if task not in TASKS:
        raise ValueError(f"task must be one of {TASKS}, got {task!r}")


def load_opportunity_streams(
    cache_path: str | os.PathLike, split: str = "test", task: str = "locomotion", filled: bool = False
) -> list[SessionStream]:
    """The unwindowed streams of a split, one per session (for the block-wise missing-data scenario).

    Args:
        cache_path: the cache written by :func:`prepare_opportunity`.
        split: ``"train"``, ``"validation"`` or ``"test"``.
        task: ``"locomotion"`` or ``"gestures"``: which labels to return.
        filled: ``False`` returns the normalised data with the original NaN gaps (re-simulate loss on
            these, then fill with :func:`forward_fill` and window with :func:`windowed_split`);
            ``True`` returns the stored filled data.
    """
    _check_task(task)
    with h5py.File(cache_path, "r") as f:
        names = json.loads(f.attrs["splits"])[split]
        return [
            SessionStream(
                session=name,
                data=f[name]["data" if filled else "data_unfilled"][()],
                missing=f[name]["missing"][()],
                labels=f[name][task][()],
            )
            for name in names
        ]


def windowed_split(
    streams: Sequence[SessionStream],
    channel_groups: Sequence[Sequence[int]],
    window: int = 15,
    step: float = 1.0,
    *,
    drop_null: bool = False,
    use_missing_mask: bool = True,
    window_available: str = "all",
    layout: str = "time_channels",
    modality_names: Sequence[str] = (),
) -> WindowedSplit:
    """Concatenate session streams and cut windows that never cross a session boundary.

    Args:
        streams: sessions with filled ``data`` ``[T_i, C]`` (NaN is refused: fill first).
        channel_groups: channel indices of each modality.
        window: window length in samples; step: window step in samples (may be fractional).
        drop_null: drop windows whose label (last sample) is class 0.
        use_missing_mask: mark a modality unavailable where the stream's ``missing`` says so;
            ``False`` marks everything available (the filled values stand in).
        window_available: ``"all"`` or ``"any"``, see :class:`WindowedSplit`.
        layout: ``"time_channels"`` gives modality k as ``[B, window, C_k]``.

    Returns:
        A :class:`WindowedSplit` with one modality per channel group.
    """
    data = np.concatenate([s.data for s in streams]) if streams else np.zeros((0, 113), np.float32)
    if np.isnan(data).any():
        raise ValueError("streams still contain NaN; fill them (forward_fill) before windowing.")
    missing = np.concatenate([s.missing for s in streams]) if streams else np.zeros((0, len(channel_groups)), bool)
    labels = np.concatenate([s.labels for s in streams]) if streams else np.zeros(0, np.int64)
    starts = window_starts([len(s.data) for s in streams], window, step)
    if drop_null and len(starts):
        starts = starts[torch.from_numpy(labels)[starts + window - 1] != 0]
    available = torch.from_numpy(~missing) if use_missing_mask else torch.ones(missing.shape, dtype=torch.bool)
    return WindowedSplit(
        stream=torch.from_numpy(np.ascontiguousarray(data, dtype=np.float32)),
        available_stream=available,
        labels_stream=torch.from_numpy(labels.astype(np.int64)),
        starts=starts,
        length=window,
        channels=[list(g) for g in channel_groups],
        label_at="last",
        window_available=window_available,
        layout=layout,
        modality_names=list(modality_names),
    )


def load_opportunity_splits(
    cache_path: str | os.PathLike,
    task: str = "locomotion",
    window: int = 15,
    train_step: float = 1,
    eval_step: float = 7.5,
    *,
    drop_null_validation: bool | None = None,
    use_missing_mask: bool = True,
    window_available: str = "all",
    layout: str = "time_channels",
) -> dict[str, WindowedSplit]:
    """Train / validation / test windows of the challenge split, 19 modalities.

    Modality k is ``[window, C_k]`` (``layout="time_channels"``, what DeepConvLSTM convolves over
    time); C_k is 3 for the accelerometers, 9 for the jacket IMUs and 16 for the shoes. A window's
    label is that of its last sample. ``available`` comes from the original missing mask, so a
    modality with a recording gap inside a window is unavailable there (``window_available="all"``);
    use :func:`complete_window_mask` to find the windows with no original gap at all.

    Args:
        cache_path: the cache written by :func:`prepare_opportunity`.
        task: ``"locomotion"`` (5 classes) or ``"gestures"`` (18 classes).
        window: window length in samples (15 = 500 ms).
        train_step: training step in samples (1 = 33.3 ms).
        eval_step: validation/test step in samples (7.5 = 250 ms; starts are ``floor(j * 7.5)``).
        drop_null_validation: drop Null-labelled validation windows; default True for gestures only.
        use_missing_mask, window_available, layout: see :func:`windowed_split`.

    Returns:
        ``{"train": ..., "validation": ..., "test": ...}``.
    """
    _check_task(task)
    if drop_null_validation is None:
        drop_null_validation = task == "gestures"
    meta = load_opportunity_metadata(cache_path)
    result = {}
    for split, step in (("train", train_step), ("validation", eval_step), ("test", eval_step)):
        streams = load_opportunity_streams(cache_path, split, task, filled=True)
        result[split] = windowed_split(
            streams,
            meta["channel_groups"],
            window,
            step,
            drop_null=drop_null_validation and split == "validation",
            use_missing_mask=use_missing_mask,
            window_available=window_available,
            layout=layout,
            modality_names=meta["sensor_names"],
        )
    return result


def complete_window_mask(split: WindowedSplit) -> Tensor:
    """``BoolTensor[N]``: windows where every modality is available at every step.

    With the original missing mask as ``available_stream`` (the default of
    :func:`load_opportunity_splits`), these are the windows without any original gap, the ones the
    missing-modality scenario evaluates on so it controls exactly which sensors are absent.
    """
    if len(split.starts) == 0:
        return torch.zeros(0, dtype=torch.bool)
    steps = split.starts[:, None] + torch.arange(split.length)
    return split.available_stream[steps].all(dim=2).all(dim=1)


def select_windows(split: WindowedSplit, mask: Tensor) -> WindowedSplit:
    """A copy of ``split`` with only the windows where ``mask`` (``BoolTensor[N]``) is true."""
    return dataclasses.replace(split, starts=split.starts[mask])


# --------------------------------------------------------------------------------------------------
# Command line


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--source", type=Path, default=None,
                        help="extracted OpportunityUCIDataset/ tree, its dataset/ folder, or the official zip "
                        "(default: download it)")
    parser.add_argument("--out", type=Path, default=Path("data/opportunity"), help="output folder for opportunity.h5")
    parser.add_argument("--expected-checksums", type=Path, default=EXPECTED_CHECKSUMS,
                        help="JSON checksum file (default: the project's copy of the official checksums)")
    parser.add_argument("--no-verify", action="store_true", help="skip the size/sha256 check of the .dat files")
    parser.add_argument("--quantile", type=float, default=0.0,
                        help="use the q / 1-q training quantiles instead of min/max (default 0: min/max)")
    parser.add_argument("--force", action="store_true", help="rebuild the cache even if it is up to date")
    parser.add_argument("--url", default=UCI_URL, help="where to download the zip when --source is not given")
    args = parser.parse_args(argv)
    try:
        cache = prepare_opportunity(
            args.source, args.out, expected_checksums=args.expected_checksums, verify=not args.no_verify,
            quantile=args.quantile, force=args.force, url=args.url,
        )
    except DataPrepError as error:
        parser.exit(1, f"error: {error}\n")
    print(cache)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
