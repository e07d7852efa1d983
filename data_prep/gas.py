"""Gas sensor arrays in open sampling settings (UCI 251, "WTD") -> HDF5 cache ``gas.h5``.

Run ``python -m data_prep.gas --source DIR --out data/gas``. ``DIR`` holds either the extracted
``WTD_upload/`` tree or the official zip (read member by member, never extracted in full).

What the cache holds and why
----------------------------
* **Classes** (10, in this order; CO at 1000 and 4000 ppm are one class, the ppm is kept per trial):
  ``Acetaldehyde, Acetone, Ammonia, Benzene, Butanol, CO, Ethylene, Methane, Methanol, Toluene``.
* **Channels.** The 72 sensor columns are reordered so that modality ``k`` (sensor slot ``k+1`` on
  every board, i.e. one sensor type) owns columns ``[9k, 9k+9)``, one column per board 1..9:
  output column ``9k + (b-1)`` is raw column ``12 + 9(b-1) + k`` (FORMATS.md B3/B5). Sources disagree
  on the type names of the slots, so modalities are named by slot (``slot1`` .. ``slot8``).
* **Downsampling to 1 Hz: mean per whole second.** Duplicate timestamps are dropped (first kept),
  then every sample with ``floor(t_ms / 1000) == s`` is averaged into second ``s``. The real rate is
  non-uniform (~80-100 Hz, with duplicates and gaps up to ~0.5 s), so a bin mean uses all samples,
  needs no resampling grid, acts as an anti-alias low-pass filter and averages out the integer
  quantisation of the kOhm readings; picking the nearest sample would keep that noise. A second
  without samples is filled by linear interpolation between its neighbours; a run of more than
  ``max_gap_s`` empty seconds skips the file. Any rate works (the test fixture uses ~2 Hz).
* **Length.** Seconds ``0 .. T-1`` are kept (``T = 260``, the nominal duration); longer trials are
  cut there, trials with fewer than ``window`` (240) seconds are skipped. Trials of 240..259 s are
  kept with their own ``length``; rows past it are NaN.
* **Split by location:** L1, L3, L5 train; L2 validation; L4 test; L6 is not read.
* **Normalisation:** the cache stores the *raw* 1 Hz values (kOhm) plus per-channel ``norm_min`` /
  ``norm_max`` computed on the training trials only (valid rows). :func:`load_gas_splits` applies
  ``(x - min) / (max - min)``. Storing raw values keeps the streaming build single-pass and resumable
  (the training min/max is only known once every file is read).

Cache schema (``gas.h5``; one row per kept trial, in sorted source-path order)
------------------------------------------------------------------------------
================  ===================  =====================================================
``series``        float32 [N, T, 72]   raw 1 Hz values, columns as above, NaN past ``length``
``length``        int32 [N]            valid seconds (``window <= length <= T``)
``label``         int64 [N]            class index into attr ``classes``
``location``      int8 [N]             1..5 (L1..L5)
``ppm``           int32 [N]            source concentration
``volt``          int16 [N]            heater set point, e.g. 500 = 5.00 V
``fan``           int16 [N]            fan set point 0 / 60 / 100
``trial``         int8 [N]             1-based position by timestamp in its (folder, L, volt, fan) group
``trial_name``    str [N]              ``<Gas>_<ppm>/L<k>/<file name>``
``sources/name``  str [M]              every source file that feeds the cache (L1..L5)
``sources/digest`` str [M]             its sha256 (tree) or CRC-32 (zip member)
``progress/name``  str [D]             source files handled so far (resume bookkeeping)
``progress/status`` str [D]            ``ok`` or the skip reason
================  ===================  =====================================================

Attributes: ``params`` (JSON: rate, T, window, step, split, downsampling, gap limit, version),
``source`` (JSON: kind, path, sha256 of the zip or of the per-file digest list), ``fingerprint``
(sha256 of params + source digest: the cache is reused only when it matches), ``classes``,
``modality_names`` (JSON), ``norm_min`` / ``norm_max`` (float32 [72]), ``skip_counts`` (JSON),
``commit`` (JSON row/progress counts), ``complete``.

Robustness
----------
Every file is validated; a bad one is skipped with a reason (``empty``, ``too_few_rows``,
``bad_columns``, ``non_numeric``, ``time_not_increasing``, ``duplicate_timestamps``, ``gap``,
``too_short``, ``unknown_name``, ``name_mismatch``, ``read_error``), logged to ``gas_prep.log`` in
the out dir and counted at the end. Missing locations and incomplete trial groups are reported too.
The build writes ``gas.h5.part`` and renames it onto ``gas.h5`` only when complete; an interrupted
build resumes from the part file (rows past the last commit are dropped), unless its fingerprint no
longer matches. A hard kill (SIGKILL) can leave the part file unreadable: it is then discarded and
the build starts over; ``gas.h5`` itself is never half-written.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import logging
import os
import re
import sys
import zipfile
import zlib
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import h5py
import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from data_prep.files import DataPrepError, atomic_write, download, file_digest

if TYPE_CHECKING:
    from embracenet.data.splits import WindowedSplit

log = logging.getLogger("data_prep.gas")

FORMAT_VERSION = 1
UCI_URL = "https://archive.ics.uci.edu/static/public/251/gas+sensor+arrays+in+open+sampling+settings.zip"
# No checksum of the official archive is published or pinned yet (the build machine has no network):
# until one is, a download is checked against the CRC-32 of every member (fetch_official).
UCI_ZIP_MD5: str | None = None
UCI_ZIP_NAME = "gas+sensor+arrays+in+open+sampling+settings.zip"

ROOT_NAME = "WTD_upload"
GAS_FOLDERS = (
    "Acetaldehyde_500", "Acetone_2500", "Ammonia_10000", "Benzene_200", "Butanol_100",
    "CO_1000", "CO_4000", "Ethylene_500", "Methane_1000", "Methanol_200", "Toluene_200",
)  # fmt: skip
CLASSES = (
    "Acetaldehyde", "Acetone", "Ammonia", "Benzene", "Butanol", "CO", "Ethylene", "Methane", "Methanol", "Toluene",
)  # fmt: skip
LOCATIONS = (1, 2, 3, 4, 5, 6)
SPLIT_LOCATIONS = {"train": (1, 3, 5), "val": (2,), "test": (4,)}
USED_LOCATIONS = tuple(sorted(loc for locs in SPLIT_LOCATIONS.values() for loc in locs))
EXPECTED_TRIALS = 20  # per (gas folder, location, volt, fan), FORMATS.md B2

N_COLUMNS = 92
N_BOARDS, N_SLOTS = 9, 8
N_CHANNELS = N_BOARDS * N_SLOTS
# Output column 9k + b takes raw column 12 + 9b + k (board b, slot k, both 0-based).
SENSOR_COLUMNS = np.array([12 + 9 * b + k for k in range(N_SLOTS) for b in range(N_BOARDS)])
BOARD_MARKER_COLUMNS = np.array([11 + 9 * b for b in range(N_BOARDS)])
MODALITY_NAMES = tuple(f"slot{k + 1}" for k in range(N_SLOTS))

NAME_RE = re.compile(
    r"^(?P<ts>\d{12})_board_setPoint_(?P<volt>\d{3})V_fan_setPoint_(?P<fan>\d{3})"
    r"_mfc_setPoint_(?P<gas>[A-Za-z]+)_(?P<ppm>\d+)ppm_p(?P<p>\d{1,2})$"
)
FOLDER_RE = re.compile(r"^(?P<gas>[A-Za-z]+)_(?P<ppm>\d+)$")
LOCATION_RE = re.compile(r"^L(?P<k>[1-6])$")

CACHE_NAME = "gas.h5"
LOG_NAME = "gas_prep.log"
STR = h5py.string_dtype("utf-8")
PER_TRIAL = ("length", "label", "location", "ppm", "volt", "fan", "trial", "trial_name")


# ------------------------------------------------------------------------------------------ names
@dataclass(frozen=True)
class TrialName:
    """One source file, parsed from ``<Gas>_<ppm>/L<k>/<ts>_board_setPoint_...``."""

    relpath: str  # "<Gas>_<ppm>/L<k>/<file>", relative to WTD_upload/
    folder: str
    gas: str
    ppm: int
    location: int
    volt: int
    fan: int
    timestamp: str
    p: int

    @property
    def label(self) -> int:
        return CLASSES.index(self.gas)

    @property
    def group(self) -> tuple[str, int, int, int]:
        return (self.folder, self.location, self.volt, self.fan)


def parse_name(relpath: str) -> TrialName:
    """Parse a path ``<Gas>_<ppm>/L<k>/<file>`` (FORMATS.md B2).

    Raises:
        ValueError: with reason prefix ``unknown_name:`` or ``name_mismatch:``.
    """
    parts = relpath.split("/")
    if len(parts) != 3:
        raise ValueError(f"unknown_name: expected <Gas>_<ppm>/L<k>/<file>, got {relpath!r}")
    folder, loc_dir, name = parts
    fm, lm, nm = FOLDER_RE.match(folder), LOCATION_RE.match(loc_dir), NAME_RE.match(name)
    if folder not in GAS_FOLDERS or fm is None:
        raise ValueError(f"unknown_name: gas folder {folder!r} is not one of {', '.join(GAS_FOLDERS)}")
    if lm is None:
        raise ValueError(f"unknown_name: location folder {loc_dir!r} is not L1..L6")
    if nm is None:
        raise ValueError(f"unknown_name: file name {name!r} does not follow the B2 grammar")
    location = int(lm["k"])
    p = int(nm["p"])
    if (nm["gas"], nm["ppm"]) != (fm["gas"], fm["ppm"]):
        raise ValueError(f"name_mismatch: file says {nm['gas']} {nm['ppm']} ppm but lies in {folder}")
    if p != 2 * location - 1:
        raise ValueError(
            f"name_mismatch: position p{p} does not match folder L{location} (expected p{2 * location - 1})"
        )
    return TrialName(
        relpath, folder, fm["gas"], int(fm["ppm"]), location, int(nm["volt"]), int(nm["fan"]), nm["ts"], p
    )


# ---------------------------------------------------------------------------------------- sources
class Source:
    """The archive, as a tree or a zip: lists ``WTD_upload``-relative paths and reads their bytes."""

    kind: str
    path: Path

    def names(self) -> list[str]:
        raise NotImplementedError

    def read(self, relpath: str) -> bytes:
        raise NotImplementedError

    def file_digests(self, relpaths: Sequence[str]) -> tuple[list[str], str]:
        """Per-file content digests and one digest of the whole source."""
        raise NotImplementedError

    def close(self) -> None:
        pass


class TreeSource(Source):
    kind = "tree"

    def __init__(self, root: Path) -> None:
        self.path = root

    def names(self) -> list[str]:
        out = []
        for dirpath, _, files in os.walk(self.path):
            for f in files:
                out.append((Path(dirpath) / f).relative_to(self.path).as_posix())
        return sorted(out)

    def read(self, relpath: str) -> bytes:
        return (self.path / relpath).read_bytes()

    def file_digests(self, relpaths: Sequence[str]) -> tuple[list[str], str]:
        # Content checksums: name+size+mtime would miss an edit that keeps them.
        digests = [file_digest(self.path / r, "sha256") for r in tqdm(relpaths, desc="sha256", unit="file")]
        total = hashlib.sha256()
        for r, d in zip(relpaths, digests):
            total.update(f"{r}\0{d}\n".encode())
        return digests, total.hexdigest()


class ZipSource(Source):
    kind = "zip"

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            self.zf = zipfile.ZipFile(path)
        except (zipfile.BadZipFile, OSError) as error:
            raise DataPrepError(
                f"{path}: not a readable zip archive ({error}). It is corrupt or truncated: download it "
                "again, or pass --source a folder with the extracted WTD_upload/ tree."
            ) from error
        prefix = None
        for info in self.zf.infolist():
            name = info.filename
            if f"{ROOT_NAME}/" in name:
                prefix = name[: name.index(f"{ROOT_NAME}/") + len(ROOT_NAME) + 1]
                break
        if prefix is None:
            raise DataPrepError(f"{path}: no {ROOT_NAME}/ folder inside. Is this the UCI 251 archive?")
        self.prefix = prefix
        self.members = {
            i.filename[len(prefix) :]: i
            for i in self.zf.infolist()
            if i.filename.startswith(prefix) and not i.is_dir() and len(i.filename) > len(prefix)
        }

    def names(self) -> list[str]:
        return sorted(self.members)

    def read(self, relpath: str) -> bytes:
        try:
            return self.zf.read(self.members[relpath])
        except (zipfile.BadZipFile, zlib.error, EOFError) as error:
            raise DataPrepError(
                f"{self.path}: member {self.prefix}{relpath} is corrupt ({error}). Download the archive again."
            ) from error

    def file_digests(self, relpaths: Sequence[str]) -> tuple[list[str], str]:
        # The zip's own sha256 covers every byte; member CRC-32s identify each file for free.
        digests = [f"crc32:{self.members[r].CRC:08x}" for r in relpaths]
        return digests, file_digest(self.path, "sha256")

    def close(self) -> None:
        self.zf.close()


def _zip_has_root(path: Path) -> bool:
    try:
        with zipfile.ZipFile(path) as zf:
            return any(f"{ROOT_NAME}/" in n for n in zf.namelist())
    except (zipfile.BadZipFile, OSError) as error:
        raise DataPrepError(
            f"{path}: not a readable zip archive ({error}). It is corrupt or truncated: download it again."
        ) from error


def _unpack_nested(path: Path, out_dir: Path) -> Path | None:
    """If ``path`` wraps an inner zip holding ``WTD_upload/`` (some UCI packagings do), copy it out."""
    with zipfile.ZipFile(path) as zf:
        inner = [i for i in zf.infolist() if i.filename.lower().endswith(".zip")]
        for info in inner:
            dest = out_dir / Path(info.filename).name
            if not dest.exists() or dest.stat().st_size != info.file_size:
                with zf.open(info) as src, atomic_write(dest) as dst:
                    for chunk in iter(lambda: src.read(1 << 20), b""):
                        dst.write(chunk)
            if _zip_has_root(dest):
                return dest
    return None


def open_source(source: str | os.PathLike, out_dir: str | os.PathLike) -> Source:
    """Find the archive in ``source``: ``WTD_upload/`` itself, a folder holding it, or a zip."""
    source, out_dir = Path(source), Path(out_dir)
    if source.is_file():
        zips = [source]
    elif not source.is_dir():
        raise DataPrepError(
            f"{source}: no such file or folder. Pass --source the folder holding WTD_upload/ or the zip."
        )
    elif source.name == ROOT_NAME:
        return TreeSource(source)
    elif (source / ROOT_NAME).is_dir():
        return TreeSource(source / ROOT_NAME)
    else:
        zips = sorted(source.glob("*.zip"))
    for z in zips:
        if _zip_has_root(z):
            return ZipSource(z)
    for z in zips:
        inner = _unpack_nested(z, out_dir)
        if inner is not None:
            return ZipSource(inner)
    raise DataPrepError(
        f"{source}: found neither a {ROOT_NAME}/ folder nor a zip containing one. Pass --source the folder "
        f"holding the extracted {ROOT_NAME}/ tree or the official UCI 251 zip."
    )


def fetch_official(out_dir: str | os.PathLike) -> Path:
    """Download the official archive into ``out_dir`` (or reuse it there) and return its path.

    UCI publishes no checksum for this zip. Until one is pinned in ``UCI_ZIP_MD5``, the download is
    checked member by member against the CRC-32 values the zip itself stores (``testzip``) before
    anything reads it, and its sha256 is printed so that it can be pinned.
    """
    dest = Path(out_dir) / UCI_ZIP_NAME
    if dest.is_file():
        return dest
    download(UCI_URL, dest, UCI_ZIP_MD5)  # raises DataPrepError naming --source when unreachable
    if UCI_ZIP_MD5 is None:
        try:
            with zipfile.ZipFile(dest) as zf:
                bad = zf.testzip()
        except (zipfile.BadZipFile, zlib.error, OSError, EOFError) as error:  # damaged beyond a CRC mismatch
            bad = f"({error})"
        if bad is not None:
            dest.unlink(missing_ok=True)
            raise DataPrepError(f"{UCI_URL}: the downloaded zip is corrupt (member {bad}); download it again or pass --source DIR.")
        log.info("%s: sha256 %s (pin it as a checksum in data_prep/gas.py)", dest, file_digest(dest, "sha256"))
    return dest


# ---------------------------------------------------------------------------------------- parsing
class SkipFile(Exception):
    """A source file that cannot be used; ``reason`` is a short key, the message says why."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason, self.detail = reason, detail


def _diagnose(raw: bytes) -> SkipFile:
    """Find the first bad row of a file that the fast parser rejected (slow path, bad files only)."""
    for i, line in enumerate(raw.splitlines(), 1):
        fields = line.split()
        if not fields:
            continue
        if len(fields) != N_COLUMNS:
            return SkipFile("bad_columns", f"line {i} has {len(fields)} fields, expected {N_COLUMNS}")
        for j, tok in enumerate(fields):
            try:
                value = float(tok)
            except ValueError:
                text = tok.decode(errors="replace")
                return SkipFile("non_numeric", f"line {i}, column {j}: {text!r} is not a number")
            if not np.isfinite(value):
                return SkipFile("non_numeric", f"line {i}, column {j}: {tok.decode(errors='replace')!r} is not finite")
    return SkipFile("non_numeric", "the parser rejected the file but no bad row was found")


def parse_rows(raw: bytes) -> np.ndarray:
    """Parse one measurement file: ``[n_rows, 92]`` float64 (FORMATS.md B3).

    Fields are split on any whitespace, which accepts the official TAB + trailing TAB as well as the
    spaces the UCI text mentions. There is no header row.

    Raises:
        SkipFile: ``empty``, ``too_few_rows``, ``bad_columns`` or ``non_numeric``.
    """
    if not raw.strip():
        raise SkipFile("empty", "the file holds no data")
    try:
        frame = pd.read_csv(io.BytesIO(raw), sep=r"\s+", header=None, dtype=np.float64, engine="c")
    except (pd.errors.ParserError, ValueError):
        raise _diagnose(raw) from None
    rows = frame.to_numpy()
    if rows.shape[1] != N_COLUMNS or not np.isfinite(rows).all():
        raise _diagnose(raw)
    if len(rows) < 2:
        raise SkipFile("too_few_rows", f"{len(rows)} row(s); a recording needs at least 2")
    return rows


def downsample(rows: np.ndarray, n_seconds: int, max_gap_s: int, max_duplicate_fraction: float) -> np.ndarray:
    """Mean per whole second of the 72 sensor columns, reordered by slot.

    Args:
        rows: ``[n, 92]`` parsed rows, column 0 the time in ms.
        n_seconds: keep seconds ``0 .. n_seconds-1`` at most.

    Returns:
        ``[L, 72]`` float64 with ``L <= n_seconds``.

    Raises:
        SkipFile: ``time_not_increasing``, ``duplicate_timestamps`` or ``gap``.
    """
    t = rows[:, 0]
    step = np.diff(t)
    if (step < 0).any():
        i = int(np.flatnonzero(step < 0)[0])
        raise SkipFile("time_not_increasing", f"time goes back from {t[i]:g} ms to {t[i + 1]:g} ms at row {i + 2}")
    keep = np.r_[True, step > 0]  # duplicates (real files have ~0.5 %): keep the first
    n_dup = int((~keep).sum())
    if n_dup > max_duplicate_fraction * len(t):
        raise SkipFile("duplicate_timestamps", f"{n_dup} of {len(t)} timestamps are duplicates")
    t, x = t[keep], rows[keep][:, SENSOR_COLUMNS]
    sec = np.floor(t / 1000.0).astype(np.int64)
    inside = (sec >= 0) & (sec < n_seconds)
    sec, x = sec[inside], x[inside]
    if len(sec) == 0:
        raise SkipFile("too_short", "no sample in the first seconds")
    starts = np.flatnonzero(np.r_[True, np.diff(sec) != 0])
    counts = np.diff(np.r_[starts, len(sec)])
    means = np.add.reduceat(x, starts, axis=0) / counts[:, None]
    present = sec[starts]
    length = int(present[-1]) + 1
    # Longest run of empty seconds, the leading one (before the first sample) included.
    holes = np.diff(np.r_[-1, present]) - 1
    if holes.max() > max_gap_s:
        i = int(holes.argmax())
        raise SkipFile(
            "gap", f"{int(holes[i])} s without samples before second {int(present[i])} (limit {max_gap_s} s)"
        )
    if len(present) == length:
        return means
    grid = np.arange(length)
    return np.stack([np.interp(grid, present, means[:, c]) for c in range(means.shape[1])], axis=1)


# ------------------------------------------------------------------------------------------ build
@dataclass(frozen=True)
class GasParams:
    """Everything that changes the cache's content; a change forces a rebuild."""

    T: int = 260
    window: int = 240
    step: int = 1
    rate_hz: int = 1
    max_gap_s: int = 3
    max_duplicate_fraction: float = 0.1

    def as_dict(self) -> dict:
        return {
            "format_version": FORMAT_VERSION,
            "rate_hz": self.rate_hz,
            "T": self.T,
            "window": self.window,
            "step": self.step,
            "split": {k: list(v) for k, v in SPLIT_LOCATIONS.items()},
            "downsampling": "mean per whole second after dropping duplicate timestamps",
            "max_gap_s": self.max_gap_s,
            "max_duplicate_fraction": self.max_duplicate_fraction,
            "channel_order": "column 9k+b = board b+1, sensor slot k+1",
            "normalisation": "raw stored; min/max per channel over training trials",
        }


def _fingerprint(params: dict, source_digest: str) -> str:
    blob = json.dumps({"params": params, "source_digest": source_digest}, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()


def read_fingerprint(path: str | os.PathLike) -> str | None:
    """The fingerprint of a complete cache, or None when it is missing, partial or unreadable."""
    try:
        with h5py.File(path, "r") as f:
            if not f.attrs.get("complete", False):
                return None
            return str(f.attrs["fingerprint"])
    except (OSError, KeyError):
        return None


def _create(f: h5py.File, T: int) -> None:
    f.create_dataset("series", (0, T, N_CHANNELS), maxshape=(None, T, N_CHANNELS), dtype="f4",
                     chunks=(1, T, N_CHANNELS), fillvalue=np.nan)  # fmt: skip
    for name, dtype in (("length", "i4"), ("label", "i8"), ("location", "i1"), ("ppm", "i4"),
                        ("volt", "i2"), ("fan", "i2"), ("trial", "i1"), ("trial_name", STR)):  # fmt: skip
        f.create_dataset(name, (0,), maxshape=(None,), dtype=dtype, chunks=(1024,))
    for name in ("progress/name", "progress/status"):
        f.create_dataset(name, (0,), maxshape=(None,), dtype=STR, chunks=(1024,))
    f.attrs["commit"] = json.dumps({"n_rows": 0, "n_done": 0})


def _truncate_to_commit(f: h5py.File) -> tuple[int, int]:
    """Drop anything written after the last commit (an interruption between append and commit)."""
    commit = json.loads(f.attrs["commit"])
    n_rows, n_done = commit["n_rows"], commit["n_done"]
    f["series"].resize(n_rows, axis=0)
    for name in PER_TRIAL:
        f[name].resize(n_rows, axis=0)
    for name in ("progress/name", "progress/status"):
        f[name].resize(n_done, axis=0)
    return n_rows, n_done


def _append(ds: h5py.Dataset, value) -> None:
    n = ds.shape[0]
    ds.resize(n + 1, axis=0)
    ds[n] = value


def _report_missing(names: list[TrialName], logger: logging.Logger, detail: logging.Logger) -> Counter:
    """Locations with no file, and (folder, L, volt, fan) groups with fewer than 20 trials.

    Missing locations go to ``logger``; the (long) list of incomplete groups only to ``detail``,
    which writes to the log file alone.
    """
    counts: Counter = Counter()
    seen = {(n.folder, n.location) for n in names}
    for folder in GAS_FOLDERS:
        for loc in USED_LOCATIONS:
            if (folder, loc) not in seen:
                counts["missing_location"] += 1
                logger.warning("MISSING missing_location %s/L%d: no file", folder, loc)
    groups = Counter(n.group for n in names if n.location in USED_LOCATIONS)
    for (folder, loc, volt, fan), k in sorted(groups.items()):
        if k < EXPECTED_TRIALS:
            counts["missing_trials"] += EXPECTED_TRIALS - k
            detail.info(
                "MISSING missing_trials %s/L%d volt %d fan %03d: %d of %d trials",
                folder, loc, volt, fan, k, EXPECTED_TRIALS,
            )  # fmt: skip
    return counts


def _process(source: Source, name: TrialName, params: GasParams) -> np.ndarray:
    """One file -> ``[L, 72]`` float32 at 1 Hz; raises :class:`SkipFile` when it is unusable."""
    rows = parse_rows(source.read(name.relpath))
    series = downsample(rows, params.T, params.max_gap_s, params.max_duplicate_fraction)
    if len(series) < params.window:
        raise SkipFile(
            "too_short", f"{len(series)} s at 1 Hz, a {params.window}-s window needs at least {params.window}"
        )
    markers = rows[:, BOARD_MARKER_COLUMNS]
    if not (markers == 1).all():
        log.warning("WARN %s: a board separator column is not 1; check the column layout", name.relpath)
    return series.astype(np.float32)


def _finalise(f: h5py.File, skip_counts: Counter, block: int = 16) -> None:
    """Training min/max per channel, streamed over the cache in blocks of trials."""
    loc = f["location"][:]
    lengths = f["length"][:]
    train = np.flatnonzero(np.isin(loc, SPLIT_LOCATIONS["train"]))
    if len(train) == 0:
        raise DataPrepError(f"{f.filename}: no usable training trial (L1, L3, L5); see {LOG_NAME} for skip reasons.")
    lo = np.full(N_CHANNELS, np.inf)
    hi = np.full(N_CHANNELS, -np.inf)
    for start in range(0, len(train), block):  # a fixed block size keeps memory flat
        rows = train[start : start + block]
        for row, i in zip(f["series"][rows], rows):
            valid = row[: lengths[i]]
            lo, hi = np.minimum(lo, valid.min(0)), np.maximum(hi, valid.max(0))
    f.attrs["norm_min"] = lo.astype(np.float32)
    f.attrs["norm_max"] = hi.astype(np.float32)
    f.attrs["skip_counts"] = json.dumps(dict(sorted(skip_counts.items())))
    f.attrs["complete"] = True


def build_gas_cache(
    source: str | os.PathLike,
    out_dir: str | os.PathLike,
    params: GasParams | None = None,
    force: bool = False,
) -> Path:
    """Build (or reuse, or resume) ``out_dir/gas.h5`` from the archive in ``source``.

    Args:
        source: folder with ``WTD_upload/`` or the official zip, or the zip itself.
        out_dir: where ``gas.h5``, ``gas.h5.part`` and ``gas_prep.log`` live.
        params: downsampling / length / split parameters (defaults follow the paper).
        force: rebuild even when the existing cache matches.

    Returns:
        The cache path.
    """
    params = params or GasParams()
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    final, part = out_dir / CACHE_NAME, out_dir / f"{CACHE_NAME}.part"
    src = open_source(source, out_dir)
    try:
        return _build(src, final, part, params, force)
    finally:
        src.close()


def _build(src: Source, final: Path, part: Path, params: GasParams, force: bool) -> Path:
    out_dir = final.parent
    names: list[TrialName] = []
    rejected: list[tuple[str, str]] = []
    for relpath in src.names():
        try:
            n = parse_name(relpath)
        except ValueError as error:
            reason, _, detail = str(error).partition(": ")
            rejected.append((relpath, f"{reason}\t{detail}"))
            continue
        names.append(n)
    used = [n for n in names if n.location in USED_LOCATIONS]
    digests, source_digest = src.file_digests([n.relpath for n in used])
    param_dict = params.as_dict()
    fingerprint = _fingerprint(param_dict, source_digest)

    if not force and read_fingerprint(final) == fingerprint:
        print(f"{final}: up to date (same parameters and source checksums); nothing to do.")
        return final

    resume = False
    if part.exists():
        try:
            with h5py.File(part, "r") as f:
                resume = str(f.attrs.get("fingerprint", "")) == fingerprint and not force
        except OSError:
            log.warning("%s: unreadable partial cache (hard kill?); starting over", part)
        if not resume:
            part.unlink()

    handler = logging.FileHandler(out_dir / LOG_NAME, mode="a" if resume else "w")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    log.addHandler(handler)
    if log.level == logging.NOTSET or log.level > logging.INFO:
        log.setLevel(logging.INFO)
    detail_log = logging.getLogger("data_prep.gas.detail")  # file only: one line per incomplete group
    detail_log.propagate = False
    detail_log.setLevel(logging.INFO)
    detail_log.addHandler(handler)
    try:
        counts: Counter = Counter()
        for relpath, what in rejected:
            reason, detail = what.split("\t")
            counts[reason] += 1
            log.warning("SKIP %s %s: %s", reason, relpath, detail)
        counts.update(_report_missing(names, log, detail_log))
        counts["unused_location_L6"] = sum(n.location not in USED_LOCATIONS for n in names)

        # Trial position 1..20 by timestamp within its group, counting every file of the group.
        trial_no: dict[str, int] = {}
        by_group: dict[tuple, list[TrialName]] = defaultdict(list)
        for n in names:
            by_group[n.group].append(n)
        for members in by_group.values():
            for i, n in enumerate(sorted(members, key=lambda m: m.relpath.rsplit("/", 1)[1]), 1):
                trial_no[n.relpath] = i

        with h5py.File(part, "a") as f:
            if resume:
                n_rows, n_done = _truncate_to_commit(f)
                log.info("resuming %s: %d trials written, %d files handled", part, n_rows, n_done)
            else:
                _create(f, params.T)
                f.create_dataset("sources/name", data=[n.relpath for n in used], dtype=STR)
                f.create_dataset("sources/digest", data=digests, dtype=STR)
                f.attrs["params"] = json.dumps(param_dict, sort_keys=True)
                f.attrs["source"] = json.dumps({"kind": src.kind, "path": str(src.path), "sha256": source_digest})
                f.attrs["fingerprint"] = fingerprint
                f.attrs["classes"] = json.dumps(list(CLASSES))
                f.attrs["modality_names"] = json.dumps(list(MODALITY_NAMES))
                f.attrs["complete"] = False
                n_rows, n_done = 0, 0
            done = [s.decode() if isinstance(s, bytes) else s for s in f["progress/name"][:]]
            for status in f["progress/status"][:]:
                status = status.decode() if isinstance(status, bytes) else status
                if status != "ok":
                    counts[status] += 1
            done_set = set(done)
            todo = [n for n in used if n.relpath not in done_set]
            for n in tqdm(todo, desc="gas files", unit="file"):
                try:
                    series = _process(src, n, params)
                    status = "ok"
                except SkipFile as skip:
                    status = skip.reason
                    counts[skip.reason] += 1
                    log.warning("SKIP %s %s: %s", skip.reason, n.relpath, skip.detail)
                if status == "ok":
                    ds = f["series"]
                    ds.resize(n_rows + 1, axis=0)
                    ds[n_rows, : len(series)] = series
                    for key, value in (("length", len(series)), ("label", n.label), ("location", n.location),
                                       ("ppm", n.ppm), ("volt", n.volt), ("fan", n.fan),
                                       ("trial", trial_no[n.relpath]), ("trial_name", n.relpath)):  # fmt: skip
                        _append(f[key], value)
                    n_rows += 1
                _append(f["progress/name"], n.relpath)
                _append(f["progress/status"], status)
                n_done += 1
                # One attribute write commits the file: anything after it is dropped on resume.
                f.attrs["commit"] = json.dumps({"n_rows": n_rows, "n_done": n_done})
                f.flush()
            _finalise(f, counts)
        os.replace(part, final)
        counts["written"] = n_rows
        summary = ", ".join(f"{k}: {v}" for k, v in sorted(counts.items()))
        log.info("done: %s", summary)
        print(f"{final}: {n_rows} trials written. Counts by reason: {summary}. Details in {out_dir / LOG_NAME}.")
        return final
    finally:
        log.removeHandler(handler)
        detail_log.removeHandler(handler)
        handler.close()


# ----------------------------------------------------------------------------------------- reader
def _read_split(f: h5py.File, rows: np.ndarray, block: int = 256) -> tuple[list[np.ndarray], np.ndarray]:
    lengths = f["length"][:][rows]
    parts = []
    for i in range(0, len(rows), block):
        idx = rows[i : i + block]
        data = f["series"][idx]  # h5py wants increasing indices: rows is sorted
        parts.extend(d[:n] for d, n in zip(data, lengths[i : i + block]))
    return parts, lengths


def load_gas_splits(
    cache_path: str | os.PathLike,
    window: int = 240,
    step: int = 1,
    eval_step: int | None = None,
    clip: bool = True,
) -> dict[str, WindowedSplit]:
    """Train / val / test windows from ``gas.h5``, as :class:`WindowedSplit` objects.

    Each window gives 8 modalities (sensor slots), each ``[window, 9]`` (time x board), normalised
    with the training min/max. Training windows slide by ``step`` seconds (data augmentation, as in
    the paper). Validation and test get **one window per trial**, the last ``window`` seconds (gas is
    released ~20 s in, so this window covers the whole response), unless ``eval_step`` is given, in
    which case they slide by it like training. Every split also carries ``window_trial``
    (``LongTensor[N]``, the cache row of each window) and ``trial_names``.

    Args:
        cache_path: the ``gas.h5`` written by :func:`build_gas_cache`.
        window: window length in seconds (samples at 1 Hz).
        step: training stride in seconds.
        eval_step: validation/test stride; None for one window per trial.
        clip: clip normalised val/test values into [0, 1] (train lies there by construction).

    Returns:
        ``{"train", "val", "test"}`` -> :class:`WindowedSplit`.
    """
    import torch  # imported here so that building the cache does not pay for torch

    from embracenet.data.splits import WindowedSplit, window_starts

    with h5py.File(cache_path, "r") as f:
        if not f.attrs.get("complete", False):
            raise DataPrepError(f"{cache_path}: the cache is incomplete; rerun python -m data_prep.gas.")
        lo = torch.as_tensor(f.attrs["norm_min"], dtype=torch.float32)
        hi = torch.as_tensor(f.attrs["norm_max"], dtype=torch.float32)
        scale = torch.where(hi > lo, hi - lo, torch.ones_like(hi))  # a constant channel maps to 0
        location = f["location"][:]
        labels = f["label"][:]
        all_names = f["trial_name"].asstr()[:]
        lengths_all = f["length"][:]
        names = json.loads(f.attrs["modality_names"])
        out: dict[str, WindowedSplit] = {}
        for split, locs in SPLIT_LOCATIONS.items():
            rows = np.flatnonzero(np.isin(location, locs) & (lengths_all >= window))
            parts, lengths = _read_split(f, rows)
            if parts:
                stream = torch.from_numpy(np.concatenate(parts).astype(np.float32))
            else:
                stream = torch.zeros(0, N_CHANNELS)
            stream = (stream - lo) / scale
            if clip and split != "train":
                stream = stream.clamp_(0.0, 1.0)
            lengths_t = torch.as_tensor(lengths, dtype=torch.long)
            offsets = torch.cumsum(lengths_t, 0) - lengths_t
            if split == "train" or eval_step is not None:
                starts = window_starts(lengths.tolist(), window, step if split == "train" else eval_step)
            else:
                starts = offsets + lengths_t - window
            trial_of_step = torch.repeat_interleave(torch.arange(len(rows)), lengths_t)
            labels_stream = torch.as_tensor(labels[rows], dtype=torch.long)[trial_of_step]
            ws = WindowedSplit(
                stream=stream,
                available_stream=torch.ones(len(stream), N_SLOTS, dtype=torch.bool),
                labels_stream=labels_stream,
                starts=starts.long(),
                length=window,
                channels=[list(range(k * N_BOARDS, (k + 1) * N_BOARDS)) for k in range(N_SLOTS)],
                label_at="last",
                layout="time_channels",
                modality_names=list(names),
            )
            ws.window_trial = torch.as_tensor(rows, dtype=torch.long)[trial_of_step[starts]]
            ws.trial_names = [all_names[r] for r in rows]
            out[split] = ws
    return out


# -------------------------------------------------------------------------------------------- CLI
def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--source", type=Path, help="folder with WTD_upload/ or the official zip (or the zip)")
    parser.add_argument("--out", type=Path, default=Path("data/gas"), help="output folder (default data/gas)")
    parser.add_argument("--T", type=int, default=GasParams.T, help="seconds kept per trial (default 260)")
    parser.add_argument("--window", type=int, default=GasParams.window, help="window length in s (default 240)")
    parser.add_argument("--max-gap-s", type=int, default=GasParams.max_gap_s, help="longest run of empty seconds")
    parser.add_argument("--force", action="store_true", help="rebuild even if the cache is up to date")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s", stream=sys.stderr)
    params = GasParams(T=args.T, window=args.window, max_gap_s=args.max_gap_s)
    try:
        source = args.source if args.source is not None else fetch_official(args.out)
        build_gas_cache(source, args.out, params, force=args.force)
    except DataPrepError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
