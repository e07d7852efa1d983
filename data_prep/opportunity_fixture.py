"""A small OPPORTUNITY tree in exactly the official format, for tests.

``write_opportunity_fixture(root)`` writes ``root/OpportunityUCIDataset/dataset/S<n>-ADL<i>.dat`` and
``S<n>-Drill.dat`` (250 space-separated columns: time in ms restarting at 0 in every file, integer
sensor values, literal ``NaN`` runs, the 7 label columns with real codes from ``label_legend.txt``),
the dataset's ``column_names.txt`` and ``label_legend.txt``, and ``root/checksums.json`` in the same
format as ``data_prep/opportunity_reference/checksums.json``. CLI: ``python -m data_prep.opportunity_fixture OUT``.

Known gaps the tests rely on (rows are 0b, end exclusive), in every file:

* sensor ``Acc-RKN^`` (raw 0b columns 1-3): NaN at rows ``[0, 4)``, a leading gap;
* sensor ``Acc-HIP`` (raw 0b columns 4-6): NaN at rows ``[10, 20)``;
* ``Acc-BACK`` accY only (raw 0b column 17): NaN at rows ``[30, 33)``, a one-channel gap;
* in ``S2-ADL4``, sensor ``Acc-LWR`` (raw 0b columns 31-33) is NaN for the whole session;
* channel 112 (R-SHOE Compass, raw 0b column 133) is the constant 7 everywhere.

Test sessions (ADL4, ADL5) are recorded with a 3x larger spread than the others, so their values
exceed the training range and must be clipped.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from data_prep.files import atomic_write
from data_prep.opportunity import (
    GESTURE_COL,
    LOCOMOTION_COL,
    N_COLUMNS,
    REFERENCE_DIR,
    TIME_COL,
    load_layout,
    read_label_legend,
)

LEADING_GAP = ((1, 2, 3), (0, 4))
HIP_GAP = ((4, 5, 6), (10, 20))
ONE_CHANNEL_GAP = ((17,), (30, 33))
DEAD_SENSOR = ("S2-ADL4", (31, 32, 33))
CONSTANT_RAW_COLUMN = 133
CONSTANT_VALUE = 7
MIN_ROWS = 40  # the fixed gaps above need this many rows


@dataclass(frozen=True)
class OpportunityFixture:
    """Where the fixture lies: pass ``root`` as ``--source`` and ``checksums`` as ``--expected-checksums``."""

    root: Path
    dataset_dir: Path
    checksums: Path
    sessions: tuple[str, ...]


def fixture_sessions(subjects: Sequence[int] = (1, 2, 3)) -> list[str]:
    """The session names of the given subjects: ADL1-5 and Drill each."""
    return [f"S{s}-{r}" for s in subjects for r in ("ADL1", "ADL2", "ADL3", "ADL4", "ADL5", "Drill")]


def _segments(rng: np.random.Generator, n: int, codes: Sequence[int], p_null: float, lengths: tuple[int, int]) -> np.ndarray:
    """A label track of ``n`` rows made of constant segments; Null (0) with probability ``p_null``."""
    out = np.zeros(n, dtype=np.int64)
    t, last = 0, -1
    while t < n:
        length = int(rng.integers(*lengths))
        code = 0 if rng.random() < p_null else int(rng.choice(codes))
        if code == last:  # keep consecutive segments distinct so every boundary is a real change
            code = 0 if code != 0 else int(rng.choice(codes))
        out[t : t + length] = code
        t, last = t + length, code
    return out


def _session_table(session: str, n: int, rng: np.random.Generator, legend: list[tuple[int, str, str]]) -> np.ndarray:
    """``[n, 250]`` float64 with integer values, NaN gaps and labels."""
    table = np.empty((n, N_COLUMNS))
    table[:, TIME_COL] = np.round(np.arange(n) * 1000.0 / 30.0)
    spread = 3.0 if session.endswith(("ADL4", "ADL5")) else 1.0
    centre = rng.integers(-2000, 2000, size=LOCOMOTION_COL - 1)
    steps = rng.normal(0.0, 40.0 * spread, size=(n, LOCOMOTION_COL - 1))
    table[:, 1:LOCOMOTION_COL] = np.round(centre + np.cumsum(steps, axis=0) + rng.normal(0, 100 * spread, size=(n, 1)))
    table[:, CONSTANT_RAW_COLUMN] = CONSTANT_VALUE
    # The recordings' own gaps: fixed ones the tests check, and random runs elsewhere (objects,
    # ambient sensors, other body accelerometers) so the file looks like the real thing.
    for cols, (a, b) in (LEADING_GAP, HIP_GAP, ONE_CHANNEL_GAP):
        table[a:b, list(cols)] = np.nan
    if session == DEAD_SENSOR[0]:
        table[:, list(DEAD_SENSOR[1])] = np.nan
    for _ in range(6):
        first = int(rng.choice([7, 10, 13, 19, 22, 25, 28, 134, 180, 200]))  # 0b first column of a 3-axis sensor
        a = int(rng.integers(MIN_ROWS, max(MIN_ROWS + 1, n - 10)))
        table[a : a + int(rng.integers(2, 12)), first : first + 3] = np.nan

    by_track: dict[str, list[int]] = {}
    for code, track, _ in legend:
        by_track.setdefault(track, []).append(code)
    locomotion = _segments(rng, n, by_track["Locomotion"], 0.2, (8, 40))
    gestures = _segments(rng, n, by_track["ML_Both_Arms"], 0.5, (6, 30))
    table[:, LOCOMOTION_COL] = locomotion
    table[:, LOCOMOTION_COL + 1] = _segments(rng, n, by_track["HL_Activity"], 0.3, (40, 120))  # HL_Activity
    table[:, LOCOMOTION_COL + 2] = 0  # LL_Left_Arm
    table[:, LOCOMOTION_COL + 3] = 0  # LL_Left_Arm_Object
    # An ML code is 1000 * right-arm verb + right-arm object, so the LL columns agree with it.
    table[:, LOCOMOTION_COL + 4] = gestures // 1000
    table[:, LOCOMOTION_COL + 5] = gestures % 1000
    table[:, GESTURE_COL] = gestures
    return table


def _format(table: np.ndarray) -> bytes:
    """Rows as the official files write them: integers or ``NaN``, single spaces, LF endings."""
    lines = []
    for row in table:
        lines.append(" ".join("NaN" if np.isnan(v) else str(int(v)) for v in row))
    return ("\n".join(lines) + "\n").encode("ascii")


def write_opportunity_fixture(
    root: str | os.PathLike,
    n_rows: int = 120,
    seed: int = 0,
    subjects: Sequence[int] = (1, 2, 3),
    sessions: Sequence[str] | None = None,
) -> OpportunityFixture:
    """Write a small OPPORTUNITY tree under ``root`` and its checksum file.

    Args:
        root: output folder; gets ``OpportunityUCIDataset/dataset/`` and ``checksums.json``.
        n_rows: rows of the first session; session i has ``n_rows + 3 i`` rows so lengths differ.
        seed: random seed (values, labels, extra gaps).
        subjects: subjects to write (all six sessions each); 1-3 are what the split needs.
        sessions: explicit session names instead of ``subjects``.

    Returns:
        The paths to pass to :func:`data_prep.opportunity.prepare_opportunity`.
    """
    if n_rows < MIN_ROWS:
        raise ValueError(f"n_rows must be at least {MIN_ROWS} so the fixed gaps fit, got {n_rows}")
    root = Path(root)
    dataset_dir = root / "OpportunityUCIDataset" / "dataset"
    dataset_dir.mkdir(parents=True, exist_ok=True)
    legend = read_label_legend(REFERENCE_DIR / "label_legend.txt")
    load_layout()  # fail early if the reference files are broken
    names = list(sessions) if sessions is not None else fixture_sessions(subjects)
    rng = np.random.default_rng(seed)
    checksums = {}
    for i, session in enumerate(names):
        payload = _format(_session_table(session, n_rows + 3 * i, rng, legend))
        with atomic_write(dataset_dir / f"{session}.dat") as handle:
            handle.write(payload)
        checksums[f"{session}.dat"] = {"size": len(payload), "sha256": hashlib.sha256(payload).hexdigest()}
    for name in ("column_names.txt", "label_legend.txt"):
        with atomic_write(dataset_dir / name) as handle:
            handle.write((REFERENCE_DIR / name).read_bytes())
    doc = {"description": f"synthetic OPPORTUNITY fixture (seed {seed}), not the real data", "algorithm": "sha256", "files": checksums}
    checksum_path = root / "checksums.json"
    with atomic_write(checksum_path, "w") as handle:
        json.dump(doc, handle, indent=1)
    return OpportunityFixture(root=root, dataset_dir=dataset_dir, checksums=checksum_path, sessions=tuple(names))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Write a small OPPORTUNITY fixture in the official format.")
    parser.add_argument("out", type=Path, help="output folder")
    parser.add_argument("--rows", type=int, default=120, help="rows per session (about)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--subjects", type=int, nargs="+", default=[1, 2, 3])
    args = parser.parse_args(argv)
    fixture = write_opportunity_fixture(args.out, n_rows=args.rows, seed=args.seed, subjects=args.subjects)
    print(f"{fixture.dataset_dir} ({len(fixture.sessions)} sessions); checksums: {fixture.checksums}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
