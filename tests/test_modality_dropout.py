import pytest
import torch

from embracenet import modality_dropout, probabilities_from_scores


def test_keeps_at_least_one_available_modality_and_never_adds_one():
    g = torch.Generator().manual_seed(0)
    available = torch.rand(5000, 6, generator=g) < 0.7
    available[0] = False
    out = modality_dropout(available, 0.9, generator=g)
    assert not (out & ~available).any()
    rows = available.any(1)
    assert out[rows].any(1).all()
    assert not out[0].any()


def test_two_modalities_match_table1_setting():
    g = torch.Generator().manual_seed(1)
    out = modality_dropout(torch.ones(20000, 2, dtype=torch.bool), 0.5, generator=g)
    both = out.all(1).float().mean()
    left_only = (out[:, 0] & ~out[:, 1]).float().mean()
    assert abs(both - 0.5) < 0.02 and abs(left_only - 0.25) < 0.02


@pytest.mark.parametrize("m", [8, 19])
def test_mean_missing_fraction(m):
    out = modality_dropout(torch.ones(20000, m, dtype=torch.bool), 0.5, generator=torch.Generator().manual_seed(m))
    expected = 0.5 * (m - 1) / m
    assert abs((~out).float().mean() - expected) < 0.01


def test_bad_probability():
    with pytest.raises(ValueError, match="missing_prob"):
        modality_dropout(torch.ones(2, 2, dtype=torch.bool), 1.5)


def test_probabilities_from_scores():
    assert torch.allclose(probabilities_from_scores([0.9089, 0.9092]).sum(), torch.tensor(1.0))
    assert torch.allclose(probabilities_from_scores([1.0, 3.0]), torch.tensor([0.25, 0.75]))
    for bad in ([0.0, 0.0], [-1.0, 2.0], [float("nan"), 1.0]):
        with pytest.raises(ValueError):
            probabilities_from_scores(bad)
