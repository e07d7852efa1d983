import math

import numpy as np
import pytest
import torch
from sklearn.metrics import f1_score

from embracenet.data.splits import TensorSplit
from embracenet.evaluation import evaluate, evaluate_subsets
from embracenet.metrics import confusion_matrices, scores_from_confusion
from embracenet.scenarios import subset_count, subset_masks

from .test_models import build, tiny_backbone


def test_subset_counts_match_the_paper():
    assert len(subset_masks(8)) == 255 == subset_count(8)
    masks = subset_masks(19, max_per_size=1000, seed=0)
    assert len(masks) == 14319 == subset_count(19, 1000)
    assert len({tuple(r) for r in masks.tolist()}) == 14319  # all distinct
    assert masks.any(1).all()
    sizes = masks.sum(1)
    assert (torch.bincount(sizes)[1:] == torch.tensor([min(1000, math.comb(19, i)) for i in range(1, 20)])).all()


def test_subset_sampling_is_seeded():
    a, b, c = subset_masks(19, 50, seed=1), subset_masks(19, 50, seed=1), subset_masks(19, 50, seed=2)
    assert torch.equal(a, b) and not torch.equal(a, c)
    with pytest.raises(ValueError):
        subset_masks(0)


def test_weighted_f1_from_confusion_matches_sklearn():
    rng = np.random.default_rng(0)
    y = torch.from_numpy(rng.integers(0, 5, 300))
    preds = torch.from_numpy(rng.integers(0, 5, (4, 300)))
    preds[1] = y  # perfect
    preds[2] = 0  # one class only: zero-division handling
    f1, err = scores_from_confusion(confusion_matrices(y, preds, 6))
    for i in range(4):
        assert f1[i] == pytest.approx(f1_score(y, preds[i], average="weighted", zero_division=0), abs=1e-12)
        assert err[i] == pytest.approx((preds[i] != y).double().mean().item())


@pytest.mark.parametrize("name", ["intermediate", "late", "compact_pooling", "early", "embracenet"])
def test_cached_subset_evaluation_equals_full_forward(name):
    torch.manual_seed(0)
    shapes = [(5,)] * 4
    model = build(name, tiny_backbone(), shapes, n_classes=3).eval()
    if name == "embracenet":
        model.embracenet.inference = "expectation"  # deterministic, so both paths must agree exactly
    split = TensorSplit([torch.rand(50, 5) for _ in shapes], torch.randint(3, (50,)))
    masks = subset_masks(4)
    scores = evaluate_subsets(model, split, masks, batch_size=16)
    for i, mask in enumerate(masks):
        with torch.no_grad():
            pred = model(split.xs, mask.expand(50, 4)).argmax(-1)
        assert scores.error_rate[i].item() == pytest.approx((pred != split.y).double().mean().item())
        assert scores.n[i] == 50


def test_evaluation_is_reproducible_with_sampling_and_rows_filter():
    model = build("embracenet", tiny_backbone(), [(5,)] * 3).eval()
    split = TensorSplit([torch.rand(40, 5) for _ in range(3)], torch.randint(3, (40,)))
    a = evaluate(model, split, seed=3)
    b = evaluate(model, split, seed=3)
    assert a == b
    rows = torch.zeros(40, dtype=torch.bool)
    rows[:10] = True
    assert evaluate_subsets(model, split, subset_masks(3), rows=rows).n.eq(10).all()
