"""A small look-alike of the UCI 251 gas archive, in exactly its layout and row format.

``write_gas_fixture(root)`` writes ``root/WTD_upload/<Gas>_<ppm>/L<k>/<file>`` with names following
FORMATS.md B2 and rows following B3: 92 TAB-separated numeric fields plus a trailing TAB, LF line
endings, no header, time in ms, board separator columns equal to 1, integer kOhm sensor readings.

Differences from the real archive, to keep tests fast: the sample rate is ~2 Hz (500 ms +- 200 ms
of jitter, so every whole second still holds a sample) instead of ~80-100 Hz, and there are only
``n_trials_per_location`` trials per gas folder and location. Timestamps are irregular and ~1 % of
them are duplicates, as in the real files. The sensor response is synthetic: a per-(gas, slot)
drop of resistance after the gas is released at ~20 s, weaker far from the source and off-centre.

Defects (``defects=True``), each an extra file in a training location, so that every loader check
has a file to catch: a malformed row, a non-numeric value, an empty file, a one-row file, a file too
short for a 240-s window, timestamps going back, a 10-s gap, and a file with an unknown name. One
gas folder (``CO_4000``) has no ``L4`` folder at all.

CLI: ``python -m data_prep.gas_fixture OUT [--trials N] [--zip]``.
"""

from __future__ import annotations

import argparse
import io
import os
import zipfile
from pathlib import Path

import numpy as np

from data_prep.gas import GAS_FOLDERS, ROOT_NAME

VOLTS = (400, 450, 500, 550, 600)
FANS = (0, 60, 100)
FAN_RPM = {0: 1575, 60: 3900, 100: 5500}
MISSING_LOCATION = ("CO_4000", 4)
ROW_FORMAT = ["%d"] * 9 + ["%.2f", "%.2f"] + (["%d"] + ["%d"] * 8) * 9

# reason the loader must give -> (folder, location) of the defective file
DEFECTS = {
    "bad_columns": ("Acetone_2500", 1),
    "non_numeric": ("Benzene_200", 3),
    "empty": ("Butanol_100", 5),
    "too_few_rows": ("Ethylene_500", 1),
    "too_short": ("Methane_1000", 3),
    "time_not_increasing": ("Methanol_200", 5),
    "gap": ("Toluene_200", 1),
    "unknown_name": ("Ammonia_10000", 3),
}


def file_name(folder: str, location: int, volt: int, fan: int, stamp: str) -> str:
    """The official name: ``<ts>_board_setPoint_<V>V_fan_setPoint_<fan>_mfc_setPoint_<Gas>_<ppm>ppm_p<2k-1>``."""
    gas, ppm = folder.split("_")
    return f"{stamp}_board_setPoint_{volt:03d}V_fan_setPoint_{fan:03d}_mfc_setPoint_{gas}_{ppm}ppm_p{2 * location - 1}"


def _timestamp(rng: np.random.Generator, counter: int) -> str:
    # Unique, realistic YYYYMMDDhhmm: minutes after 2010-12-10 00:00, spaced by recording length.
    minute = counter * 7 + int(rng.integers(0, 3))
    day, rest = divmod(minute, 24 * 60)
    month, day = divmod(day, 28)
    return f"2011{1 + month % 12:02d}{1 + day:02d}{rest // 60:02d}{rest % 60:02d}"


def make_rows(
    rng: np.random.Generator,
    folder: str,
    location: int,
    fan: int,
    duration_s: float,
    rate_hz: float = 2.0,
    duplicate_fraction: float = 0.01,
) -> np.ndarray:
    """Rows ``[n, 92]`` of one synthetic recording (time in ms in column 0)."""
    period = 1000.0 / rate_hz
    n = int(duration_s * 1000 / period) + 1
    steps = np.r_[0.0, period + rng.uniform(-0.4, 0.4, n - 1) * period]
    t = np.round(np.cumsum(steps))
    dup = rng.random(n) < duplicate_fraction
    dup[0] = False
    t[dup] = t[np.flatnonzero(dup) - 1]  # repeat the previous time stamp, as the real logger does
    t = np.maximum.accumulate(t)
    rows = np.zeros((n, 92))
    rows[:, 0] = t
    rows[:, 1] = fan
    rows[:, 2] = FAN_RPM[fan] + rng.integers(-5, 6, n)
    released = t >= 20_000
    rows[:, 3:6] = np.where(released, 100, 0)[:, None]
    rows[:, 6:9] = np.where(released[:, None], 100 + rng.integers(0, 6, (n, 3)), 0)
    rows[:, 9] = 25.0 + rng.normal(0, 0.05, n).cumsum() / 20
    rows[:, 10] = 40.0 + rng.normal(0, 0.05, n).cumsum() / 20
    # Synthetic response: class- and slot-dependent resistance drop after release.
    cls = GAS_FOLDERS.index(folder)
    slot_gain = np.random.default_rng(1000 + cls).uniform(0.1, 0.6, 8)
    board_gain = np.exp(-0.5 * ((np.arange(9) - 4) / 2.5) ** 2) / (1 + 0.3 * location)
    tau = np.clip((t - 20_000) / 30_000, 0, None)
    response = 1 - np.exp(-tau)
    for b in range(9):
        rows[:, 11 + 9 * b] = 1
        base = rng.uniform(250, 1100, 8)
        drop = slot_gain[None, :] * board_gain[b] * response[:, None]
        rows[:, 12 + 9 * b : 20 + 9 * b] = np.round(base * (1 - drop) + rng.normal(0, 2, (n, 8)))
    return rows


def format_rows(rows: np.ndarray) -> bytes:
    """The official text form: fields joined by TAB, a trailing TAB, LF line endings."""
    buf = io.BytesIO()
    np.savetxt(buf, rows, fmt=ROW_FORMAT, delimiter="\t", newline="\t\n")
    return buf.getvalue()


def write_gas_fixture(
    root: str | os.PathLike,
    n_trials_per_location: int = 1,
    seed: int = 0,
    duration_s: tuple[float, float] = (245.0, 268.0),
    rate_hz: float = 2.0,
    locations: tuple[int, ...] = (1, 2, 3, 4, 5, 6),
    defects: bool = True,
    make_zip: bool = False,
) -> dict[str, str]:
    """Write the fixture archive under ``root``.

    Args:
        root: folder that receives ``WTD_upload/`` (and ``WTD_upload.zip`` with ``make_zip``).
        n_trials_per_location: good trials per gas folder and location.
        seed: seed of every random draw (same seed, same bytes).
        duration_s: range of recording lengths; the upper end exceeds 260 s to exercise cutting.
        rate_hz: mean sample rate.
        locations: which L folders to write.
        defects: add the defective files listed in :data:`DEFECTS` and drop ``CO_4000/L4``.
        make_zip: also write ``root/WTD_upload.zip`` holding the same tree.

    Returns:
        ``{relpath: expected skip reason}`` of the defective files (relative to ``WTD_upload/``).
    """
    root = Path(root)
    base = root / ROOT_NAME
    rng = np.random.default_rng(seed)
    counter = 0
    expected: dict[str, str] = {}
    for folder in GAS_FOLDERS:
        for loc in locations:
            if defects and (folder, loc) == MISSING_LOCATION:
                continue
            loc_dir = base / folder / f"L{loc}"
            loc_dir.mkdir(parents=True, exist_ok=True)
            for _ in range(n_trials_per_location):
                counter += 1
                volt, fan = VOLTS[counter % len(VOLTS)], FANS[counter % len(FANS)]
                name = file_name(folder, loc, volt, fan, _timestamp(rng, counter))
                rows = make_rows(rng, folder, loc, fan, rng.uniform(*duration_s), rate_hz)
                (loc_dir / name).write_bytes(format_rows(rows))
    if defects:
        for reason, (folder, loc) in DEFECTS.items():
            counter += 1
            loc_dir = base / folder / f"L{loc}"
            loc_dir.mkdir(parents=True, exist_ok=True)
            name = file_name(folder, loc, 500, 60, _timestamp(rng, counter))
            rows = make_rows(rng, folder, loc, 60, 250.0, rate_hz)
            text = format_rows(rows)
            if reason == "bad_columns":
                lines = text.split(b"\n")
                lines[40] = lines[40].rsplit(b"\t", 3)[0] + b"\t"  # row 41 loses two fields
                text = b"\n".join(lines)
            elif reason == "non_numeric":
                lines = text.split(b"\n")
                fields = lines[17].split(b"\t")
                fields[30] = b"abc"
                lines[17] = b"\t".join(fields)
                text = b"\n".join(lines)
            elif reason == "empty":
                text = b""
            elif reason == "too_few_rows":
                text = format_rows(rows[:1])
            elif reason == "too_short":
                text = format_rows(rows[rows[:, 0] < 100_000])
            elif reason == "time_not_increasing":
                rows[200:, 0] -= 5_000
                text = format_rows(rows)
            elif reason == "gap":
                text = format_rows(rows[(rows[:, 0] < 100_000) | (rows[:, 0] >= 110_000)])
            elif reason == "unknown_name":
                name = f"notes_{folder}_L{loc}.txt"
            (loc_dir / name).write_bytes(text)
            expected[f"{folder}/L{loc}/{name}"] = reason
    if make_zip:
        write_zip(root)
    return expected


def write_zip(root: str | os.PathLike, name: str = "WTD_upload.zip") -> Path:
    """Zip ``root/WTD_upload`` into ``root/<name>`` with members ``WTD_upload/...``."""
    root = Path(root)
    dest = root / name
    with zipfile.ZipFile(dest, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for path in sorted((root / ROOT_NAME).rglob("*")):
            zf.write(path, path.relative_to(root).as_posix())
    return dest


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Write a small look-alike of the UCI 251 gas archive.")
    parser.add_argument("out", type=Path, help="folder that receives WTD_upload/")
    parser.add_argument("--trials", type=int, default=1, help="good trials per gas folder and location")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-defects", action="store_true", help="write only good files")
    parser.add_argument("--zip", action="store_true", help="also write WTD_upload.zip")
    args = parser.parse_args(argv)
    bad = write_gas_fixture(args.out, args.trials, args.seed, defects=not args.no_defects, make_zip=args.zip)
    print(f"wrote {args.out / ROOT_NAME} ({len(bad)} defective files)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
