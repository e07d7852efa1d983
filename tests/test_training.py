import pytest
import torch

from embracenet.data.splits import TensorSplit
from embracenet.training import TrainConfig, TrainingError, train

from .test_models import build, tiny_backbone


def toy_split(n: int = 96, seed: int = 0) -> TensorSplit:
    g = torch.Generator().manual_seed(seed)
    y = torch.randint(3, (n,), generator=g)
    xs = [torch.nn.functional.one_hot(y, 5).float() + 0.3 * torch.randn(n, 5, generator=g) for _ in range(2)]
    return TensorSplit(xs, y)


def fit(name: str, epochs: int, checkpoint=None, **cfg):
    model = build(name, tiny_backbone(), [(5,), (5,)])
    result = train(model, toy_split(), toy_split(48, 1), TrainConfig(epochs=epochs, batch_size=16, seed=0, **cfg), checkpoint=checkpoint, progress=False)
    return model, result


def test_same_seed_same_numbers():
    a_model, a = fit("embracenet", 2)
    b_model, b = fit("embracenet", 2)
    assert [r["loss"] for r in a.history] == [r["loss"] for r in b.history]
    assert all(torch.equal(x, y) for x, y in zip(a_model.state_dict().values(), b_model.state_dict().values()))


def test_training_learns_the_toy_task():
    _, result = fit("early", 15, lr=3e-2)
    assert result.history[-1]["val_weighted_f1"] > 0.8
    assert result.history[-1]["loss"] < result.history[0]["loss"]


def test_resume_from_checkpoint_gives_the_same_result(tmp_path):
    ckpt = tmp_path / "checkpoint.pt"
    full_model, full = fit("embracenet", 4)
    fit("embracenet", 2, checkpoint=ckpt)  # "killed" after two epochs
    resumed_model, resumed = fit("embracenet", 4, checkpoint=ckpt)
    assert [r["loss"] for r in resumed.history] == [r["loss"] for r in full.history]
    assert all(torch.equal(x, y) for x, y in zip(full_model.state_dict().values(), resumed_model.state_dict().values()))
    state = torch.load(ckpt, weights_only=True)  # tensors and plain containers only
    assert state["epochs_done"] == 4


def test_autoencoder_pretrains_then_finetunes():
    _, result = fit("autoencoder", 2, pretrain_epochs=1)
    assert [r["phase"] for r in result.history] == ["pretrain", "train", "train"]
    assert "val_weighted_f1" in result.history[-1]


def test_select_best_restores_best_epoch():
    _, result = fit("intermediate", 3, select_best=True)
    best = max(result.history, key=lambda r: r["val_weighted_f1"])
    assert result.best_epoch == best["epoch"]


def test_nan_input_stops_with_a_clear_error():
    model = build("intermediate", tiny_backbone(), [(5,), (5,)])
    split = toy_split()
    split.xs[0][3, 2] = float("nan")
    with pytest.raises((TrainingError, ValueError), match="NaN"):
        train(model, split, None, TrainConfig(epochs=1, batch_size=16), progress=False)


def test_corrupt_checkpoint_is_reported_and_kept(tmp_path):
    ckpt = tmp_path / "checkpoint.pt"
    ckpt.write_bytes(b"not a checkpoint")
    with pytest.raises(TrainingError, match="cannot read the checkpoint"):
        fit("intermediate", 1, checkpoint=ckpt)
    assert ckpt.read_bytes() == b"not a checkpoint"


@pytest.mark.parametrize("field, value", [("epochs", -1), ("batch_size", 0), ("lr", 0.0), ("eps", -1.0)])
def test_impossible_trainer_values(field, value):
    with pytest.raises(ValueError, match=f"trainer.{field}"):
        TrainConfig(**{field: value})


def test_channels_last_trains_image_models_to_the_same_loss():
    from embracenet.backbones import mnist_half_cnn
    from embracenet.models import EmbraceNetModel

    def run(channels_last: bool) -> float:
        torch.manual_seed(0)
        model = EmbraceNetModel(mnist_half_cnn(channels=8, fusion_width=16), [(1, 8, 4), (1, 8, 4)], 3, embracement_size=16)
        g = torch.Generator().manual_seed(0)
        split = TensorSplit([torch.rand(32, 1, 8, 4, generator=g) for _ in range(2)], torch.randint(3, (32,), generator=g))
        result = train(model, split, None, TrainConfig(epochs=2, batch_size=8, channels_last=channels_last), progress=False)
        return result.history[-1]["loss"]

    assert run(True) == pytest.approx(run(False), rel=1e-4)
