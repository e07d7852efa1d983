"""The gas experiment (Figures 3, 5 and 7): backbone shapes, the six models on it, and the whole
pipeline (fixture archive -> cache -> six runs over 255 subsets -> both figures) in seconds."""

from __future__ import annotations

import importlib.util
import math
import os
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from hydra import compose, initialize_config_dir

os.environ.setdefault("TQDM_DISABLE", "1")

from data_prep.gas_fixture import write_gas_fixture  # noqa: E402
from embracenet.backbones import gas_cnn  # noqa: E402
from embracenet.models import MODELS  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
CONFIGS = ROOT / "configs"
GAS_MODELS = ["early", "late", "intermediate", "compact_pooling", "autoencoder", "embracenet_adj_pre"]
SHAPES = [(240, 9)] * 8


def load_script(name: str):
    """Import scripts/<name>.py as a module (scripts/ is not a package)."""
    spec = importlib.util.spec_from_file_location(name, ROOT / "scripts" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# ------------------------------------------------------------------------------------ backbone
def test_gas_backbone_has_the_papers_sizes() -> None:
    b = gas_cnn()
    enc = b.encoder((240, 9))
    x = torch.zeros(2, 240, 9)
    conv1 = enc.layers[1](enc.layers[0](x.unsqueeze(1)))
    assert tuple(conv1.shape[1:]) == (64, 240, 9)  # conv1: 240 x 9 x 64
    assert tuple(enc.layers[2](conv1).shape[1:]) == (64, 120, 3)  # pool1: 120 x 3 x 64
    assert enc(x).shape == (2, 60 * 1 * 128)
    assert b.concat_shape(SHAPES) == (240, 72)  # early integration's input
    assert b.encoder((240, 72))(torch.zeros(1, 240, 72)).shape == (1, 60 * 8 * 128)
    assert (b.early_width, b.fusion_width, b.dropout) == (1024, 128, 0.5)
    head = b.head(1024, 10)
    assert [m.out_features for m in head if isinstance(m, torch.nn.Linear)] == [256, 10]  # full1, full2
    assert b.decoder(1024, (240, 72))(torch.zeros(2, 1024)).shape == (2, 240, 72)
    with pytest.raises(ValueError, match="gas_cnn"):
        b.encoder((240, 4))


def test_the_fusion_sizes_of_section_6_3() -> None:
    b = gas_cnn()
    intermediate = MODELS["intermediate"](b, SHAPES, 10)
    assert sum(p[0].out_features for p in intermediate.project) == 8 * 128  # the 1024-wide concatenation
    embracenet = MODELS["embracenet"](b, SHAPES, 10, embracement_size=1024)
    assert embracenet.embracenet.c == 1024 and embracenet.feature_sizes == [7680] * 8


@pytest.mark.parametrize("name", list(MODELS))
def test_each_model_on_the_gas_backbone_trains_and_predicts(name: str) -> None:
    # The layer structure of gas_cnn on full [240, 9] windows, with narrow layers: the full widths
    # (63M-parameter layers in early integration) are checked above and cost seconds per step here.
    torch.manual_seed(0)
    b = gas_cnn(conv1=4, conv2=8, hidden=16, early_width=32, fusion_width=8)
    kwargs = {"embracement_size": 64, "missing_prob": 4 / 7} if name == "embracenet" else {}
    model = MODELS[name](b, SHAPES, 10, **kwargs)
    for batch in (1, 2):
        xs = [torch.rand(batch, 240, 9) for _ in range(8)]
        available = torch.ones(batch, 8, dtype=torch.bool)
        available[0, 3] = False
        model.train()
        model.zero_grad()
        model.loss(xs, available, torch.zeros(batch, dtype=torch.long)).backward()
        if hasattr(model, "pretrain_loss"):
            model.pretrain_loss(xs, available).backward()
        grads = [p.grad for p in model.parameters() if p.grad is not None]
        assert grads and all(torch.isfinite(g).all() for g in grads)
        model.eval()
        with torch.no_grad():
            logits = model(xs, available)
        assert logits.shape == (batch, 10) and torch.isfinite(logits).all()


# -------------------------------------------------------------------------------------- configs
def test_dataset_sizes_reach_the_models_and_table1_keeps_its_values() -> None:
    models = ("embracenet", "embracenet_adj_pre", "compact_pooling")
    with initialize_config_dir(config_dir=str(CONFIGS), version_base="1.3"):
        gas = {m: compose("config", overrides=["experiment=gas", f"model={m}"]) for m in models}
        # Table 1's datasets set no model_sizes, so they keep the model files' own values.
        table1 = {(d, m): compose("config", overrides=[f"dataset={d}", f"model={m}"]) for d in ("mnist", "fashion", "digits") for m in models}
    assert gas["embracenet_adj_pre"].model.net.embracement_size == 1024
    assert gas["embracenet_adj_pre"].model.net.missing_prob == pytest.approx(4 / 7)  # 50 % hidden on average
    assert gas["compact_pooling"].model.net.pooled_size == 1024
    assert gas["embracenet"].scenario.evaluate.max_per_size is None
    assert gas["embracenet"].dataset.calibration.split == "val" and gas["embracenet"].dataset.fill == "mean"
    for (dataset, model), cfg in table1.items():
        net = cfg.model.net
        if model.startswith("embracenet"):
            assert net.embracement_size == 512, dataset
            assert net.missing_prob == (0.5 if model == "embracenet_adj_pre" else 0.0), dataset
        else:
            assert net.pooled_size == 1024, dataset


# --------------------------------------------------------------------------------- smoke pipeline
@pytest.fixture(scope="module")
def smoke(tmp_path_factory) -> Path:
    """Fixture archive -> six smoke runs (the real configs, composed) -> both figures."""
    from experiments.run import run

    tmp = tmp_path_factory.mktemp("gas_smoke")
    write_gas_fixture(tmp / "archive", n_trials_per_location=1, seed=0)
    with initialize_config_dir(config_dir=str(CONFIGS), version_base="1.3"):
        for model in GAS_MODELS:
            cfg = compose(
                "config",
                overrides=["experiment=gas_smoke", f"model={model}", f"dataset.loader.cache={tmp / 'cache'}", f"dataset.loader.source={tmp / 'archive'}"],
            )
            run(cfg, tmp / "runs" / model)
    for script in ("figure5_gas", "figure7_gas"):
        assert load_script(script).main([str(tmp / "runs"), "--out", str(tmp / "figures"), "--title", "smoke"]) == 0
    return tmp


def test_smoke_runs_score_all_255_subsets_for_every_model(smoke: Path) -> None:
    sys.path.insert(0, str(ROOT / "scripts"))
    from metrics_io import REQUIRED_COLUMNS, load_metrics

    metrics = load_metrics(smoke / "runs")
    assert set(REQUIRED_COLUMNS) <= set(metrics.columns)
    assert set(metrics.dataset) == {"gas"} and set(metrics.scenario) == {"missing_modalities"}
    assert set(metrics.model) == {"early", "late", "intermediate", "compact_pooling", "autoencoder", "embracenet"}
    per_variant = metrics.groupby(["model", "variant"]).subset.nunique()
    assert (per_variant == 255).all(), per_variant
    assert set(metrics[metrics.model == "embracenet"].variant) == {"adj_pre", "adj_both"}
    levels = metrics[metrics.model == "early"].groupby("level").subset.nunique()
    assert levels.to_dict() == {i: math.comb(8, i) for i in range(1, 9)}
    assert metrics.weighted_f1.between(0, 1).all() and (metrics.n > 0).all()


def test_smoke_writes_activations_and_both_figures(smoke: Path) -> None:
    with np.load(smoke / "runs" / "embracenet_adj_pre" / "activations_adj_both.npz", allow_pickle=False) as data:
        mean, counts, subsets = data["mean"], data["counts"], data["subsets"]
        assert mean.shape == (10, 8, 64)  # classes x levels x c of the smoke preset
        assert subsets.tolist() == [math.comb(8, i) for i in range(1, 9)]
        assert list(data["class_names"])[5] == "CO" and list(data["levels"]) == list(range(1, 9))
    n_test = pd.read_csv(smoke / "runs" / "embracenet_adj_pre" / "metrics.csv").n.iloc[0]
    assert counts.sum() == n_test
    present = counts > 0
    assert np.isfinite(mean[present]).all() and (mean[present] >= 0).all()  # ReLU docking outputs
    assert not (smoke / "runs" / "early" / "activations_baseline.npz").exists()
    for name in ("figure5_gas.png", "figure7_gas.png", "figure5_gas.csv"):
        assert (smoke / "figures" / name).stat().st_size > 1000, name
    plotted = pd.read_csv(smoke / "figures" / "figure5_gas.csv").query("plotted")
    assert len(plotted) == 6 * 8 and set(plotted[plotted.model == "embracenet"].variant) == {"adj_both"}


def test_embracement_activations_average_subsets_then_classes() -> None:
    from embracenet.data.splits import TensorSplit
    from embracenet.inspection import embracement_activations
    from embracenet.scenarios import subset_masks

    torch.manual_seed(0)
    b = gas_cnn(conv1=2, conv2=2, hidden=4, early_width=4, fusion_width=4)
    model = MODELS["embracenet"](b, [(8, 9)] * 3, 4, embracement_size=6, inference="expectation")  # deterministic
    xs, y = [torch.rand(7, 8, 9) for _ in range(3)], torch.tensor([0, 1, 1, 2, 2, 2, 0])
    mean, counts, subsets = embracement_activations(model, TensorSplit(xs, y), batch_size=3)
    assert mean.shape == (4, 3, 6) and counts.tolist() == [2, 2, 3, 0] and subsets.tolist() == [3, 3, 1]
    assert torch.isnan(mean[3]).all()  # a class without samples
    model.eval()
    with torch.no_grad():
        docked = model.encode(xs)[0]
        masks = subset_masks(3)
        for level in (1, 2, 3):
            chosen = masks[masks.sum(1) == level]
            per_sample = torch.stack([model.embracenet.embrace(docked, m.expand(7, 3)) for m in chosen]).mean(0)
            for cls in range(3):
                torch.testing.assert_close(mean[cls, level - 1], per_sample[y == cls].mean(0))
