"""Every fusion model: forward + backward on tiny inputs, finite outputs, a gradient for every parameter."""

import pytest
import torch
from torch import nn

from embracenet.backbones import Backbone, fc_block, mnist_half_cnn
from embracenet.models import MODELS, EmbraceNetModel, IntermediateIntegration, LateIntegration


def tiny_backbone() -> Backbone:
    """A small vector backbone so that m = 19 stays fast."""
    return Backbone(
        name="tiny",
        encoder=lambda shape: nn.Sequential(nn.Flatten(), nn.Linear(shape[-1], 6), nn.ReLU()),
        head=lambda n_in, n_classes: nn.Sequential(fc_block(n_in, 8, 0.5), nn.Linear(8, n_classes)),
        early_width=12,
        fusion_width=5,
        decoder=lambda code, shape: nn.Linear(code, shape[-1]),
    )


def build(name: str, backbone: Backbone, shapes, n_classes: int = 3) -> nn.Module:
    kwargs = {"pooled_size": 32} if name == "compact_pooling" else {}
    if name == "embracenet":
        kwargs = {"embracement_size": 16, "missing_prob": 0.5}
    torch.manual_seed(0)
    return MODELS[name](backbone, shapes, n_classes, **kwargs)


def check_forward_backward(model: nn.Module, xs, available, y) -> None:
    model.train()
    logits = model(xs, available)
    assert logits.shape == (len(y), model.n_classes)
    assert torch.isfinite(logits).all()
    loss = model.loss(xs, available, y)
    if hasattr(model, "pretrain_loss"):
        loss = loss + model.pretrain_loss(xs, available, y)
    loss.backward()
    for name, p in model.named_parameters():
        assert p.grad is not None, f"no gradient for {name}"
        assert torch.isfinite(p.grad).all(), f"non-finite gradient for {name}"
    model.eval()
    with torch.no_grad():
        assert torch.isfinite(model(xs, available)).all()


@pytest.mark.parametrize("name", sorted(MODELS))
@pytest.mark.parametrize("m", [2, 8, 19])
@pytest.mark.parametrize("batch", [1, 3])
def test_vector_models(name, m, batch):
    shapes = [(4 + k % 3,) for k in range(m)]
    xs = [torch.rand(batch, *s) for s in shapes]
    available = torch.ones(batch, m, dtype=torch.bool)
    y = torch.randint(3, (batch,))
    check_forward_backward(build(name, tiny_backbone(), shapes), xs, available, y)


@pytest.mark.parametrize("name", sorted(MODELS))
def test_image_models_on_digit_halves(name):
    shapes = [(1, 8, 4), (1, 8, 4)]
    xs = [torch.rand(2, *s) for s in shapes]
    available = torch.tensor([[True, True], [True, False]])
    check_forward_backward(build(name, mnist_half_cnn(channels=8, fusion_width=16), shapes, 10), xs, available, torch.tensor([1, 2]))


@pytest.mark.parametrize("name", sorted(MODELS))
def test_missing_modality_rows_stay_finite(name):
    shapes = [(5,)] * 4
    xs = [torch.rand(4, 5) for _ in shapes]
    available = torch.tensor([[1, 0, 0, 0], [0, 0, 0, 1], [1, 1, 1, 1], [0, 0, 0, 0]], dtype=torch.bool)
    model = build(name, tiny_backbone(), shapes).eval()
    with torch.no_grad():
        assert torch.isfinite(model(xs, available)).all()


def test_intermediate_fills_missing_with_training_mean():
    shapes = [(5,), (5,)]
    model = build("intermediate", tiny_backbone(), shapes).eval()
    means = [torch.full((5,), 0.3), torch.full((5,), 0.7)]
    model.fit_statistics(means)
    x = [torch.rand(2, 5), torch.rand(2, 5)]
    missing = model(x, torch.tensor([[True, False]] * 2))
    filled = model([x[0], means[1].expand(2, 5)], torch.ones(2, 2, dtype=torch.bool))
    assert torch.allclose(missing, filled)


def test_embracenet_ignores_missing_modality_values():
    shapes = [(5,), (5,)]
    model = build("embracenet", tiny_backbone(), shapes).eval()
    x0 = torch.rand(2, 5)
    available = torch.tensor([[True, False]] * 2)
    a = model([x0, torch.rand(2, 5)], available, generator=torch.Generator().manual_seed(0))
    b = model([x0, torch.rand(2, 5) * 100], available, generator=torch.Generator().manual_seed(0))
    assert torch.allclose(a, b)


def test_late_integration_weights_only_available_modalities():
    shapes = [(5,), (5,)]
    model: LateIntegration = build("late", tiny_backbone(), shapes).eval()
    xs = [torch.rand(3, 5), torch.rand(3, 5)]
    branch0 = torch.log_softmax(model.branches[0](xs[0]), -1)
    only_first = model(xs, torch.tensor([[True, False]] * 3))
    assert torch.allclose(only_first, branch0, atol=1e-5)
    with pytest.raises(ValueError, match="weights"):
        model.set_weights([0.0, 0.0])


def test_encode_fuse_equals_forward():
    shapes = [(5,)] * 3
    for name in ("intermediate", "late", "compact_pooling", "early", "autoencoder"):
        model = build(name, tiny_backbone(), shapes).eval()
        xs = [torch.rand(4, 5) for _ in shapes]
        available = torch.tensor([[1, 0, 1], [0, 1, 0], [1, 1, 1], [0, 0, 1]], dtype=torch.bool)
        assert torch.allclose(model(xs, available), model.fuse(model.encode(xs), available), atol=1e-6), name


def test_compact_pooling_stays_finite_for_many_modalities():
    from embracenet.nn import CompactMultilinearPooling

    pool = CompactMultilinearPooling([64] * 19, 1024)
    xs = [torch.randn(8, 64) * 1e3 for _ in range(19)]
    out = pool(xs)
    assert torch.isfinite(out).all()
    assert torch.allclose(out.norm(dim=-1), torch.ones(8), atol=1e-4)


def test_input_checks_name_the_tensor():
    model = build("intermediate", tiny_backbone(), [(5,), (5,)])
    with pytest.raises(ValueError, match=r"xs\[1\] has shape \(2, 4\), expected \[2, 5\]"):
        model([torch.rand(2, 5), torch.rand(2, 4)])
    with pytest.raises(ValueError, match="built for 2 modalities"):
        model([torch.rand(2, 5)])
    with pytest.raises(ValueError, match="available has shape"):
        model([torch.rand(2, 5), torch.rand(2, 5)], torch.ones(2, 3, dtype=torch.bool))


def test_embracenet_model_probabilities():
    model: EmbraceNetModel = build("embracenet", tiny_backbone(), [(5,), (5,)])
    model.set_probabilities([0.7, 0.3])
    assert torch.allclose(model.embracenet.probabilities, torch.tensor([0.7, 0.3]))
    with pytest.raises(ValueError, match="non-negative"):
        model.set_probabilities([-1.0, 2.0])
    assert isinstance(build("intermediate", tiny_backbone(), [(5,)]), IntermediateIntegration)
