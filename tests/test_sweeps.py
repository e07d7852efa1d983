"""Multirun on the local launchers (joblib, submitit's local executor), failure isolation, wandb offline.

Each test runs the real entry point as a subprocess on a tiny slice of the bundled digits.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from experiments.sweep_status import sweep_status

ROOT = Path(__file__).resolve().parents[1]
TINY = ["experiment=demo", "trainer.epochs=1", "dataset.loader.limit=200", "progress=false", "trainer.threads=1"]
# wandb must never reach the network, nor write outside the test's folder.
WANDB_OFFLINE = {
    "WANDB_MODE": "offline", "WANDB_SILENT": "true", "WANDB_DISABLE_CODE": "true", "WANDB_DISABLE_GIT": "true",
    "WANDB_CONSOLE": "off", "WANDB_ERROR_REPORTING": "false", "WANDB_API_KEY": "",
}  # fmt: skip


def env(tmp_path: Path, **extra: str) -> dict[str, str]:
    return {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(tmp_path), "TQDM_DISABLE": "1", "OMP_NUM_THREADS": "1", **extra}


def multirun(tmp_path: Path, sweep: Path, *overrides: str) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "experiments.run", "-m", *TINY, *overrides, f"hydra.sweep.dir={sweep}"]
    return subprocess.run(cmd, cwd=ROOT, env=env(tmp_path), capture_output=True, text=True, timeout=300)


@pytest.mark.parametrize("launcher", sorted(p.stem for p in (ROOT / "configs" / "hydra" / "launcher").glob("*.yaml")))
def test_every_launcher_option_composes(launcher):
    from hydra import compose, initialize_config_dir
    from omegaconf import OmegaConf

    with initialize_config_dir(config_dir=str(ROOT / "configs"), version_base="1.3"):
        cfg = compose(config_name="config", overrides=[f"hydra/launcher={launcher}"], return_hydra_config=True)
    launcher_cfg = OmegaConf.to_container(cfg.hydra.launcher)
    assert launcher_cfg["_target_"].startswith("hydra_plugins.")
    if launcher == "slurm":
        for option in ("partition", "gpus_per_node", "timeout_min", "mem_gb", "cpus_per_task", "array_parallelism"):
            assert option in launcher_cfg


@pytest.mark.parametrize("launcher", ["local_parallel", "local_submitit"])
def test_two_job_multirun(tmp_path, launcher):
    sweep = tmp_path / "sweep"
    done = multirun(tmp_path, sweep, "seed=0,1", f"hydra/launcher={launcher}")
    assert done.returncode == 0, done.stderr[-3000:]
    files = sorted(sweep.rglob("metrics.csv"))
    assert len(files) == 2
    assert sorted(pd.read_csv(f)["seed"].iloc[0] for f in files) == [0, 1]
    assert "2 jobs, 2 finished, 0 failed" in done.stderr


def test_failed_job_keeps_the_others_results_and_is_reported(tmp_path):
    sweep = tmp_path / "sweep"
    done = multirun(tmp_path, sweep, "trainer.lr=0.001,0", "hydra/launcher=local_parallel")
    assert done.returncode != 0
    good, bad = sorted(p for p in sweep.iterdir() if p.is_dir())
    assert len(pd.read_csv(good / "metrics.csv")) == 2  # baseline and adj_post, complete and readable
    assert not (bad / "metrics.csv").exists()
    assert "trainer.lr has an impossible value" in (bad / "FAILED").read_text()
    assert "trainer.lr=0" in (bad / "FAILED").read_text()  # the overrides that failed
    # The sweep says which job failed, and so does the status script afterwards.
    assert "1 finished, 1 failed" in done.stderr and bad.name in done.stderr
    status = subprocess.run([sys.executable, "scripts/sweep_status.py", str(sweep)], cwd=ROOT, capture_output=True, text=True)
    assert status.returncode == 1 and f"FAILED     {bad.name}" in status.stdout
    assert {s.path.name: s.state for s in sweep_status(sweep)} == {good.name: "finished", bad.name: "failed"}


def test_sweep_status_of_an_unfinished_job(tmp_path):
    (tmp_path / "0_a" / ".hydra").mkdir(parents=True)
    (tmp_path / "0_a" / ".hydra" / "overrides.yaml").write_text("[]")
    (tmp_path / "0_a" / "checkpoint.pt").write_bytes(b"")
    (tmp_path / "1_b").mkdir()
    (tmp_path / "1_b" / "metrics.csv").write_text("x\n")
    states = sweep_status(tmp_path)
    assert [(s.path.name, s.state) for s in states] == [("0_a", "unfinished"), ("1_b", "finished")]
    status = subprocess.run([sys.executable, "scripts/sweep_status.py", str(tmp_path)], cwd=ROOT, capture_output=True, text=True)
    assert status.returncode == 2 and "UNFINISHED 0_a: checkpoint.pt present" in status.stdout


def test_wandb_is_imported_only_when_chosen(tmp_path):
    code = "import sys, experiments.run, experiments.loggers; assert 'wandb' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env(tmp_path), check=True)


def test_wandb_offline_run_logs_config_history_and_metrics(tmp_path):
    pytest.importorskip("wandb")
    run_dir = tmp_path / "run"
    cmd = [sys.executable, "-m", "experiments.run", *TINY, "trainer.epochs=2", "logger=wandb", "logger.tags=[test]", f"hydra.run.dir={run_dir}"]
    extra = {**WANDB_OFFLINE, "WANDB_DIR": str(tmp_path), "WANDB_CONFIG_DIR": str(tmp_path / "wandb_config"),
             "WANDB_CACHE_DIR": str(tmp_path / "wandb_cache"), "WANDB_DATA_DIR": str(tmp_path / "wandb_data")}  # fmt: skip
    done = subprocess.run(cmd, cwd=ROOT, env=env(tmp_path, **extra), capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    (offline,) = (run_dir / "wandb").glob("offline-run-*")  # in the run's own folder: one wandb run per job
    (records,) = offline.glob("run-*.wandb")
    data = records.read_bytes()
    for logged in (b"train/loss", b"val/weighted_f1", b"test/baseline/", b"embracement_size", b"digits_embracenet_baseline_seed0"):
        assert logged in data, logged
    (table,) = offline.glob("files/media/table/metrics_*.table.json")
    table = json.loads(table.read_text())
    assert "weighted_f1" in table["columns"] and len(table["data"]) == len(pd.read_csv(run_dir / "metrics.csv"))
