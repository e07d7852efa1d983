"""Scenarios say *what* is missing; models decide how to cope."""

from .missing_modalities import subset_count, subset_masks, subset_name

__all__ = ["subset_masks", "subset_count", "subset_name"]
