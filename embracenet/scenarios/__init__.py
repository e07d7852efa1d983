"""Scenarios say *what* is missing; models decide how to cope.

A scenario's evaluation function has the signature
``fn(model, dataset, split=..., seed=..., batch_size=..., device=..., progress=..., out_dir=..., variant=..., **options)
-> list[dict]`` (``out_dir`` is the run's folder, for scenarios that save more than scores)
and returns one row per condition with ``level``, ``subset``, ``weighted_f1``, ``error_rate``, ``n``.
The config group ``scenario/`` points ``evaluate._target_`` at such a function.
"""

from .combined import evaluate_scenarios
from .missing_blocks import evaluate_missing_blocks, simulate_block_loss
from .missing_modalities import evaluate_complete, evaluate_missing_modalities, subset_count, subset_masks, subset_name

__all__ = [
    "subset_masks",
    "subset_count",
    "subset_name",
    "evaluate_missing_modalities",
    "evaluate_complete",
    "simulate_block_loss",
    "evaluate_missing_blocks",
    "evaluate_scenarios",
]
