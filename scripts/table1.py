"""Table 1 of the paper from the metrics.csv files of real runs.

    python scripts/table1.py outputs/table1 --reference results/reference/table1_paper.csv --out results/table1

Writes ``<out>.csv`` (one row per dataset x model row x condition: mean and standard deviation of
the error rate in % over seeds, with the paper's value when a reference is given), ``<out>.md``
and ``<out>.png``. Reads nothing but the metrics files and the reference.
"""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from collect import summarize  # noqa: E402
from metrics_io import load_metrics, write_frame, write_text, save_figure  # noqa: E402

ROWS = {  # (model, variant) -> row key, in the paper's order
    ("intermediate", "baseline"): "intermediate",
    ("embracenet", "baseline"): "baseline",
    ("embracenet", "adj_pre"): "adj_pre",
    ("embracenet", "adj_post"): "adj_post",
    ("embracenet", "adj_both"): "adj_both",
}
ROW_NAMES = {
    "intermediate": "Intermediate integration",
    "baseline": "EmbraceNet (baseline)",
    "adj_pre": "EmbraceNet (+Adj. pre)",
    "adj_post": "EmbraceNet (+Adj. post)",
    "adj_both": "EmbraceNet (+Adj. both)",
}
COLUMNS = {"left+right": "All", "left": "Left only", "right": "Right only"}
DATASET_NAMES = {"mnist": "Bimodal MNIST", "fashion": "Bimodal Fashion-MNIST", "digits": "Bimodal 8x8 digits"}


def build_table(metrics: pd.DataFrame, reference: pd.DataFrame | None) -> pd.DataFrame:
    """Long table: dataset, row, column, error_mean, error_std, n_seeds, seeds, paper."""
    frame = metrics[metrics["scenario"] == "missing_modalities"].copy()
    frame["row"] = [ROWS.get((m, v)) for m, v in zip(frame["model"], frame["variant"])]
    frame["column"] = frame["subset"].map(COLUMNS)
    frame = frame.dropna(subset=["row", "column"])
    if frame.empty:
        raise ValueError("no Table 1 rows found: expected missing_modalities runs of intermediate / embracenet on left/right halves")
    frame["error_pct"] = frame["error_rate"] * 100
    # The same statistics over seeds as scripts/collect.py (no interval here: the paper gives none).
    stats = summarize(frame, by=["dataset", "row", "column"], values=["error_pct"], n_boot=0)
    table = stats.rename(columns={"mean": "error_mean", "std": "error_std"})
    table = table[["dataset", "row", "column", "error_mean", "error_std", "n_seeds", "seeds"]]
    if reference is not None:
        ref = reference.melt(id_vars=["dataset", "row"], var_name="column", value_name="paper")
        table = table.merge(ref, on=["dataset", "row", "column"], how="left")
    order = {k: i for i, k in enumerate(ROW_NAMES)}
    col_order = {c: i for i, c in enumerate(COLUMNS.values())}
    # The paper's order: MNIST before Fashion-MNIST, rows and columns as printed in Table 1.
    keys = {"dataset": {d: i for i, d in enumerate(DATASET_NAMES)}, "row": order, "column": col_order}
    table = table.sort_values(["dataset", "row", "column"], key=lambda s: s.map(lambda v: keys[s.name].get(v, len(keys[s.name]))))
    return table.reset_index(drop=True)


def run_facts(metrics: pd.DataFrame) -> pd.DataFrame:
    """Per trained run: dataset, model, variant, seed, epochs, best epoch, training seconds."""
    cols = [c for c in ("dataset", "model", "variant", "seed", "epochs", "best_epoch", "train_seconds") if c in metrics.columns]
    trained = metrics["model"].isin(["intermediate", "embracenet"]) & metrics["variant"].isin(["baseline", "adj_pre"])
    facts = metrics[trained][cols + ["run_dir"]].drop_duplicates("run_dir")
    return facts.drop(columns="run_dir").sort_values(["dataset", "model", "variant", "seed"]).reset_index(drop=True)


def cell(row) -> str:
    """One table cell from a row of :func:`build_table` (a named tuple)."""
    text = f"{row.error_mean:.2f}" if row.n_seeds == 1 else f"{row.error_mean:.2f} ± {row.error_std:.2f}"
    paper = getattr(row, "paper", None)
    if paper is not None and pd.notna(paper):
        text += f" ({paper:.2f})"
    return text


def markdown(table: pd.DataFrame, facts: pd.DataFrame, command: str, has_reference: bool) -> str:
    lines = ["# Table 1: error rates (%) on the bimodal image datasets", ""]
    lines.append(f"Made by `{command}` from the metrics.csv files of the runs it names.")
    if has_reference:
        lines.append("Each cell: ours (the paper's value in parentheses). With several seeds: mean ± standard deviation.")
    lines.append("")
    for dataset, part in table.groupby("dataset", sort=False):
        lines += [f"## {DATASET_NAMES.get(dataset, dataset)}", "", "| | " + " | ".join(COLUMNS.values()) + " |", "|---|" + "---|" * len(COLUMNS)]
        for row_key, row_part in part.groupby("row", sort=False):
            cells = {r.column: cell(r) for r in row_part.itertuples()}
            lines.append(f"| {ROW_NAMES[row_key]} | " + " | ".join(cells.get(c, "–") for c in COLUMNS.values()) + " |")
        lines.append("")
    if not facts.empty:
        lines += ["## Runs", "", "| " + " | ".join(facts.columns) + " |", "|" + "---|" * len(facts.columns)]
        for r in facts.itertuples(index=False):
            lines.append("| " + " | ".join(str(v) for v in r) + " |")
        if "train_seconds" in facts.columns:
            lines += ["", f"Total training time: {facts['train_seconds'].sum() / 60:.1f} min (sum over runs; runs may overlap in wall time)."]
        lines.append("")
    return "\n".join(lines)


def figure(table: pd.DataFrame, path: Path) -> None:
    datasets = list(dict.fromkeys(table["dataset"]))
    fig, axes = plt.subplots(1, len(datasets), figsize=(6 * len(datasets), 4), squeeze=False)
    rows = [r for r in ROW_NAMES if r in set(table["row"])]
    width = 0.8 / len(rows)
    for ax, dataset in zip(axes[0], datasets):
        part = table[table["dataset"] == dataset]
        for i, row_key in enumerate(rows):
            sub = part[part["row"] == row_key].set_index("column").reindex(list(COLUMNS.values()))
            x = [j + (i - (len(rows) - 1) / 2) * width for j in range(len(COLUMNS))]
            ax.bar(x, sub["error_mean"], width, yerr=sub["error_std"], label=ROW_NAMES[row_key])
            if "paper" in sub:
                ax.scatter(x, sub["paper"], marker="_", color="black", s=120, zorder=3, label="paper" if i == 0 else None)
        ax.set_xticks(range(len(COLUMNS)), list(COLUMNS.values()))
        ax.set_ylabel("error rate (%)")
        ax.set_title(DATASET_NAMES.get(dataset, dataset))
    axes[0][0].legend(fontsize=8)
    fig.tight_layout()
    save_figure(fig, path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("root", help="folder searched recursively for metrics.csv")
    parser.add_argument("--reference", default=None, help="CSV of the paper's values (results/reference/table1_paper.csv)")
    parser.add_argument("--out", required=True, help="output path without extension, e.g. results/table1")
    args = parser.parse_args(argv)
    metrics = load_metrics(args.root)
    reference = pd.read_csv(args.reference) if args.reference else None
    table = build_table(metrics, reference)
    out = Path(args.out)
    command = "python scripts/table1.py " + " ".join(shlex.quote(a) for a in (argv if argv is not None else sys.argv[1:]))
    write_frame(table, out.with_suffix(".csv"))
    text = markdown(table, run_facts(metrics), command, reference is not None)
    write_text(out.with_suffix(".md"), text)
    figure(table, out.with_suffix(".png"))
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
