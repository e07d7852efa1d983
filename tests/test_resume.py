"""A training killed with SIGKILL resumes from its checkpoint and ends with the uninterrupted run's numbers."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
import torch

ROOT = Path(__file__).resolve().parents[1]
ENV = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "TQDM_DISABLE": "1", "OMP_NUM_THREADS": "1"}
# Small batches so an epoch lasts long enough (~1 s) to be killed in the middle of one; modality
# dropout (Adj. pre) and select_best exercise every piece of state the checkpoint must carry.
RUN = [
    "experiment=demo", "model=embracenet_adj_pre", "+scenario=missing_modalities", "trainer.epochs=5",
    "trainer.batch_size=16", "trainer.select_best=true", "trainer.threads=1", "progress=false",
]  # fmt: skip


def command(run_dir: Path) -> list[str]:
    # A fixed run folder: the rerun must find the killed run's checkpoint.pt there.
    return [sys.executable, "-m", "experiments.run", *RUN, f"hydra.run.dir={run_dir}"]


def epochs_done(checkpoint: Path) -> int:
    try:
        return int(torch.load(checkpoint, map_location="cpu", weights_only=True)["epochs_done"])
    except (FileNotFoundError, RuntimeError, EOFError, KeyError):
        return 0


def test_killed_training_resumes_to_the_same_metrics(tmp_path):
    killed_dir, full_dir = tmp_path / "killed", tmp_path / "full"
    proc = subprocess.Popen(command(killed_dir), cwd=ROOT, env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 120
        while epochs_done(killed_dir / "checkpoint.pt") < 2:
            if proc.poll() is not None:
                pytest.fail(f"the run ended before it could be killed:\n{proc.stderr.read().decode()[-2000:]}")
            assert time.monotonic() < deadline, "no checkpoint after 120 s"
            time.sleep(0.05)
        proc.send_signal(signal.SIGKILL)  # no handler, no cleanup: as a node failure or the OOM killer would
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == -signal.SIGKILL
    assert not (killed_dir / "metrics.csv").exists()
    assert not list(killed_dir.glob("*.part")), "a partial file was left under the run folder"
    done = epochs_done(killed_dir / "checkpoint.pt")
    assert 2 <= done < 5, f"killed after {done} epochs: the kill should land mid-training"

    subprocess.run(command(killed_dir), cwd=ROOT, env=ENV, check=True, capture_output=True)
    subprocess.run(command(full_dir), cwd=ROOT, env=ENV, check=True, capture_output=True)

    resumed, full = pd.read_csv(killed_dir / "metrics.csv"), pd.read_csv(full_dir / "metrics.csv")
    keys = ["variant", "subset", "weighted_f1", "error_rate", "n", "best_epoch"]
    pd.testing.assert_frame_equal(resumed[keys], full[keys], check_exact=True)
    history_keys = ["phase", "epoch", "loss", "val_weighted_f1", "val_error_rate"]
    pd.testing.assert_frame_equal(
        pd.read_csv(killed_dir / "history.csv")[history_keys], pd.read_csv(full_dir / "history.csv")[history_keys], check_exact=True
    )
