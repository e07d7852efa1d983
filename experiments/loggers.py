"""Experiment trackers selected by the `logger` config group. Each is imported only when chosen."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pandas as pd
from omegaconf import DictConfig, OmegaConf

# Above this many metric rows (OPPORTUNITY scores 14319 subsets), summary values are per-variant means.
MAX_SUMMARY_ROWS = 64


class NullLogger:
    """Logs nothing beyond the files every run writes."""

    def log_epoch(self, record: dict) -> None:  # noqa: D102
        pass

    def log_metrics(self, rows: list[dict]) -> None:  # noqa: D102
        pass

    def finish(self, failed: bool = False) -> None:  # noqa: D102
        pass


class WandbLogger:
    """One wandb run per experiment run: config, per-epoch records, final metrics and figures.

    Args:
        wandb: the imported ``wandb`` module (imported by :func:`make_logger`, only when chosen).
        out_dir: the run's output folder; figures (``*.png``) found there are logged at the end.
        **init: keyword arguments of ``wandb.init``.
    """

    def __init__(self, wandb: Any, out_dir: Path, **init: Any) -> None:
        self.wandb = wandb
        self.out_dir = out_dir
        # A new run even when a joblib worker process already hosted one (each job its own run).
        self.run = wandb.init(reinit="finish_previous", **init)

    def log_epoch(self, record: dict) -> None:
        """Losses and validation scores, keyed by phase (``train/loss``, ``pretrain/loss``, ``val/...``)."""
        phase = record.get("phase", "train")
        values = {}
        for key, value in record.items():
            if key in ("phase", "epoch") or not isinstance(value, (int, float)):
                continue
            name = f"val/{key[4:]}" if key.startswith("val_") else f"{phase}/{key}"
            values[name] = value
        self.run.log({"epoch": record["epoch"], **values}, step=int(record["epoch"]))

    def log_metrics(self, rows: list[dict]) -> None:
        """The rows of metrics.csv as a table, summary values, and the run's figures."""
        frame = pd.DataFrame(rows)
        if frame.empty:
            return
        # One dtype per column for wandb's table: level is a number in one scenario and empty in another.
        table = frame.assign(level=frame["level"].astype(str)) if "level" in frame else frame
        payload: dict[str, Any] = {"metrics": self.wandb.Table(dataframe=table)}
        for path in sorted(self.out_dir.glob("*.png")):
            payload[f"figures/{path.stem}"] = self.wandb.Image(str(path))
        self.run.log(payload)
        self.run.summary.update(summary_values(frame))

    def finish(self, failed: bool = False) -> None:
        self.run.finish(exit_code=1 if failed else 0)


def summary_values(frame: pd.DataFrame) -> dict[str, float]:
    """``{variant}/{subset}/{metric}`` per row (few rows), else per-variant (and level) means."""
    def key(*parts: Any) -> str:
        return "/".join(str(p) for p in parts if not (isinstance(p, float) and math.isnan(p)) and p is not None)

    values: dict[str, float] = {}
    many = len(frame) > MAX_SUMMARY_ROWS
    group = ["variant", "level"] if many else ["variant", "level", "subset"]
    group = [g for g in group if g in frame.columns]
    for names, part in frame.groupby(group, dropna=False, sort=True):
        names = names if isinstance(names, tuple) else (names,)
        for metric in ("weighted_f1", "error_rate"):
            suffix = f"{metric}_mean" if many else metric
            values[key("test", *names, suffix)] = float(part[metric].mean())
    return values


def _wandb_group(cfg: DictConfig) -> str | None:
    """The sweep folder's name in a multirun (so a sweep's jobs are grouped), else None."""
    if cfg.logger.get("group"):
        return str(cfg.logger.group)
    try:
        from hydra.core.hydra_config import HydraConfig
        from hydra.types import RunMode

        hydra_cfg = HydraConfig.get()
        if hydra_cfg.mode == RunMode.MULTIRUN:
            return Path(hydra_cfg.sweep.dir).name
    except ValueError:  # not inside a Hydra job (tests calling run() directly)
        pass
    return None


def _job_prefix() -> str:
    try:
        from hydra.core.hydra_config import HydraConfig
        from hydra.types import RunMode

        hydra_cfg = HydraConfig.get()
        return f"{hydra_cfg.job.num}_" if hydra_cfg.mode == RunMode.MULTIRUN else ""
    except ValueError:
        return ""


def make_logger(cfg: DictConfig, out_dir: Path):
    """The logger named by ``cfg.logger.name``."""
    name = cfg.logger.name
    if name == "none":
        return NullLogger()
    if name == "wandb":
        try:
            import wandb
        except ImportError as error:
            raise ImportError("logger=wandb needs the wandb package: pip install '.[wandb]' (or choose logger=none)") from error
        out_dir = Path(out_dir)
        return WandbLogger(
            wandb,
            out_dir,
            project=cfg.logger.project,
            entity=cfg.logger.entity,
            mode=cfg.logger.mode,
            dir=str(cfg.logger.dir or out_dir),
            tags=list(cfg.logger.tags or []),
            group=_wandb_group(cfg),
            name=f"{_job_prefix()}{cfg.name}_seed{cfg.seed}",
            config=OmegaConf.to_container(cfg, resolve=True),
        )
    raise ValueError(f"logger={name!r} is not available; choose logger=none or logger=wandb")
