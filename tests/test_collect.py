"""scripts/collect.py: one tidy table over seeds, byte-identical when run twice."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
from collect import summarize  # noqa: E402


def fake_runs(root: Path, seeds=(0, 1, 2)) -> None:
    """A sweep's worth of metrics.csv files: two models x seeds, one with an extra single-seed run."""
    rng = np.random.default_rng(0)
    runs = [(m, s) for m in ("intermediate", "embracenet") for s in seeds] + [("late", 0)]
    for i, (model, seed) in enumerate(runs):
        rows = []
        for subset in ("left", "right", "left+right"):
            error = float(rng.uniform(0.05, 0.4))
            rows.append(dict(dataset="digits", model=model, variant="baseline", scenario="missing_modalities", level=np.nan,
                             subset=subset, seed=seed, weighted_f1=1 - error, error_rate=error, n=360))  # fmt: skip
        folder = root / f"{i}_{model}_seed{seed}"
        folder.mkdir(parents=True)
        pd.DataFrame(rows).to_csv(folder / "metrics.csv", index=False)


def test_collect_twice_gives_identical_files(tmp_path):
    fake_runs(tmp_path / "runs")
    outputs = []
    out = tmp_path / "out" / "collected"
    for _ in range(2):  # the same command twice (the Markdown names the command)
        subprocess.run([sys.executable, "scripts/collect.py", str(tmp_path / "runs"), "--out", str(out), "--bootstrap", "500"],
                       cwd=ROOT, check=True, capture_output=True)  # fmt: skip
        outputs.append((out.with_name("collected.csv").read_bytes(), out.with_name("collected.md").read_bytes()))
    assert outputs[0] == outputs[1]
    table = pd.read_csv(tmp_path / "out" / "collected.csv")
    assert list(table.columns) == ["dataset", "model", "variant", "scenario", "level", "subset", "metric",
                                   "n_seeds", "seeds", "mean", "std", "ci_low", "ci_high"]  # fmt: skip
    assert len(table) == 3 * 3 * 2  # 3 models x 3 subsets x 2 metrics
    assert (table["ci_low"] <= table["mean"] + 1e-12).all() and (table["mean"] <= table["ci_high"] + 1e-12).all()
    single = table[table["model"] == "late"]
    assert (single["n_seeds"] == 1).all() and (single["ci_low"] == single["mean"]).all() and (single["ci_high"] == single["mean"]).all()
    assert (single["std"] == 0).all()
    many = table[table["model"] == "embracenet"]
    assert (many["n_seeds"] == 3).all() and (many["seeds"] == "0,1,2").all() and (many["ci_high"] > many["ci_low"]).all()


def test_summarize_matches_a_direct_computation(tmp_path):
    fake_runs(tmp_path)
    sys.path.insert(0, str(ROOT / "scripts"))
    from metrics_io import load_metrics

    metrics = load_metrics(tmp_path)
    table = summarize(metrics, n_boot=200, seed=1)
    part = metrics[(metrics.model == "intermediate") & (metrics.subset == "left")]["error_rate"]
    row = table[(table.model == "intermediate") & (table.subset == "left") & (table.metric == "error_rate")].iloc[0]
    assert row["mean"] == pytest.approx(part.mean()) and row["std"] == pytest.approx(part.std(ddof=1))
    # A run collected twice (e.g. the same folder copied) counts once.
    doubled = summarize(pd.concat([metrics, metrics[metrics.model == "late"]]), n_boot=0)
    assert (doubled[doubled.model == "late"]["n_seeds"] == 1).all()
