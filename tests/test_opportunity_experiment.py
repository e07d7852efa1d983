"""OPPORTUNITY experiment: DeepConvLSTM backbone, the six models at m = 19, the block-loss simulator,
and the smoke preset end to end (fixture -> both scenarios for all six models -> figures and Table 2)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import torch

from data_prep.opportunity import load_layout, prepare_opportunity
from data_prep.opportunity_fixture import write_opportunity_fixture
from embracenet.backbones import deepconvlstm
from embracenet.models import MODELS
from embracenet.scenarios import simulate_block_loss, subset_count, subset_masks
from embracenet.scenarios.missing_blocks import remove_blocks

ROOT = Path(__file__).resolve().parents[1]
GROUPS = load_layout().channel_groups
SHAPES = [(15, len(g)) for g in GROUPS]
MODEL_KWARGS = {"embracenet": {"embracement_size": 1024, "missing_prob": 0.5}, "autoencoder": {"input_range": (-1.0, 1.0)}}


def test_real_layout_has_19_sensors_of_3_9_16_channels():
    assert len(SHAPES) == 19 and sum(c for _, c in SHAPES) == 113
    assert sorted({c for _, c in SHAPES}) == [3, 9, 16]


def test_deepconvlstm_shapes():
    backbone = deepconvlstm()
    encoder = backbone.encoder((15, 9))
    features = encoder(torch.randn(2, 15, 9))
    assert features.shape == (2, 7, 64 * 9)  # 4 unpadded convolutions of kernel 3: 15 -> 7 steps
    early = backbone.encoder(backbone.concat_shape(SHAPES))
    assert early(torch.randn(1, 15, 113)).shape == (1, 7, 7232)  # the paper's 113 x 64 per step
    head = backbone.head(7232, 5)
    assert head(torch.randn(3, 7, 7232)).shape == (3, 5)
    decoder = backbone.decoder(64 * 113, (15, 113))
    assert decoder(torch.randn(2, 7, 64 * 113)).shape == (2, 15, 113)
    with pytest.raises(ValueError, match="too short"):
        backbone.encoder((8, 3))


@pytest.mark.parametrize("name", list(MODELS))
def test_six_models_at_m19_forward_backward(name):
    torch.manual_seed(0)
    model = MODELS[name](deepconvlstm(), SHAPES, 5, **MODEL_KWARGS.get(name, {}))
    for batch in (1, 2):
        xs = [torch.rand(batch, *s) * 2 - 1 for s in SHAPES]
        available = torch.ones(batch, 19, dtype=torch.bool)
        available[0, 4] = False
        model.train()
        model.zero_grad()
        loss = model.loss(xs, available, torch.zeros(batch, dtype=torch.long))
        if hasattr(model, "pretrain_loss"):
            loss = loss + model.pretrain_loss(xs, available)
        loss.backward()
        grads = [p.grad for p in model.parameters() if p.grad is not None]
        assert torch.isfinite(loss) and grads and all(torch.isfinite(g).all() for g in grads)
        model.eval()
        with torch.no_grad():
            logits = model(xs, available)
            single = model(xs, torch.eye(19, dtype=torch.bool)[:batch])  # one modality left
        assert logits.shape == (batch, 5) and torch.isfinite(logits).all() and torch.isfinite(single).all()
    assert model.needs_filled_inputs == (name in ("early", "intermediate", "compact_pooling"))


def test_subset_count_for_m19():
    assert subset_count(19, 1000) == 14319
    masks = subset_masks(19, 1000, seed=0)
    assert masks.shape == (14319, 19) and len({tuple(r) for r in masks.tolist()}) == 14319


# -- block-wise missing data --------------------------------------------------------------------------

LENGTHS = [5000, 3200, 4100, 2700]


@pytest.mark.parametrize("rate", [0.1, 0.5, 0.8, 0.9])
def test_block_loss_reaches_rate_within_one_block(rate):
    loss = simulate_block_loss(LENGTHS, 19, rate, 300, 900, seed=3)
    total = sum(LENGTHS) * 19
    removed = sum(int(m.sum()) for m in loss.masks)
    assert loss.achieved_rate == pytest.approx(removed / total)
    # The loop stops at the first block that reaches the target, and a block adds <= max_len pairs.
    assert rate <= loss.achieved_rate < rate + 900 / total
    assert [tuple(m.shape) for m in loss.masks] == [(t, 19) for t in LENGTHS]
    lengths = loss.blocks[:, 3] - loss.blocks[:, 2]
    assert int(lengths.min()) >= 300 and int(lengths.max()) <= 900
    # The union of the listed blocks is exactly the mask.
    rebuilt = [torch.zeros(t, 19, dtype=torch.bool) for t in LENGTHS]
    for s, k, a, b in loss.blocks.tolist():
        assert 0 <= a < b <= LENGTHS[s]
        rebuilt[s][a:b, k] = True
    assert all(torch.equal(x, y) for x, y in zip(rebuilt, loss.masks))


def test_block_loss_is_seeded_and_model_independent():
    a = simulate_block_loss(LENGTHS, 19, 0.5, seed=0)
    b = simulate_block_loss(LENGTHS, 19, 0.5, seed=0)
    c = simulate_block_loss(LENGTHS, 19, 0.5, seed=1)
    assert torch.equal(a.blocks, b.blocks) and all(torch.equal(x, y) for x, y in zip(a.masks, b.masks))
    assert not torch.equal(a.masks[0], c.masks[0])
    # Drawing other random numbers in between (as training a model would) changes nothing.
    torch.manual_seed(123)
    torch.rand(1000)
    d = simulate_block_loss(LENGTHS, 19, 0.5, seed=0)
    assert torch.equal(a.blocks, d.blocks)


def test_block_loss_short_sessions_and_errors():
    loss = simulate_block_loss([100, 50], 2, 0.7, 300, 900, seed=0)
    lengths = (loss.blocks[:, 3] - loss.blocks[:, 2]).tolist()
    sessions = loss.blocks[:, 0].tolist()
    assert all(n == [100, 50][s] for n, s in zip(lengths, sessions))  # clipped to the whole session
    assert simulate_block_loss([100], 2, 0.0).achieved_rate == 0.0
    with pytest.raises(ValueError, match="target missing rate"):
        simulate_block_loss([100], 2, 1.0)
    with pytest.raises(ValueError, match="min_len"):
        simulate_block_loss([100], 2, 0.5, 10, 5)


def test_remove_blocks_sets_nan_on_the_modality_channels():
    import numpy as np
    from data_prep.opportunity import SessionStream

    stream = SessionStream("S2-ADL4", np.zeros((40, 5), np.float32), np.zeros((40, 2), bool), np.zeros(40, np.int64))
    mask = torch.zeros(40, 2, dtype=torch.bool)
    mask[10:20, 1] = True
    (out,), (missing,) = remove_blocks([stream], [mask], [[0, 1], [2, 3, 4]])
    assert np.isnan(out.data[10:20, 2:]).all() and not np.isnan(out.data[:, :2]).any()
    assert np.isnan(out.data).sum() == 30 and missing[:, 1].sum() == 10 and not missing[:, 0].any()


# -- the smoke preset end to end -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def fixture_cache(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("opp_experiment")
    fixture = write_opportunity_fixture(root / "src", n_rows=45, seed=1)
    return prepare_opportunity(fixture.root, root / "cache", expected_checksums=fixture.checksums)


def test_opportunity_dataset_loader(fixture_cache):
    from embracenet.data.opportunity import opportunity

    data = opportunity(fixture_cache, "gestures", train_step=5)
    assert data.n_modalities == 19 and data.n_classes == 18 and data.value_range == (-1.0, 1.0)
    assert data.modality_shapes == SHAPES
    assert set(data.complete_rows) == {"val", "test"} and len(data.complete_rows["test"]) == len(data.test)
    streams = data.raw_streams("test")
    split = data.windows(streams, [s.missing for s in streams], use_missing_mask=True)
    assert torch.equal(split.starts, data.test.starts) and torch.equal(split.labels, data.test.labels)
    torch.testing.assert_close(split.batch(torch.arange(4)).xs[0], data.test.batch(torch.arange(4)).xs[0])
    with pytest.raises(FileNotFoundError, match="data_prep.opportunity"):
        opportunity(fixture_cache.parent / "absent.h5")


def test_smoke_preset_runs_all_models_both_scenarios_and_scripts(fixture_cache, tmp_path):
    from hydra import compose, initialize_config_dir

    from experiments.run import run

    runs = tmp_path / "runs"
    with initialize_config_dir(config_dir=str(ROOT / "configs"), version_base="1.3"):
        cfg = compose(config_name="config", overrides=["dataset=opportunity_locomotion", "+scenario=missing_blocks"])
        assert cfg.scenario.name == "missing_blocks"  # the single scenario composes with `+scenario=`
        for task in ("locomotion", "gestures"):
            for model in ("early", "late", "intermediate", "compact_pooling", "autoencoder", "embracenet_adj_pre"):
                overrides = ["experiment=opportunity_smoke", f"dataset=opportunity_{task}", f"model={model}",
                             f"dataset.loader.cache={fixture_cache}"]
                cfg = compose(config_name="config", overrides=overrides)
                metrics = run(cfg, runs / f"{task}_{model}")
                assert set(metrics.scenario) == {"missing_modalities", "missing_blocks"}
                assert metrics.weighted_f1.notna().all()
                blocks = metrics[metrics.scenario == "missing_blocks"]
                assert sorted(set(blocks.level)) == [0.0, 0.5, 0.8]
                assert (runs / f"{task}_{model}" / "missing_blocks.csv").is_file()
    assert cfg.model.net.embracement_size == 1024 and cfg.model.net.missing_prob == pytest.approx(0.5 * 19 / 18)
    out = tmp_path / "results"
    commands = [
        ["scripts/figure6_opportunity.py", str(runs), "--out", str(out / "figure6")],
        ["scripts/figure8_opportunity.py", str(runs), "--out", str(out / "figure8")],
        ["scripts/table2_opportunity.py", str(runs), "--reference", "results/reference/table2_paper.csv", "--out", str(out / "table2")],
    ]
    for command in commands:
        subprocess.run([sys.executable, *command], cwd=ROOT, check=True, capture_output=True)
    for name in ("figure6", "figure8", "table2"):
        for suffix in (".csv", ".md", ".png"):
            assert (out / f"{name}{suffix}").stat().st_size > 0, f"{name}{suffix}"
    table = (out / "table2.md").read_text()
    assert "EmbraceNet" in table and "## Gestures" in table and "(0.810)" in table  # the paper's value beside ours
