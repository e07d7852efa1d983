import math

import pytest
import torch
from scipy.stats import chisquare

from embracenet import EmbraceNet, embrace
from embracenet.nn.embracement import sample_modalities, selection_probabilities


def identity_docked(batch: int, m: int, c: int) -> torch.Tensor:
    """docked[b, k, i] = k, so the embraced value tells which modality was selected."""
    return torch.arange(m, dtype=torch.float32).view(1, m, 1).expand(batch, m, c).clone()


def test_output_shape_and_selects_one_of_the_inputs():
    net = EmbraceNet([7, 5, 3], embracement_size=16)
    xs = [torch.randn(4, 7), torch.randn(4, 5), torch.randn(4, 3)]
    docked = net.dock(xs)
    out = net(xs)
    assert out.shape == (4, 16)
    # every feature equals the docked value of exactly one modality
    assert ((docked - out.unsqueeze(1)).abs() < 1e-6).any(1).all()


def test_unavailable_modality_is_never_selected():
    m, c = 5, 4096
    docked = identity_docked(8, m, c)
    available = torch.tensor([[1, 0, 1, 0, 1]] * 4 + [[0, 0, 0, 1, 0]] * 4, dtype=torch.bool)
    out = embrace(docked, available, generator=torch.Generator().manual_seed(0))
    for row, avail in zip(out, available):
        chosen = set(row.long().tolist())
        assert chosen <= set(torch.nonzero(avail).flatten().tolist())


def test_zero_probability_modality_at_the_end_is_never_selected():
    # floating-point sums must not let a draw fall past the last positive probability
    p = torch.tensor([1 / 3, 1 / 3, 1 / 3, 0.0])
    docked = identity_docked(64, 4, 2048)
    out = embrace(docked, probabilities=p, generator=torch.Generator().manual_seed(1))
    assert out.max() < 3


def test_frequencies_match_renormalised_probabilities():
    m, c, batch = 4, 5000, 20
    p = torch.tensor([0.1, 0.2, 0.3, 0.4])
    available = torch.tensor([True, False, True, True]).expand(batch, m)
    out = embrace(identity_docked(batch, m, c), available, p, generator=torch.Generator().manual_seed(2))
    counts = torch.bincount(out.long().flatten(), minlength=m).double()
    assert counts[1] == 0
    p_hat = torch.tensor([0.1, 0.3, 0.4]) / 0.8
    expected = p_hat * counts.sum()
    assert chisquare(counts[[0, 2, 3]].numpy(), expected.numpy()).pvalue > 1e-3


def test_per_sample_probabilities():
    m, c = 2, 4000
    p = torch.tensor([[1.0, 0.0], [0.0, 1.0], [0.5, 0.5]])
    out = embrace(identity_docked(3, m, c), probabilities=p, generator=torch.Generator().manual_seed(3))
    assert out[0].eq(0).all() and out[1].eq(1).all()
    assert 0.45 < out[2].mean() < 0.55


def test_seed_reproduces_the_draw():
    docked = torch.randn(6, 3, 128)
    a = embrace(docked, generator=torch.Generator().manual_seed(7))
    b = embrace(docked, generator=torch.Generator().manual_seed(7))
    c = embrace(docked, generator=torch.Generator().manual_seed(8))
    assert torch.equal(a, b) and not torch.equal(a, c)


def test_row_without_any_modality_gives_zeros_not_nan():
    net = EmbraceNet([3, 3], embracement_size=8)
    xs = [torch.randn(3, 3, requires_grad=True), torch.randn(3, 3, requires_grad=True)]
    available = torch.tensor([[1, 1], [0, 0], [1, 0]], dtype=torch.bool)
    out = net(xs, available)
    assert torch.isfinite(out).all()
    assert out[1].eq(0).all()
    out.sum().backward()
    assert all(torch.isfinite(x.grad).all() for x in xs)
    p_hat, any_available = selection_probabilities(available, torch.tensor([0.5, 0.5]), torch.Size([3]))
    assert any_available.tolist() == [True, False, True]
    assert torch.isfinite(p_hat).all()


def test_time_axis_with_per_sample_availability():
    net = EmbraceNet([4, 6, 2], embracement_size=10)
    xs = [torch.randn(2, 7, 4), torch.randn(2, 7, 6), torch.randn(2, 7, 2)]
    available = torch.tensor([[1, 0, 0], [0, 1, 1]], dtype=torch.bool)
    docked = net.dock(xs)
    out = net(xs, available)
    assert out.shape == (2, 7, 10)
    # sample 0 only has modality 0 at every time step
    assert torch.allclose(out[0], docked[0, :, 0])


def test_expectation_and_average_modes():
    docked = torch.randn(5, 3, 32)
    available = torch.tensor([[1, 1, 0]] * 5, dtype=torch.bool)
    p = torch.tensor([0.2, 0.6, 0.2])
    expected = 0.25 * docked[:, 0] + 0.75 * docked[:, 1]
    assert torch.allclose(embrace(docked, available, p, mode="expectation"), expected, atol=1e-6)
    averaged = embrace(docked, available, p, mode="average", n_draws=4000, generator=torch.Generator().manual_seed(0))
    assert torch.allclose(averaged, expected, atol=0.1)



@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(input_sizes=[], embracement_size=4), "at least one modality"),
        (dict(input_sizes=[3, 3], embracement_size=0), "embracement_size"),
        (dict(input_sizes=[3, 3], embracement_size=4, probabilities=[-0.5, 1.5]), "non-negative"),
        (dict(input_sizes=[3, 3], embracement_size=4, probabilities=[0.0, 0.0]), "sums to zero"),
        (dict(input_sizes=[3, 3], embracement_size=4, probabilities=[1.0]), "shape"),
        (dict(input_sizes=[3, 3], embracement_size=4, probabilities=[math.nan, 1.0]), "NaN"),
    ],
)
def test_bad_construction_is_a_clear_error(kwargs, message):
    with pytest.raises(ValueError, match=message):
        EmbraceNet(**kwargs)


def test_bad_inputs_are_clear_errors():
    net = EmbraceNet([3, 4], embracement_size=4)
    with pytest.raises(ValueError, match="2 modalities but got 1"):
        net([torch.randn(2, 3)])
    with pytest.raises(ValueError, match="input 1 has last dimension 5, expected 4"):
        net([torch.randn(2, 3), torch.randn(2, 5)])
    with pytest.raises(ValueError, match="available"):
        net([torch.randn(2, 3), torch.randn(2, 4)], available=torch.ones(2, 3, dtype=torch.bool))


def test_sample_modalities_shape():
    p_hat = torch.softmax(torch.randn(3, 4, 5), -1)
    index = sample_modalities(p_hat, 11, torch.Generator().manual_seed(0))
    assert index.shape == (3, 4, 11) and index.max() < 5


def test_eval_mode_uses_the_configured_inference():
    net = EmbraceNet([3, 3], embracement_size=64, inference="expectation").eval()
    xs = [torch.randn(2, 3), torch.randn(2, 3)]
    assert torch.equal(net(xs), net(xs))  # the expectation is deterministic
    net.train()  # training always samples
    torch.manual_seed(0)
    assert not torch.equal(net(xs), net(xs))
