"""Figure 5: weighted F1 of the six models against the number of available modalities (gas).

    python scripts/figure5_gas.py outputs/gas --out results/gas

Reads every ``metrics.csv`` under ROOT (the ``missing_modalities`` scenario of ``experiment=gas``),
averages the weighted F1 over the subsets of each size, then over seeds, and writes
``figure5_gas.png`` and ``figure5_gas.csv`` (every model and variant found, the plotted ones
marked). EmbraceNet is drawn in its most adjusted variant present (``adj_both`` = Adj. pre + Adj.
post, as in section 6.3.6); ``--variant MODEL=VARIANT`` chooses another.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from metrics_io import load_metrics, write_frame, save_figure  # noqa: E402

MODELS = {  # config name -> label, in the paper's legend order
    "early": "Early integration",
    "late": "Late integration",
    "intermediate": "Intermediate integration",
    "compact_pooling": "Compact multi-linear pooling",
    "autoencoder": "Multimodal autoencoder",
    "embracenet": "EmbraceNet",
}
MARKERS = {"early": "o", "late": "s", "intermediate": "^", "compact_pooling": "v", "autoencoder": "D", "embracenet": "*"}
# When a model was evaluated in several variants, the first of these present is plotted.
PREFERRED_VARIANTS = ("adj_both", "adj_post", "adj_pre", "baseline")


def level_scores(frame: pd.DataFrame) -> pd.DataFrame:
    """Mean weighted F1 per (model, variant, level): over subsets within a seed, then over seeds.

    Returns:
        Columns ``model, variant, level, weighted_f1, std_over_seeds, n_seeds, n_subsets``.
    """
    per_seed = frame.groupby(["model", "variant", "level", "seed"], as_index=False).agg(
        weighted_f1=("weighted_f1", "mean"), n_subsets=("subset", "nunique")
    )
    out = per_seed.groupby(["model", "variant", "level"], as_index=False).agg(
        weighted_f1=("weighted_f1", "mean"),
        std_over_seeds=("weighted_f1", "std"),
        n_seeds=("seed", "nunique"),
        n_subsets=("n_subsets", "max"),
    )
    out["std_over_seeds"] = out["std_over_seeds"].fillna(0.0)
    return out


def choose_variants(scores: pd.DataFrame, chosen: dict[str, str]) -> dict[str, str]:
    """The variant drawn for each model: ``chosen`` first, else the first of PREFERRED_VARIANTS."""
    out = {}
    for model, group in scores.groupby("model"):
        present = sorted(group["variant"].unique())
        if model in chosen:
            if chosen[model] not in present:
                raise SystemExit(f"--variant {model}={chosen[model]}: not in the metrics; {model} has {', '.join(present)}")
            out[model] = chosen[model]
            continue
        ranked = [v for v in PREFERRED_VARIANTS if v in present] + present
        out[model] = ranked[0]
    return out


def plot(scores: pd.DataFrame, variants: dict[str, str], path: Path, title: str | None = None) -> None:
    fig, ax = plt.subplots(figsize=(6.4, 4.6), dpi=150)
    order = [m for m in MODELS if m in variants] + sorted(m for m in variants if m not in MODELS)
    for model in order:
        rows = scores[(scores.model == model) & (scores.variant == variants[model])].sort_values("level")
        label = MODELS.get(model, model)
        ax.plot(rows.level, rows.weighted_f1, marker=MARKERS.get(model, "x"), markersize=5, linewidth=1.4, label=label)
    levels = sorted(scores.level.unique())
    ax.set_xticks(levels)
    ax.set_xlabel("Number of modalities")
    ax.set_ylabel("$F_1$ score")
    ax.set_ylim(0.0, 1.0)
    ax.grid(True, linestyle=":", linewidth=0.6)
    ax.legend(loc="best", fontsize=8)
    if title:
        ax.set_title(title, fontsize=9)
    fig.tight_layout()
    save_figure(fig, path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Figure 5 (gas): weighted F1 against the number of modalities.")
    parser.add_argument("root", type=Path, help="folder holding the runs' metrics.csv files (searched recursively)")
    parser.add_argument("--out", type=Path, required=True, help="folder for figure5_gas.png and figure5_gas.csv")
    parser.add_argument("--dataset", default="gas", help="dataset name in the metrics (default gas)")
    parser.add_argument("--scenario", default="missing_modalities", help="scenario in the metrics")
    parser.add_argument("--variant", action="append", default=[], metavar="MODEL=VARIANT", help="variant to plot for a model")
    parser.add_argument("--title", default=None, help="optional title (e.g. 'fixture smoke run')")
    args = parser.parse_args(argv)

    chosen = {}
    for item in args.variant:
        model, sep, variant = item.partition("=")
        if not sep:
            raise SystemExit(f"--variant {item!r}: expected MODEL=VARIANT, e.g. embracenet=adj_both")
        chosen[model] = variant
    frame = load_metrics(args.root)
    frame = frame[(frame.dataset == args.dataset) & (frame.scenario == args.scenario)]
    if frame.empty:
        raise SystemExit(f"{args.root}: no metrics with dataset={args.dataset} and scenario={args.scenario}")
    scores = level_scores(frame)
    variants = choose_variants(scores, chosen)
    scores["plotted"] = [variants.get(m) == v for m, v in zip(scores.model, scores.variant)]
    scores["label"] = [MODELS.get(m, m) for m in scores.model]

    args.out.mkdir(parents=True, exist_ok=True)
    csv_path, png_path = args.out / "figure5_gas.csv", args.out / "figure5_gas.png"
    write_frame(scores, csv_path, float_format="%.4f")
    plot(scores, variants, png_path, args.title)
    print(f"wrote {png_path} and {csv_path} ({frame.run_dir.nunique()} runs, models: {', '.join(f'{m}[{v}]' for m, v in variants.items())})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
