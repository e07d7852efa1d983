"""Every run's metrics.csv under a root, in one tidy table: mean, std and a bootstrap 95% CI over seeds.

    python scripts/collect.py outputs/table1 --out results/collected/table1 [--bootstrap 1000 --seed 0]

Writes ``<out>.csv``: one row per (dataset, model, variant, scenario, level, subset, metric) with
``n_seeds``, ``seeds``, ``mean``, ``std`` (sample standard deviation over seeds, 0 with one seed),
``ci_low`` and ``ci_high`` (percentile bootstrap of the mean over seeds; equal to the mean with one
seed), and ``<out>.md``, the same numbers for reading. The bootstrap draws from a generator seeded
with ``--seed``, groups are sorted, and floats are written with a fixed format, so running it twice
gives byte-identical files. The table scripts (``table1.py``, ...) take their statistics from
:func:`summarize` here, so every table and figure is drawn from the same numbers.
"""

from __future__ import annotations

import argparse
import shlex
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from metrics_io import load_metrics, write_frame, write_text  # noqa: E402

GROUP_KEYS = ["dataset", "model", "variant", "scenario", "level", "subset"]
METRICS = ["weighted_f1", "error_rate"]
STAT_COLUMNS = ["metric", "n_seeds", "seeds", "mean", "std", "ci_low", "ci_high"]
FLOAT_FORMAT = "%.10g"
MAX_MARKDOWN_ROWS = 200  # per (dataset, scenario); OPPORTUNITY has 14319 subsets, all of them in the CSV


def bootstrap_ci(values: np.ndarray, n_boot: int, rng: np.random.Generator, level: float = 0.95) -> tuple[float, float]:
    """Percentile bootstrap interval of the mean of ``values`` (one value per seed)."""
    if len(values) == 1:
        return float(values[0]), float(values[0])
    means = values[rng.integers(0, len(values), size=(n_boot, len(values)))].mean(axis=1)
    tail = (1 - level) / 2 * 100
    low, high = np.percentile(means, [tail, 100 - tail])
    return float(low), float(high)


def summarize(
    metrics: pd.DataFrame,
    by: Sequence[str] = GROUP_KEYS,
    values: Sequence[str] = METRICS,
    n_boot: int = 1000,
    seed: int = 0,
) -> pd.DataFrame:
    """Statistics over seeds of each column in ``values``, per group of ``by``.

    Args:
        metrics: rows of metrics.csv files (:func:`metrics_io.load_metrics`), with a ``seed`` column.
        by: the columns that identify a condition; missing values (e.g. no ``level``) form a group too.
        values: the columns to summarise, each becoming rows with ``metric`` = its name.
        n_boot: bootstrap resamples; 0 skips the interval (``ci_low``/``ci_high`` are then NaN).
        seed: seeds the bootstrap generator (one generator, groups visited in sorted order).

    Returns:
        Long table: ``*by, metric, n_seeds, seeds, mean, std, ci_low, ci_high``, sorted by ``by``
        then by the order of ``values``. Rows of one group with the same seed (the same run
        collected twice) are averaged first, so each seed counts once.
    """
    by = list(by)
    rng = np.random.default_rng(seed)
    # One value per seed: duplicated runs must not weigh more than the others.
    per_seed = metrics.groupby([*by, "seed"], dropna=False, sort=True)[list(values)].mean().reset_index()
    rows = []
    for key, part in per_seed.groupby(by, dropna=False, sort=True):
        key = key if isinstance(key, tuple) else (key,)
        seeds = ",".join(str(int(s)) if float(s).is_integer() else str(s) for s in sorted(part["seed"]))
        for metric in values:
            v = part[metric].to_numpy(dtype=float)
            v = v[~np.isnan(v)]
            if len(v) == 0:
                continue
            low, high = bootstrap_ci(v, n_boot, rng) if n_boot > 0 else (np.nan, np.nan)
            std = float(v.std(ddof=1)) if len(v) > 1 else 0.0
            rows.append((*key, metric, len(v), seeds, float(v.mean()), std, low, high))
    return pd.DataFrame(rows, columns=[*by, *STAT_COLUMNS])


def _fmt(x: float) -> str:
    return "–" if pd.isna(x) else f"{x:.4f}"


def markdown(table: pd.DataFrame, command: str) -> str:
    """One section per (dataset, scenario); one line per condition with both metrics."""
    lines = ["# Results collected from metrics.csv files", "", f"Made by `{command}`.",
             "Each cell: mean ± std over seeds [bootstrap 95% interval] (n seeds).", ""]  # fmt: skip
    wide_keys = [k for k in GROUP_KEYS if k in table.columns]
    for (dataset, scenario), part in table.groupby(["dataset", "scenario"], dropna=False, sort=True):
        lines += [f"## {dataset}, {scenario}", "", "| model | variant | level | subset | weighted F1 | error rate |", "|---|---|---|---|---|---|"]
        conditions = list(part.groupby(wide_keys, dropna=False, sort=False))
        for key, cond in conditions[:MAX_MARKDOWN_ROWS]:
            cells = {}
            for r in cond.itertuples():
                cells[r.metric] = f"{_fmt(r.mean)} ± {_fmt(r.std)} [{_fmt(r.ci_low)}, {_fmt(r.ci_high)}] ({r.n_seeds})"
            d = dict(zip(wide_keys, key))
            level = "" if pd.isna(d["level"]) else d["level"]
            lines.append(f"| {d['model']} | {d['variant']} | {level} | {d['subset']} | {cells.get('weighted_f1', '–')} | {cells.get('error_rate', '–')} |")
        if len(conditions) > MAX_MARKDOWN_ROWS:
            lines.append(f"\n{len(conditions) - MAX_MARKDOWN_ROWS} more conditions in the CSV.")
        lines.append("")
    return "\n".join(lines)


def collect(root: str | Path, out: str | Path, n_boot: int = 1000, seed: int = 0, command: str = "") -> pd.DataFrame:
    """Summarise every metrics.csv under ``root`` into ``<out>.csv`` and ``<out>.md``; returns the table."""
    table = summarize(load_metrics(root), n_boot=n_boot, seed=seed)
    out = Path(out)
    write_frame(table, out.with_name(out.name + ".csv"), float_format=FLOAT_FORMAT)
    write_text(out.with_name(out.name + ".md"), markdown(table, command or f"python scripts/collect.py {root} --out {out}"))
    return table


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("root", help="folder searched recursively for metrics.csv (e.g. a hydra.sweep.dir, or outputs/)")
    parser.add_argument("--out", required=True, help="output path without extension: writes <out>.csv and <out>.md")
    parser.add_argument("--bootstrap", type=int, default=1000, help="bootstrap resamples (0: no interval)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the bootstrap generator")
    args = parser.parse_args(argv)
    command = "python scripts/collect.py " + " ".join(shlex.quote(a) for a in (argv if argv is not None else sys.argv[1:]))
    table = collect(args.root, args.out, n_boot=args.bootstrap, seed=args.seed, command=command)
    print(f"{len(table)} rows ({table[GROUP_KEYS].drop_duplicates().shape[0]} conditions) -> {args.out}.csv, {args.out}.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
