"""Compose the real configs, run the runner on the bundled digits, and check bad options fail early."""

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from hydra import compose, initialize_config_dir
from hydra.errors import HydraException
from omegaconf import OmegaConf

from experiments.run import ConfigError, run

CONFIGS = Path(__file__).resolve().parents[1] / "configs"


def options(group: str) -> list[str]:
    return sorted(p.stem for p in (CONFIGS / group).glob("*.yaml"))


def make_cfg(*overrides: str):
    with initialize_config_dir(config_dir=str(CONFIGS), version_base="1.3"):
        return compose(config_name="config", overrides=list(overrides))


@pytest.mark.parametrize("group", ["dataset", "model", "trainer", "logger", "scenario", "experiment"])
def test_every_option_of_every_group_composes(group):
    prefix = "+" if group == "scenario" else ""
    for option in options(group):
        cfg = make_cfg(f"{prefix}{group}={option}")
        OmegaConf.to_container(cfg, resolve=True)  # every interpolation resolves


def test_scenario_is_not_a_default_and_plus_override_works():
    assert "scenario" not in make_cfg()
    cfg = make_cfg("+scenario=missing_modalities")
    assert cfg.scenario.name == "missing_modalities"


def tiny(*overrides: str):
    return make_cfg("experiment=demo", "trainer.epochs=1", "dataset.loader.limit=240", "progress=false", *overrides)


@pytest.mark.parametrize("model", ["intermediate", "embracenet", "embracenet_adj_pre", "late", "early", "compact_pooling", "autoencoder"])
def test_runner_writes_metrics_and_config(tmp_path, model):
    cfg = tiny(f"model={model}", "+scenario=missing_modalities", "trainer.pretrain_epochs=1" if model == "autoencoder" else "seed=0")
    metrics = run(cfg, tmp_path)
    assert (tmp_path / "config.yaml").exists() and (tmp_path / "history.csv").exists()
    saved = pd.read_csv(tmp_path / "metrics.csv")
    assert list(saved.columns[:10]) == ["dataset", "model", "variant", "scenario", "level", "subset", "seed", "weighted_f1", "error_rate", "n"]
    variants = 2 if model.startswith("embracenet") else 1
    assert len(saved) == 3 * variants and set(saved["subset"]) == {"left", "right", "left+right"}
    assert saved["weighted_f1"].between(0, 1).all()
    assert len(metrics) == len(saved)


@pytest.mark.parametrize(
    "override, message",
    [
        ("dataset.n_modalities=3", "dataset.n_modalities is 3"),
        ("model.net.embracement_size=0", "embracement_size"),
        ("model.net.probabilities=[-0.5,1.5]", "non-negative"),
        ("model.net.probabilities=[0.0,0.0]", "sums to zero"),
        ("model.net.probabilities=[0.2,0.3,0.5]", "shape"),
        ("trainer.lr=0", "trainer.lr"),
        ("trainer.batch_size=0", "trainer.batch_size"),
        ("model.net.missing_prob=2", "missing_prob"),
    ],
)
def test_impossible_options_fail_before_any_work(tmp_path, override, message):
    with pytest.raises(ConfigError, match=message):
        run(tiny("model=embracenet", override), tmp_path)
    assert not (tmp_path / "checkpoint.pt").exists()


def test_unknown_dataset_or_model_name_is_a_clear_error():
    with pytest.raises(HydraException, match="dataset"):
        make_cfg("dataset=imagenet")
    with pytest.raises(HydraException, match="model"):
        make_cfg("model=transformer")


def test_demo_multirun_and_table_end_to_end(tmp_path):
    """What `make demo` does, at a tiny size: a Hydra multirun over three models, then the table."""
    root = Path(__file__).resolve().parents[1]
    sweep = tmp_path / "demo"
    cmd = [
        sys.executable, "-m", "experiments.run", "-m", "experiment=demo",
        "model=intermediate,embracenet,embracenet_adj_pre", "+scenario=missing_modalities",
        "trainer.epochs=1", "dataset.loader.limit=240", "progress=false", f"hydra.sweep.dir={sweep}",
    ]  # fmt: skip
    subprocess.run(cmd, cwd=root, check=True, capture_output=True, env={"TQDM_DISABLE": "1", "PATH": "/usr/bin:/bin"})
    assert len(list(sweep.rglob("metrics.csv"))) == 3
    out = tmp_path / "table"
    subprocess.run([sys.executable, "scripts/table1.py", str(sweep), "--out", str(out)], cwd=root, check=True, capture_output=True)
    text = out.with_suffix(".md").read_text()
    for row in ("Intermediate integration", "EmbraceNet (baseline)", "+Adj. pre", "+Adj. post", "+Adj. both"):
        assert row in text
    table = pd.read_csv(out.with_suffix(".csv"))
    assert len(table) == 15 and out.with_suffix(".png").stat().st_size > 0


def test_a_checkpoint_of_another_configuration_is_refused_and_kept(tmp_path):
    from embracenet.training import TrainingError

    run(tiny("model=embracenet"), tmp_path)
    before = (tmp_path / "checkpoint.pt").read_bytes()
    with pytest.raises(TrainingError, match="different configuration"):
        run(tiny("model=embracenet", "model.net.missing_prob=0.5"), tmp_path)
    assert (tmp_path / "checkpoint.pt").read_bytes() == before
    # more epochs of the same configuration resume it
    metrics = run(tiny("model=embracenet", "trainer.epochs=2"), tmp_path)
    assert len(pd.read_csv(tmp_path / "history.csv")) == 2 and len(metrics) == 2  # as trained + Adj. post
