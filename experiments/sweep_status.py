"""Which jobs of a sweep finished, failed or never finished, read from their output folders.

    python -m experiments.sweep_status outputs/table1      # or: python scripts/sweep_status.py ROOT

A job folder is finished when it holds ``metrics.csv`` (written last, atomically), failed when it
holds ``FAILED`` (the traceback, written by :class:`experiments.callbacks.JobStatusCallback`), and
unfinished otherwise (still running, killed, or out of time: re-running the sweep resumes it from
its ``checkpoint.pt``). Only the standard library is used, so it works on copied folders too.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path

FAILED_FILE = "FAILED"
METRICS_FILE = "metrics.csv"
# Folders of the tools, not of jobs (wandb's run folders hold a config.yaml of their own).
_SKIP = {".hydra", ".submitit", "wandb"}


@dataclass(frozen=True)
class JobState:
    path: Path
    state: str  # "finished" | "failed" | "unfinished"
    detail: str = ""  # failed: the exception's last line; unfinished: whether a checkpoint exists


def job_dirs(root: str | Path) -> list[Path]:
    """Every job output folder under ``root`` (``root`` itself included), sorted.

    A job folder holds ``.hydra/overrides.yaml`` (written by Hydra before the job starts), or one of
    the runner's files; Hydra's, submitit's and wandb's own folders are skipped.
    """
    root = Path(root)
    found = {p.parent.parent for p in root.rglob("overrides.yaml") if p.parent.name == ".hydra"}
    for name in (METRICS_FILE, FAILED_FILE, "config.yaml"):
        found |= {p.parent for p in root.rglob(name) if not _SKIP.intersection(p.relative_to(root).parts)}
    return sorted(found)


def job_state(path: Path) -> JobState:
    if (path / METRICS_FILE).exists():
        return JobState(path, "finished")
    if (path / FAILED_FILE).exists():
        lines = [line for line in (path / FAILED_FILE).read_text(encoding="utf-8").splitlines() if line.strip()]
        return JobState(path, "failed", lines[-1] if lines else "")
    detail = "checkpoint.pt present" if (path / "checkpoint.pt").exists() else "no checkpoint"
    return JobState(path, "unfinished", detail)


def sweep_status(root: str | Path) -> list[JobState]:
    """The state of every job folder under ``root``."""
    return [job_state(p) for p in job_dirs(root)]


def format_status(states: list[JobState], root: str | Path) -> str:
    """A short report: counts, then one line per job that did not finish."""
    root = Path(root)
    counts = {s: sum(j.state == s for j in states) for s in ("finished", "failed", "unfinished")}
    lines = [f"sweep {root}: {len(states)} jobs, " + ", ".join(f"{n} {s}" for s, n in counts.items())]
    for job in states:
        if job.state != "finished":
            rel = job.path.relative_to(root).as_posix() if job.path != root else "."
            lines.append(f"  {job.state.upper():10s} {rel}: {job.detail}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("root", help="a sweep folder (hydra.sweep.dir) or any folder holding runs")
    args = parser.parse_args(argv)
    if not Path(args.root).is_dir():
        parser.error(f"{args.root}: no such folder")
    states = sweep_status(args.root)
    print(format_status(states, args.root))
    # Exit status for scripts: 0 all finished, 1 some failed, 2 some unfinished (and none failed).
    if any(j.state == "failed" for j in states):
        return 1
    return 2 if any(j.state == "unfinished" for j in states) else 0


if __name__ == "__main__":
    sys.exit(main())
