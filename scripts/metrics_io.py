"""Reading the runs' ``metrics.csv`` files: the one place tables and figures get their numbers from.

Every run of ``experiments/run.py`` writes a long-format ``metrics.csv`` (one row per variant and
condition) in its own folder. Scripts point :func:`load_metrics` at the root of a sweep (or of many)
and get one frame back:

    import sys; sys.path.insert(0, "scripts")   # not needed when running a script in scripts/
    from metrics_io import load_metrics
    frame = load_metrics("outputs/gas")          # every metrics.csv below, one DataFrame
    gas = frame[frame.dataset == "gas"]

Only pandas is needed (no Hydra), so it also works on copied result folders. :func:`write_frame`
and :func:`write_text` write results atomically (a temporary file renamed into place), so a figure
or table never exists half-written.
"""

from __future__ import annotations

from pathlib import Path

import os
import tempfile

import pandas as pd

# The columns every metrics.csv has (experiments/run.py, METRIC_COLUMNS); extra columns are kept.
REQUIRED_COLUMNS = ("dataset", "model", "variant", "scenario", "level", "subset", "seed", "weighted_f1", "error_rate", "n")
METRICS_FILE = "metrics.csv"


def metrics_files(root: str | Path) -> list[Path]:
    """Every ``metrics.csv`` under ``root`` (or ``root`` itself when it is such a file), sorted."""
    root = Path(root)
    if root.is_file():
        return [root]
    if not root.is_dir():
        raise FileNotFoundError(f"{root}: no such folder; pass the folder holding the runs (e.g. a hydra.sweep.dir)")
    return sorted(root.rglob(METRICS_FILE))


def load_metrics(root: str | Path) -> pd.DataFrame:
    """All ``metrics.csv`` files under ``root``, concatenated.

    Args:
        root: a folder searched recursively, or one ``metrics.csv``.

    Returns:
        One row per (run, variant, condition), with the columns of :data:`REQUIRED_COLUMNS`, any
        extra ones the runs wrote (``epochs``, ``train_seconds``, ...) and ``run_dir`` (the folder
        of the file, relative to ``root``, so rows can be traced back to their run).

    Raises:
        FileNotFoundError: ``root`` does not exist or holds no ``metrics.csv``.
        ValueError: a file lacks one of the required columns (the message names the file).
    """
    root = Path(root)
    files = metrics_files(root)
    if not files:
        raise FileNotFoundError(f"{root}: no {METRICS_FILE} below this folder; did the runs finish?")
    frames = []
    for path in files:
        frame = pd.read_csv(path, dtype={"subset": str, "variant": str, "model": str, "dataset": str, "scenario": str})
        missing = [c for c in REQUIRED_COLUMNS if c not in frame.columns]
        if missing:
            raise ValueError(f"{path}: missing column(s) {', '.join(missing)}; is this a metrics file of experiments/run.py?")
        base = root if root.is_dir() else root.parent
        frame["run_dir"] = path.parent.relative_to(base).as_posix() if path.parent != base else "."
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)


def write_text(path: str | Path, text: str) -> Path:
    """Write ``text`` to ``path`` atomically, creating the folder; returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def write_frame(frame: pd.DataFrame, path: str | Path, float_format: str | None = None) -> Path:
    """Write ``frame`` as CSV (no index) to ``path`` atomically; returns the path."""
    return write_text(path, frame.to_csv(index=False, float_format=float_format))


def save_figure(fig, path: str | Path, dpi: int = 120) -> Path:
    """Save a matplotlib figure to ``path`` atomically (PNG), close it, and return the path."""
    import matplotlib.pyplot as plt

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.part{path.suffix}")
    try:
        fig.savefig(tmp, dpi=dpi)
        tmp.replace(path)
    finally:
        plt.close(fig)
        tmp.unlink(missing_ok=True)
    return path
