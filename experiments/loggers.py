"""Experiment trackers selected by the `logger` config group. Each is imported only when chosen."""

from __future__ import annotations

from pathlib import Path

from omegaconf import DictConfig


class NullLogger:
    """Logs nothing beyond the files every run writes."""

    def log_epoch(self, record: dict) -> None:  # noqa: D102
        pass

    def log_metrics(self, rows: list[dict]) -> None:  # noqa: D102
        pass

    def finish(self) -> None:  # noqa: D102
        pass


def make_logger(cfg: DictConfig, out_dir: Path):
    """The logger named by ``cfg.logger.name``."""
    name = cfg.logger.name
    if name == "none":
        return NullLogger()
    raise ValueError(f"logger={name!r} is not available; choose logger=none")
