"""scripts/table1.py on a small metrics tree: paper values beside ours, mean ± std over seeds."""

import subprocess
import sys
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]


def fake_runs(root: Path) -> None:
    subsets = {"left": 0.10, "right": 0.12, "left+right": 0.01}
    for seed in (0, 1):
        for model, variants in (("intermediate", ["baseline"]), ("embracenet", ["adj_pre", "adj_both"])):
            rows = [
                {"dataset": "mnist", "model": model, "variant": v, "scenario": "missing_modalities", "level": s.count("+") + 1,
                 "subset": s, "seed": seed, "weighted_f1": 1 - e, "error_rate": e + 0.01 * seed, "n": 100,
                 "epochs": 10, "best_epoch": 9, "train_seconds": 60.0}
                for v in variants for s, e in subsets.items()
            ]  # fmt: skip
            run = root / f"{model}_seed{seed}"
            run.mkdir(parents=True)
            pd.DataFrame(rows).to_csv(run / "metrics.csv", index=False)


def test_table_has_paper_values_and_seed_spread(tmp_path):
    fake_runs(tmp_path / "runs")
    out = tmp_path / "table1"
    cmd = [sys.executable, "scripts/table1.py", str(tmp_path / "runs"), "--reference", "results/reference/table1_paper.csv", "--out", str(out)]
    subprocess.run(cmd, cwd=ROOT, check=True, capture_output=True)
    text = out.with_suffix(".md").read_text()
    assert "| Intermediate integration | 1.50 ± 0.71 (0.95) | 10.50 ± 0.71 (15.17) | 12.50 ± 0.71 (16.06) |" in text
    assert "EmbraceNet (+Adj. both)" in text and "(3.35)" in text
    table = pd.read_csv(out.with_suffix(".csv"))
    assert set(table["n_seeds"]) == {2} and table["paper"].notna().all()
    assert out.with_suffix(".png").stat().st_size > 0
