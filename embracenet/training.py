"""The one training loop: Adam, mini-batches, per-epoch validation, checkpoints that resume.

Every fusion model trains through :func:`train`; a model with a pretraining objective (the
multimodal autoencoder's ``pretrain_loss``) gets ``pretrain_epochs`` of it first, in the same loop.
"""

from __future__ import annotations

import copy
import math
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import torch

from .data.splits import MultimodalSplit
from .evaluation import evaluate
from .models.base import FusionModel
from .progress import progress_bar


class TrainingError(RuntimeError):
    """Training cannot go on (e.g. the loss became NaN)."""


@dataclass
class TrainConfig:
    """Hyperparameters of section 7 (Adam with eps 1e-2, lr 1e-3, batch 64) and run settings."""

    epochs: int = 10
    pretrain_epochs: int = 0
    batch_size: int = 64
    lr: float = 1e-3
    betas: tuple[float, float] = (0.9, 0.999)
    eps: float = 1e-2
    seed: int = 0
    select_best: bool = False  # keep the weights of the epoch with the best validation F1
    eval_batch_size: int = 1024
    device: str = "cpu"
    # Image models: NHWC convolutions are 12-18 % faster on this project's CPU machines
    # (scripts/bench_training.py); no effect on models without 4-D inputs.
    channels_last: bool = False

    def __post_init__(self) -> None:
        checks = {
            "epochs": self.epochs >= 0,
            "pretrain_epochs": self.pretrain_epochs >= 0,
            "batch_size": self.batch_size >= 1,
            "lr": self.lr > 0,
            "eps": self.eps > 0,
            "betas": all(0 <= b < 1 for b in self.betas),
        }
        for name, ok in checks.items():
            if not ok:
                raise ValueError(f"trainer.{name} has an impossible value: {getattr(self, name)!r}")


@dataclass
class TrainResult:
    history: list[dict] = field(default_factory=list)
    best_epoch: int | None = None
    seconds: float = 0.0


def _phases(model: FusionModel, cfg: TrainConfig) -> list[tuple[str, int, Callable]]:
    phases = []
    if cfg.pretrain_epochs > 0:
        if not hasattr(model, "pretrain_loss"):
            raise ValueError(f"trainer.pretrain_epochs={cfg.pretrain_epochs} but {type(model).__name__} has no pretraining objective")
        phases.append(("pretrain", cfg.pretrain_epochs, model.pretrain_loss))
    phases.append(("train", cfg.epochs, model.loss))
    return phases


def train(
    model: FusionModel,
    train_split: MultimodalSplit,
    val_split: MultimodalSplit | None = None,
    cfg: TrainConfig | None = None,
    checkpoint: str | os.PathLike | None = None,
    progress: bool = True,
    on_epoch: Callable[[dict], None] | None = None,
    fingerprint: str = "",
) -> TrainResult:
    """Train ``model`` in place.

    Args:
        train_split, val_split: data; validation (if given) is scored after every epoch.
        cfg: hyperparameters.
        checkpoint: file to save after every epoch (tensors only) and to resume from if present.
        progress: show tqdm bars (``TQDM_DISABLE=1`` silences them too).
        on_epoch: called with each epoch's record (for loggers).
        fingerprint: identifies what is trained (e.g. a hash of the run's configuration); saved
            in the checkpoint, and a checkpoint with another fingerprint is refused instead of
            being resumed into a different experiment.

    Returns:
        The per-epoch history (phase, epoch, mean loss, validation scores, seconds).
    """
    cfg = cfg or TrainConfig()
    device = torch.device(cfg.device)
    model.to(device)
    if cfg.channels_last:
        model.to(memory_format=torch.channels_last)
    model.fit_statistics([m.to(device) for m in train_split.modality_means()])
    torch.manual_seed(cfg.seed)
    order = torch.Generator().manual_seed(cfg.seed)
    optimizer = torch.optim.Adam(model.parameters(), lr=cfg.lr, betas=cfg.betas, eps=cfg.eps)
    result, done, best_f1, best_state = TrainResult(), 0, -math.inf, None
    if checkpoint is not None and Path(checkpoint).exists():
        done, best_f1, best_state = _resume(checkpoint, model, optimizer, order, result, fingerprint)
    start = time.perf_counter() - result.seconds
    step = 0
    for phase, epochs, loss_fn in _phases(model, cfg):
        if phase == "train" and cfg.pretrain_epochs > 0 and done <= cfg.pretrain_epochs:
            # A fresh optimizer for fine-tuning: the pretraining moments belong to the decoder's objective.
            optimizer = torch.optim.Adam(model.parameters(), lr=cfg.lr, betas=cfg.betas, eps=cfg.eps)
        for epoch in range(epochs):
            step += 1
            if step <= done:
                continue
            model.train()
            losses = []
            bar = progress_bar(
                train_split.batches(cfg.batch_size, shuffle=True, generator=order),
                progress,
                total=math.ceil(len(train_split) / cfg.batch_size),
                desc=f"{phase} {epoch + 1}/{epochs}",
                leave=False,
            )
            for batch in bar:
                batch = batch.to(device)
                if cfg.channels_last:
                    batch.xs = [x.contiguous(memory_format=torch.channels_last) if x.ndim == 4 else x for x in batch.xs]
                loss = loss_fn(batch.xs, batch.available, batch.y)
                if not torch.isfinite(loss):
                    raise TrainingError(
                        f"{phase} loss became {loss.item()} at epoch {epoch + 1}, step {len(losses) + 1} of "
                        f"{type(model).__name__}; check the inputs for NaN or lower trainer.lr (now {cfg.lr})."
                    )
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                losses.append(loss.item())
                if len(losses) % 50 == 0:
                    bar.set_postfix(loss=f"{sum(losses[-50:]) / 50:.4f}")
            record = {"phase": phase, "epoch": step, "loss": sum(losses) / max(len(losses), 1)}
            if val_split is not None and phase == "train":
                scores = evaluate(model, val_split, batch_size=cfg.eval_batch_size, seed=cfg.seed, device=device)
                record.update(val_weighted_f1=scores["weighted_f1"], val_error_rate=scores["error_rate"])
                if cfg.select_best and scores["weighted_f1"] > best_f1:
                    best_f1, best_state = scores["weighted_f1"], copy.deepcopy(model.state_dict())
                    result.best_epoch = step
            record["seconds"] = time.perf_counter() - start
            result.history.append(record)
            result.seconds = record["seconds"]
            if on_epoch is not None:
                on_epoch(record)
            if checkpoint is not None:
                _save(checkpoint, model, optimizer, order, result, step, best_f1, best_state, fingerprint)
    if cfg.select_best and best_state is not None:
        model.load_state_dict(best_state)
    result.seconds = time.perf_counter() - start
    return result


def _save(path, model, optimizer, order, result: TrainResult, step: int, best_f1: float, best_state, fingerprint: str) -> None:
    """Write the checkpoint to a temporary file and rename it, so a kill never leaves half a file."""
    state = {
        "model": model.state_dict(),
        "optimizer": optimizer.state_dict(),
        "epochs_done": step,
        "torch_rng": torch.get_rng_state(),
        "order_rng": order.get_state(),
        "history": result.history,
        "best_epoch": -1 if result.best_epoch is None else result.best_epoch,
        "best_f1": best_f1,
        "best_state": best_state or {},
        "seconds": result.seconds,
        "fingerprint": fingerprint,
    }
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".part")
    torch.save(state, tmp)
    os.replace(tmp, path)


def _resume(path, model, optimizer, order, result: TrainResult, fingerprint: str):
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # a foreign or damaged file: say which, never guess
        raise TrainingError(f"{path}: cannot read the checkpoint ({error}); delete it to train from scratch.") from error
    saved = state.get("fingerprint", "")
    if fingerprint and saved and saved != fingerprint:
        raise TrainingError(
            f"{path} was written by a run with a different configuration (fingerprint {saved}, this run {fingerprint}); "
            "choose another output folder, or delete the checkpoint to train from scratch."
        )
    try:
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
    except (RuntimeError, ValueError, KeyError) as error:
        raise TrainingError(f"{path} does not fit this model ({error}); choose another output folder or delete it.") from error
    torch.set_rng_state(state["torch_rng"])
    order.set_state(state["order_rng"])
    result.history = list(state["history"])
    result.best_epoch = None if state["best_epoch"] < 0 else int(state["best_epoch"])
    result.seconds = float(state["seconds"])
    return int(state["epochs_done"]), float(state["best_f1"]), (state["best_state"] or None)
