"""Shared by the OPPORTUNITY figure and table scripts: which runs are which row, and how they average.

Everything is read from ``metrics.csv`` files (via :func:`metrics_io.load_metrics`). A model's row
is one (model, variant) pair; EmbraceNet is reported as ``adj_both`` (modality dropout in training
plus p from validation F1, the paper's OPPORTUNITY protocol, section 6.3.6). Scores of several
seeds are averaged; a missing-modalities level averages all evaluated subsets of that size first.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from metrics_io import load_metrics, save_figure  # noqa: E402

# (model, variant, label) in the paper's order.
MODELS = [
    ("early", "baseline", "Early integration"),
    ("late", "baseline", "Late integration"),
    ("intermediate", "baseline", "Intermediate integration"),
    ("compact_pooling", "baseline", "Compact multi-linear pooling"),
    ("autoencoder", "baseline", "Multimodal autoencoder"),
    ("embracenet", "adj_both", "EmbraceNet"),
]
TASKS = {"locomotion": ("opportunity_locomotion", "Modes of locomotion"), "gestures": ("opportunity_gestures", "Gestures")}
N_MODALITIES = 19


def load_opportunity(root: str | Path) -> pd.DataFrame:
    """The OPPORTUNITY rows of every metrics.csv under ``root`` (both tasks), ``level`` as float."""
    frame = load_metrics(root)
    frame = frame[frame.dataset.isin([d for d, _ in TASKS.values()])].copy()
    if frame.empty:
        raise ValueError(f"{root}: no metrics.csv rows of dataset opportunity_locomotion or opportunity_gestures")
    frame["level"] = frame["level"].astype(float)
    return frame


def curve(frame: pd.DataFrame, task: str, scenario: str) -> pd.DataFrame:
    """Mean weighted F1 per (model row, level) for one task and scenario.

    Returns:
        Columns ``task, model, variant, label, level, weighted_f1, seeds, subsets``; models whose
        runs are absent are simply missing (the caller reports them).
    """
    dataset = TASKS[task][0]
    parts = []
    for model, variant, label in MODELS:
        rows = frame[(frame.dataset == dataset) & (frame.scenario == scenario) & (frame.model == model) & (frame.variant == variant)]
        if rows.empty:
            continue
        # Subsets of one size first (per seed), then seeds: each seed weighs the same.
        per_seed = rows.groupby(["level", "seed"], as_index=False).agg(weighted_f1=("weighted_f1", "mean"), subsets=("subset", "size"))
        agg = per_seed.groupby("level", as_index=False).agg(
            weighted_f1=("weighted_f1", "mean"), seeds=("seed", "nunique"), subsets=("subsets", "max")
        )
        agg.insert(0, "label", label)
        agg.insert(0, "variant", variant)
        agg.insert(0, "model", model)
        agg.insert(0, "task", task)
        parts.append(agg)
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(
        columns=["task", "model", "variant", "label", "level", "weighted_f1", "seeds", "subsets"]
    )


def value_at(curve_frame: pd.DataFrame, model: str, level: float) -> float:
    """The curve's F1 of ``model`` at ``level`` (NaN when that run or level is absent)."""
    rows = curve_frame[(curve_frame.model == model) & np.isclose(curve_frame.level, level)]
    return float(rows.weighted_f1.iloc[0]) if len(rows) else float("nan")


def absent_models(curve_frame: pd.DataFrame) -> list[str]:
    present = set(curve_frame.model)
    return [label for model, _, label in MODELS if model not in present]


def plot_curves(curves: dict[str, pd.DataFrame], xlabel: str, path: Path, title: str, percent: bool = False) -> None:
    """One panel per task, one line per model row; written to ``path`` (PNG)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(curves), figsize=(6 * len(curves), 4.2), squeeze=False)
    for ax, (letter, (task, data)) in zip(axes[0], zip("abcdefgh", curves.items())):
        for model, _, label in MODELS:
            rows = data[data.model == model].sort_values("level")
            if rows.empty:
                continue
            x = rows.level * (100 if percent else 1)
            ax.plot(x, rows.weighted_f1, marker="o", markersize=3, label=label)
        ax.set_title(f"({letter}) {TASKS[task][1]}")
        ax.set_xlabel(xlabel)
        ax.set_ylabel("weighted F1")
        ax.set_ylim(0, 1)
        ax.grid(alpha=0.3)
    axes[0][0].legend(fontsize=8, loc="lower right")
    fig.suptitle(title)
    fig.tight_layout()
    save_figure(fig, path)


def markdown_table(frame: pd.DataFrame, index_name: str = "", floatfmt: str = "{:.3f}") -> str:
    """A pandas frame as a GitHub Markdown table (index first), without optional dependencies."""
    header = [index_name, *map(str, frame.columns)]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for index, row in frame.iterrows():
        cells = [floatfmt.format(v) if isinstance(v, float) and np.isfinite(v) else ("n/a" if isinstance(v, float) else str(v)) for v in row]
        lines.append("| " + " | ".join([str(index), *cells]) + " |")
    return "\n".join(lines)


def curve_sections(curves: dict[str, pd.DataFrame], index_name: str, index_label) -> list[str]:
    """Markdown lines: per task, a table of weighted F1 (rows: ``level`` shown by ``index_label``,
    columns: models), or a note naming the models without runs."""
    lines = []
    for task, data in curves.items():
        lines.append(f"## {TASKS[task][1]}")
        missing = absent_models(data)
        if missing:
            lines.append(f"\nNo runs found for: {', '.join(missing)}.")
        if not data.empty:
            wide = data.pivot(index="level", columns="label", values="weighted_f1")
            wide = wide[[label for _, _, label in MODELS if label in wide.columns]]
            wide.index = [index_label(x) for x in wide.index]
            lines += ["", markdown_table(wide, index_name), ""]
    return lines
