"""Table 2: original vs 80 % missing data, both OPPORTUNITY tasks and both scenarios.

    python scripts/table2_opportunity.py outputs/opportunity --reference results/reference/table2_paper.csv \
        --out results/opportunity/table2

"80 % missing" is, for block-wise missing data, the target rate 0.8; for missing modalities, the
mean F1 over the evaluated subsets of ``round(0.2 * 19) = 4`` modalities (15 of 19 sensors
absent, 79 %), the nearest whole number of sensors to 20 % (section 7.2 compares the two scenarios
at the same proportion of missing data). "Original" is all 19 modalities on the windows without
original gaps (missing modalities), or rate 0 on all test windows (block-wise). The difference is
``(original - missing) / original`` in %.

Writes ``<out>.csv`` (ours and, with ``--reference``, the paper's value beside each), ``<out>.md``
and ``<out>.png`` (the relative differences as bars), from metrics.csv files only.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from metrics_io import write_frame, write_text, save_figure  # noqa: E402
from opportunity_results import MODELS, N_MODALITIES, TASKS, curve, load_opportunity, value_at  # noqa: E402

SCENARIOS = {"mm": ("missing_modalities", "Missing modalities"), "blocks": ("missing_blocks", "Missing block-wise data")}


def difference(original: float, missing: float) -> float:
    return (original - missing) / original * 100 if original and np.isfinite(original) else float("nan")


def build_table(frame: pd.DataFrame, kept: int, rate: float) -> pd.DataFrame:
    """One row per task x model: original, missing and difference for both scenarios."""
    rows = []
    for task in TASKS:
        curves = {key: curve(frame, task, name) for key, (name, _) in SCENARIOS.items()}
        for model, variant, label in MODELS:
            row = {"task": task, "model": model, "variant": variant, "label": label}
            levels = {"mm": (N_MODALITIES, kept), "blocks": (0.0, rate)}
            for key, (full, reduced) in levels.items():
                original, missing = value_at(curves[key], model, full), value_at(curves[key], model, reduced)
                row.update({f"{key}_original": original, f"{key}_missing": missing, f"{key}_difference": difference(original, missing)})
            rows.append(row)
    return pd.DataFrame(rows)


def markdown(table: pd.DataFrame, kept: int, rate: float, has_reference: bool) -> str:
    lines = [
        "# Table 2 (OPPORTUNITY): original vs missing data",
        "",
        f"Missing modalities: all {N_MODALITIES} sensors vs {kept} sensors ({(N_MODALITIES - kept) / N_MODALITIES:.0%} absent); "
        f"block-wise: rate 0 vs target rate {rate:.0%}. Difference = relative reduction of the weighted F1."
        + (" Paper values in parentheses." if has_reference else ""),
    ]
    for task in TASKS:
        part = table[table.task == task]
        header = "| | MM original | MM missing | MM difference | Blocks original | Blocks missing | Blocks difference |"
        lines += ["", f"## {TASKS[task][1]} (weighted F1)", "", header, "|---" * 7 + "|"]
        for _, r in part.iterrows():
            cells = []
            for key in ("mm", "blocks"):
                for what, fmt in (("original", "{:.3f}"), ("missing", "{:.3f}"), ("difference", "{:.1f}%")):
                    ours = r[f"{key}_{what}"]
                    cell = "n/a" if not np.isfinite(ours) else fmt.format(ours)
                    if has_reference and np.isfinite(r.get(f"paper_{key}_{what}", np.nan)):
                        cell += f" ({fmt.format(r[f'paper_{key}_{what}'])})"
                    cells.append(cell)
            lines.append(f"| {r['label']} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def plot(table: pd.DataFrame, path: Path, has_reference: bool) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(TASKS), figsize=(12, 4.2), squeeze=False)
    for ax, task in zip(axes[0], TASKS):
        part = table[table.task == task]
        x = np.arange(len(part))
        for i, (key, (_, name)) in enumerate(SCENARIOS.items()):
            ax.bar(x + (i - 0.5) * 0.38, part[f"{key}_difference"], width=0.38, label=f"{name} (ours)")
            if has_reference:
                ax.scatter(x + (i - 0.5) * 0.38, part[f"paper_{key}_difference"], marker="_", s=200, color="k",
                           label="paper" if i == 0 else None, zorder=3)
        ax.set_xticks(x, [label.replace(" ", "\n", 1) for label in part.label], fontsize=7)
        ax.set_ylabel("relative F1 reduction (%)")
        ax.set_title(TASKS[task][1])
        ax.grid(axis="y", alpha=0.3)
    axes[0][0].legend(fontsize=8)
    fig.tight_layout()
    save_figure(fig, path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("root", type=Path, help="folder holding the runs' metrics.csv files")
    parser.add_argument("--reference", type=Path, default=None, help="the paper's Table 2 as CSV (results/reference/table2_paper.csv)")
    parser.add_argument("--out", type=Path, default=Path("results/opportunity/table2"), help="output path without suffix")
    parser.add_argument("--kept", type=int, default=round(0.2 * N_MODALITIES), help="modalities kept for 'missing modalities' (default 4)")
    parser.add_argument("--rate", type=float, default=0.8, help="block-wise target rate (default 0.8)")
    args = parser.parse_args(argv)
    table = build_table(load_opportunity(args.root), args.kept, args.rate)
    has_reference = args.reference is not None
    if has_reference:
        if not args.reference.is_file():
            parser.error(f"--reference {args.reference}: no such file")
        paper = pd.read_csv(args.reference)
        paper = paper.rename(columns={c: f"paper_{c}" for c in paper.columns if c not in ("task", "model")})
        table = table.merge(paper, on=["task", "model"], how="left")
    write_frame(table, args.out.with_suffix(".csv"), float_format="%.4f")
    write_text(args.out.with_suffix(".md"), markdown(table, args.kept, args.rate, has_reference))
    plot(table, args.out.with_suffix(".png"), has_reference)
    print(f"wrote {args.out}.csv/.md/.png")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
