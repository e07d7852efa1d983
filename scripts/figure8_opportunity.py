"""Figure 8: weighted F1 against the missing rate of block-wise missing data, both OPPORTUNITY tasks.

    python scripts/figure8_opportunity.py outputs/opportunity --out results/opportunity/figure8

Writes ``<out>.csv`` (task, model, level = target rate, mean F1, and the achieved rate beside the
target), ``<out>.md`` and ``<out>.png``, from metrics.csv files only.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from metrics_io import write_frame, write_text  # noqa: E402
from opportunity_results import TASKS, curve, curve_sections, load_opportunity, markdown_table, plot_curves  # noqa: E402


def achieved_rates(frame: pd.DataFrame) -> pd.DataFrame:
    """Target rate -> achieved rate (the ``achieved_rate`` column the scenario writes), averaged over runs."""
    rows = frame[frame.scenario == "missing_blocks"]
    out = pd.DataFrame({"level": rows.level.values, "achieved_rate": rows.achieved_rate.astype(float).values})
    return out.groupby("level", as_index=False).agg(achieved_rate=("achieved_rate", "mean"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("root", type=Path, help="folder holding the runs' metrics.csv files")
    parser.add_argument("--out", type=Path, default=Path("results/opportunity/figure8"), help="output path without suffix")
    args = parser.parse_args(argv)
    frame = load_opportunity(args.root)
    curves = {task: curve(frame, task, "missing_blocks") for task in TASKS}
    table = pd.concat(curves.values(), ignore_index=True)
    rates = achieved_rates(frame)
    table = table.merge(rates, on="level", how="left")
    write_frame(table, args.out.with_suffix(".csv"), float_format="%.4f")
    lines = ["# Figure 8 (OPPORTUNITY): weighted F1 against the block-wise missing rate", ""]
    if not rates.empty:
        lines += ["Target and achieved missing rates (removed sensor-steps / all sensor-steps):", "",
                  markdown_table(rates.set_index("level"), "target rate", "{:.4f}"), ""]
    lines += curve_sections(curves, "missing rate", lambda x: f"{x:.0%}")
    write_text(args.out.with_suffix(".md"), "\n".join(lines) + "\n")
    plot_curves(curves, "missing rate (%)", args.out.with_suffix(".png"), "Missing block-wise data (OPPORTUNITY)", percent=True)
    print(f"wrote {args.out}.csv/.md/.png")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
