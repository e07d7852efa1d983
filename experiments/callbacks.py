"""Hydra callbacks (configured in ``configs/config.yaml`` under ``hydra.callbacks``).

Hydra already runs every job of a multirun batch even when one fails, but it then reports only the
first failure, by its exception. :class:`JobStatusCallback` records each job's outcome in its own
folder (a ``FAILED`` file with the traceback, removed again when a rerun succeeds) and prints the
state of every job of the sweep when the sweep ends, failed or not.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import sys
import traceback
from pathlib import Path
from typing import Any

from hydra.core.utils import JobReturn, JobStatus
from hydra.experimental.callback import Callback
from omegaconf import DictConfig

from data_prep.files import atomic_write

from .sweep_status import FAILED_FILE, format_status, sweep_status

log = logging.getLogger(__name__)


class JobStatusCallback(Callback):
    """Write ``FAILED`` into a failed job's folder; summarise the sweep at its end."""

    def __init__(self) -> None:
        self._sweep_dir: Path | None = None

    def on_job_end(self, config: DictConfig, job_return: JobReturn, **kwargs: Any) -> None:
        # Runs where the job ran (a joblib worker, a SLURM node), so the file lands beside its results.
        out_dir = Path(config.hydra.runtime.output_dir)
        failed = out_dir / FAILED_FILE
        if job_return.status == JobStatus.FAILED:
            error = job_return._return_value  # the property would re-raise it
            text = "".join(traceback.format_exception(error)) if isinstance(error, BaseException) else str(error)
            overrides = " ".join(job_return.overrides or [])
            with atomic_write(failed, "w") as handle:
                handle.write(f"overrides: {overrides}\n{text}")
            log.error("job failed (%s): %s; traceback in %s", overrides, error, failed)
        else:
            failed.unlink(missing_ok=True)

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        # Hydra raises the first failure out of the sweep before on_multirun_end is called, so the
        # summary is printed at exit: it then also covers sweeps that end with an exception.
        self._sweep_dir = Path(config.hydra.sweep.dir)
        atexit.register(self._report)

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        self._report()
        atexit.unregister(self._report)

    def _report(self) -> None:
        if self._sweep_dir is None or not self._sweep_dir.is_dir():
            return
        with contextlib.suppress(Exception):  # a report must never turn a finished sweep into a crash
            print(format_status(sweep_status(self._sweep_dir), self._sweep_dir), file=sys.stderr, flush=True)
