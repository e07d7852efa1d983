"""Figure 7: mean embracement-layer activations per class and number of modalities (gas).

    python scripts/figure7_gas.py outputs/gas --out results/gas

Reads the ``activations_<variant>.npz`` files that ``experiment=gas`` writes beside EmbraceNet's
``metrics.csv`` (scenario ``missing_modalities_activations``), averages them over seeds, and draws a
grid: one column per class, one row per number of available modalities, each cell the ``c``
activations reshaped to a square (1024 -> 32 x 32), darker = higher, one colour scale for all.
Every cell uses the same feature order: by default features are grouped by the class whose mean
activation (with all modalities) is highest, strongest first (``--order none`` keeps the raw order).
Writes ``figure7_gas.png`` and ``figure7_gas.npz`` (the plotted, ordered values).
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from metrics_io import METRICS_FILE, save_figure  # noqa: E402

PREFERRED_VARIANTS = ("adj_both", "adj_post", "adj_pre", "baseline")


def find_activations(root: Path, dataset: str, variant: str | None) -> tuple[list[Path], str]:
    """The activation files of one variant under ``root`` (of ``dataset``, judged by the metrics beside them)."""
    if not root.is_dir():
        raise SystemExit(f"{root}: no such folder; pass the folder holding the runs")
    by_variant: dict[str, list[Path]] = {}
    for path in sorted(root.rglob("activations_*.npz")):
        metrics = path.parent / METRICS_FILE
        if metrics.is_file() and set(pd.read_csv(metrics, usecols=["dataset"])["dataset"]) - {dataset}:
            continue  # another dataset's run
        by_variant.setdefault(path.stem.removeprefix("activations_"), []).append(path)
    if not by_variant:
        raise SystemExit(
            f"{root}: no activations_<variant>.npz of dataset {dataset}; run EmbraceNet with "
            "scenario missing_modalities_activations (experiment=gas does)"
        )
    if variant is None:
        variant = next((v for v in PREFERRED_VARIANTS if v in by_variant), sorted(by_variant)[0])
    if variant not in by_variant:
        raise SystemExit(f"--variant {variant}: no such activations; found {', '.join(sorted(by_variant))}")
    return by_variant[variant], variant


def load_mean(paths: list[Path]) -> tuple[np.ndarray, list[str], np.ndarray]:
    """Mean over files (seeds) of ``mean [n_classes, m, c]``; class names; levels ``[m]``."""
    means, names, levels = [], None, None
    for path in paths:
        with np.load(path, allow_pickle=False) as data:
            means.append(data["mean"])
            if names is None:
                names, levels = [str(n) for n in data["class_names"]], data["levels"]
            elif means[-1].shape != means[0].shape:
                raise SystemExit(f"{path}: activations of shape {means[-1].shape}, but {paths[0]} has {means[0].shape}")
    return np.mean(means, axis=0), names, levels


def feature_order(mean: np.ndarray, order: str) -> np.ndarray:
    """A permutation of the ``c`` features applied to every cell."""
    c = mean.shape[-1]
    if order == "none":
        return np.arange(c)
    full = np.nan_to_num(mean[:, -1, :], nan=-np.inf)  # [n_classes, c], all modalities available
    best_class = full.argmax(0)
    strength = full.max(0)
    return np.lexsort((-strength, best_class))  # by class, then strongest first


def grid_shape(c: int) -> tuple[int, int]:
    """Rows and columns of the image of ``c`` features: a square when ``c`` is one (1024 -> 32 x 32)."""
    rows = int(math.isqrt(c))
    return rows, math.ceil(c / rows)


def plot(mean: np.ndarray, class_names: list[str], levels: np.ndarray, path: Path, title: str | None) -> None:
    n_classes, m, c = mean.shape
    rows, cols = grid_shape(c)
    vmax = float(np.nanmax(mean)) if np.isfinite(mean).any() else 1.0
    fig, axes = plt.subplots(m, n_classes, figsize=(1.05 * n_classes + 0.8, 1.05 * m + 0.7), squeeze=False)
    for j in range(n_classes):
        for i in range(m):
            ax = axes[i][j]
            image = np.full(rows * cols, np.nan)
            image[:c] = mean[j, i]
            ax.imshow(image.reshape(rows, cols), cmap="Greys", vmin=0.0, vmax=vmax, interpolation="nearest")
            ax.set_xticks([])
            ax.set_yticks([])
            if i == 0:
                ax.set_title(class_names[j], fontsize=7)
            if j == 0:
                ax.set_ylabel(str(int(levels[i])), fontsize=8, rotation=0, labelpad=10, va="center")
    fig.supylabel("Number of modalities", fontsize=9)
    fig.suptitle(title or "Mean embracement-layer activations (test data)", fontsize=9)
    fig.tight_layout()
    save_figure(fig, path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Figure 7 (gas): mean embracement-layer activations.")
    parser.add_argument("root", type=Path, help="folder holding the runs (searched recursively for activations_*.npz)")
    parser.add_argument("--out", type=Path, required=True, help="folder for figure7_gas.png and figure7_gas.npz")
    parser.add_argument("--dataset", default="gas", help="dataset name in the metrics beside the files (default gas)")
    parser.add_argument("--variant", default=None, help="EmbraceNet variant (default: adj_both, else the most adjusted present)")
    parser.add_argument("--order", choices=("class", "none"), default="class", help="feature order shared by all cells")
    parser.add_argument("--title", default=None)
    args = parser.parse_args(argv)

    paths, variant = find_activations(args.root, args.dataset, args.variant)
    mean, class_names, levels = load_mean(paths)
    ordered = mean[..., feature_order(mean, args.order)]
    args.out.mkdir(parents=True, exist_ok=True)
    png, npz = args.out / "figure7_gas.png", args.out / "figure7_gas.npz"
    plot(ordered, class_names, levels, png, args.title)
    np.savez(npz, mean=ordered, class_names=np.array(class_names, dtype=str), levels=levels, n_runs=len(paths))
    print(f"wrote {png} and {npz} (variant {variant}, {len(paths)} run(s), {mean.shape[0]} classes x {mean.shape[1]} levels x {mean.shape[2]})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
