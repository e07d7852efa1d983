"""Figure 6: weighted F1 against the number of available modalities, both OPPORTUNITY tasks.

    python scripts/figure6_opportunity.py outputs/opportunity --out results/opportunity/figure6

Writes ``<out>.csv`` (task, model, level = number of modalities, mean F1, seeds, subsets per level),
``<out>.md`` and ``<out>.png`` (panel a: locomotion, b: gestures), from metrics.csv files only.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from metrics_io import write_frame, write_text  # noqa: E402
from opportunity_results import TASKS, curve, curve_sections, load_opportunity, plot_curves  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("root", type=Path, help="folder holding the runs' metrics.csv files")
    parser.add_argument("--out", type=Path, default=Path("results/opportunity/figure6"), help="output path without suffix")
    args = parser.parse_args(argv)
    frame = load_opportunity(args.root)
    curves = {task: curve(frame, task, "missing_modalities") for task in TASKS}
    table = pd.concat(curves.values(), ignore_index=True)
    table["level"] = table.level.astype(int)
    write_frame(table, args.out.with_suffix(".csv"), float_format="%.4f")
    lines = ["# Figure 6 (OPPORTUNITY): weighted F1 against the number of modalities", ""]
    lines += curve_sections(curves, "modalities", int)
    write_text(args.out.with_suffix(".md"), "\n".join(lines) + "\n")
    plot_curves(curves, "number of modalities", args.out.with_suffix(".png"), "Missing modalities (OPPORTUNITY)")
    print(f"wrote {args.out}.csv/.md/.png")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
