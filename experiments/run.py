"""The one entry point: train -> calibrate -> evaluate a scenario -> metrics.csv.

    python -m experiments.run dataset=digits model=embracenet +scenario=missing_modalities
    python -m experiments.run -m model=intermediate,embracenet,embracenet_adj_pre seed=0,1,2

Every run writes, in its own output directory: ``config.yaml`` (resolved), ``history.csv``
(per-epoch loss and validation scores), ``checkpoint.pt`` (tensors only) and ``metrics.csv``
(long format: one row per variant and subset of modalities).
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import time
from pathlib import Path

import hydra
import pandas as pd
import torch
from hydra.core.hydra_config import HydraConfig
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf

from data_prep.files import atomic_write
from embracenet.calibration import modality_scores, probabilities_from_scores
from embracenet.data.dataset import MultimodalDataset
from embracenet.models.base import FusionModel
from embracenet.nn.embracement import check_probabilities
from embracenet.scenarios import evaluate_complete
from embracenet.training import TrainConfig, train

from .loggers import make_logger

log = logging.getLogger(__name__)

METRIC_COLUMNS = ["dataset", "model", "variant", "scenario", "level", "subset", "seed", "weighted_f1", "error_rate", "n"]


class ConfigError(ValueError):
    """An option has an impossible value; raised before any work is done."""


def trainer_config(cfg: DictConfig) -> TrainConfig:
    t = cfg.trainer
    try:
        return TrainConfig(
            epochs=t.epochs, pretrain_epochs=t.pretrain_epochs, batch_size=t.batch_size, lr=t.lr,
            betas=tuple(t.betas), eps=t.eps, seed=t.seed, select_best=t.select_best,
            eval_batch_size=t.eval_batch_size, device=t.device, channels_last=t.get("channels_last", False),
        )  # fmt: skip
    except ValueError as error:
        raise ConfigError(str(error)) from error


def check_config(cfg: DictConfig) -> None:
    """Static checks of the options that would otherwise fail deep inside a run."""
    m = cfg.dataset.n_modalities
    net = cfg.model.net
    if "embracement_size" in net and net.embracement_size <= 0:
        raise ConfigError(f"model.net.embracement_size (c) must be a positive integer, got {net.embracement_size}")
    if net.get("probabilities") is not None:
        try:
            check_probabilities(list(net.probabilities), m, "model.net.probabilities")
        except ValueError as error:
            raise ConfigError(f"{error} (dataset {cfg.dataset.name} has {m} modalities)") from error
    if "missing_prob" in net and not 0 <= net.missing_prob <= 1:
        raise ConfigError(f"model.net.missing_prob must be in [0, 1], got {net.missing_prob}")
    if cfg.eval_split not in ("val", "test"):
        raise ConfigError(f"eval_split must be 'val' or 'test', got {cfg.eval_split!r}")
    scenario = cfg.get("scenario")
    if scenario is not None:
        max_per_size = scenario.evaluate.get("max_per_size")
        if max_per_size is not None and max_per_size < 1:
            raise ConfigError(f"scenario.evaluate.max_per_size must be >= 1 or null, got {max_per_size}")


def build_model(cfg: DictConfig, dataset: MultimodalDataset) -> FusionModel:
    if dataset.n_modalities != cfg.dataset.n_modalities:
        raise ConfigError(
            f"dataset.n_modalities is {cfg.dataset.n_modalities} but the loaded data has {dataset.n_modalities} modalities"
        )
    backbone = instantiate(cfg.dataset.backbone)
    return instantiate(cfg.model.net)(backbone=backbone, modality_shapes=dataset.modality_shapes, n_classes=dataset.n_classes)


def scenario_evaluator(cfg: DictConfig):
    """``(name, fn)``: the scenario's evaluation function, or plain evaluation when none is chosen."""
    scenario = cfg.get("scenario")
    if scenario is None:
        return "complete", evaluate_complete
    return scenario.name, instantiate(scenario.evaluate)


def calibrate(model: FusionModel, dataset: MultimodalDataset, cfg: DictConfig) -> list[tuple[str, torch.Tensor | None]]:
    """Post-training settings and the variants to evaluate: ``[(variant, p or None), ...]``.

    Late integration always takes its validation-F1 weights (its definition). EmbraceNet is
    evaluated as trained and, when ``model.post_variant`` is set, with ``p`` proportional to its
    per-modality scores on ``dataset.calibration.split`` (never the test split).
    """
    variants: list[tuple[str, torch.Tensor | None]] = [(cfg.model.variant, None)]
    eval_kwargs = dict(batch_size=cfg.trainer.eval_batch_size, seed=cfg.seed, device=cfg.trainer.device)
    if hasattr(model, "set_weights"):
        weights = modality_scores(model, dataset.val, "weighted_f1", **eval_kwargs)
        log.info("late integration weights (validation F1): %s", weights.tolist())
        model.set_weights(weights)
    if hasattr(model, "set_probabilities") and cfg.model.post_variant:
        split = cfg.dataset.calibration.split
        if split == "test":
            raise ConfigError("dataset.calibration.split must not be 'test': Adj. post may not look at test data")
        scores = modality_scores(model, dataset.split(split), cfg.dataset.calibration.metric, **eval_kwargs)
        p = probabilities_from_scores(scores)
        log.info("Adj. post: %s on %s = %s -> p = %s", cfg.dataset.calibration.metric, split, scores.tolist(), p.tolist())
        variants.append((cfg.model.post_variant, p))
    return variants


# Options that do not change what is trained: a checkpoint stays valid when only these differ
# (more epochs resume a shorter run).
NOT_TRAINING = {"progress", "eval_split", "scenario", "logger", "hydra"}
NOT_TRAINING_TRAINER = {"epochs", "eval_batch_size", "threads", "device"}


def training_fingerprint(cfg: DictConfig) -> str:
    """Short hash of the options that define the trained model, stored in its checkpoint."""
    plain = OmegaConf.to_container(cfg, resolve=True)
    plain = {k: v for k, v in plain.items() if k not in NOT_TRAINING}
    plain["trainer"] = {k: v for k, v in plain.get("trainer", {}).items() if k not in NOT_TRAINING_TRAINER}
    return hashlib.sha256(json.dumps(plain, sort_keys=True, default=str).encode()).hexdigest()[:16]


def write_csv(frame: pd.DataFrame, path: Path) -> None:
    buffer = io.StringIO()
    frame.to_csv(buffer, index=False)
    with atomic_write(path, "w") as handle:
        handle.write(buffer.getvalue())


def run(cfg: DictConfig, out_dir: Path) -> pd.DataFrame:
    """Run one experiment described by ``cfg``, writing its files into ``out_dir``."""
    check_config(cfg)
    train_cfg = trainer_config(cfg)
    if cfg.trainer.threads:
        torch.set_num_threads(int(cfg.trainer.threads))
    out_dir.mkdir(parents=True, exist_ok=True)
    with atomic_write(out_dir / "config.yaml", "w") as handle:
        handle.write(OmegaConf.to_yaml(cfg, resolve=True))
    logger = make_logger(cfg, out_dir)
    try:
        metrics = _train_and_evaluate(cfg, out_dir, train_cfg, logger)
    except BaseException:
        logger.finish(failed=True)  # close the tracker's run as failed; the job's own error goes on
        raise
    logger.finish()
    return metrics


def _train_and_evaluate(cfg: DictConfig, out_dir: Path, train_cfg: TrainConfig, logger) -> pd.DataFrame:
    torch.manual_seed(cfg.seed)
    dataset: MultimodalDataset = instantiate(cfg.dataset.loader)
    scenario, evaluate_scenario = scenario_evaluator(cfg)
    model = build_model(cfg, dataset)
    start = time.perf_counter()
    def on_epoch(record: dict) -> None:
        log.info("epoch %s", ", ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in record.items()))
        logger.log_epoch(record)

    result = train(model, dataset.train, dataset.val, train_cfg, checkpoint=out_dir / "checkpoint.pt",
                   progress=cfg.progress, on_epoch=on_epoch, fingerprint=training_fingerprint(cfg))  # fmt: skip
    write_csv(pd.DataFrame(result.history), out_dir / "history.csv")
    train_seconds = time.perf_counter() - start

    rows = []
    for variant, p in calibrate(model, dataset, cfg):
        if p is not None:
            model.set_probabilities(p)
        scored = evaluate_scenario(model, dataset, split=cfg.eval_split, seed=cfg.seed, batch_size=cfg.trainer.eval_batch_size,
                                   device=cfg.trainer.device, progress=cfg.progress, out_dir=out_dir, variant=variant)  # fmt: skip
        for row in scored:
            # A scenario may tag its rows with their own scenario name (several scenarios after one
            # training) and add columns of its own (e.g. the achieved missing rate); both are kept.
            rows.append({
                "dataset": cfg.dataset.name, "model": cfg.model.name, "variant": variant, "scenario": scenario,
                "seed": cfg.seed, **row, "epochs": train_cfg.epochs, "best_epoch": result.best_epoch,
                "train_seconds": round(train_seconds, 1), "eval_split": cfg.eval_split,
                "probabilities": None if p is None else " ".join(f"{v:.6f}" for v in p.tolist()),
            })  # fmt: skip
    extra = [c for c in dict.fromkeys(k for r in rows for k in r) if c not in METRIC_COLUMNS]
    metrics = pd.DataFrame(rows, columns=METRIC_COLUMNS + extra)
    write_csv(metrics, out_dir / "metrics.csv")
    logger.log_metrics(rows)
    log.info("wrote %s\n%s", out_dir / "metrics.csv", metrics[["variant", "subset", "weighted_f1", "error_rate"]].to_string(index=False))
    return metrics


@hydra.main(config_path="../configs", config_name="config", version_base="1.3")
def main(cfg: DictConfig) -> None:
    run(cfg, Path(HydraConfig.get().runtime.output_dir))


if __name__ == "__main__":
    main()
