"""OPPORTUNITY (section 6.1.2) as a :class:`MultimodalDataset`: 19 body-worn sensors, windows of 15 steps.

The data come from the h5 cache written by ``python -m data_prep.opportunity`` (verified official
files); this module only reads it. Besides the windowed splits, the dataset keeps what the
block-wise missing-data scenario (section 6.4.2) needs to re-simulate loss on the raw streams and
window them again: :meth:`OpportunityDataset.raw_streams` and :meth:`OpportunityDataset.windows`.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from torch import Tensor

from .dataset import MultimodalDataset
from .splits import WindowedSplit

# The dataset's split names, and the names the cache (and the challenge protocol) uses for them.
CACHE_SPLITS = {"train": "train", "val": "validation", "test": "test"}


@dataclass
class OpportunityDataset(MultimodalDataset):
    """The windowed splits plus what is needed to rebuild windows from the raw streams.

    Attributes:
        complete_rows: ``{"val": BoolTensor[N_val], "test": BoolTensor[N_test]}``, the windows
            without any gap in the original recordings (what the missing-modality scenario scores).
        cache_path: the h5 cache the splits were read from.
        task: ``"locomotion"`` or ``"gestures"``.
        window, eval_step: window length and validation/test step in samples.
        window_available: ``"all"`` or ``"any"``, see :class:`~embracenet.data.splits.WindowedSplit`.
        channel_groups: the stream channels of each modality.
        train_mean: ``[C]`` normalised training mean per channel (fill of a channel that is empty
            for a whole session).
    """

    complete_rows: dict[str, Tensor] = field(default_factory=dict)
    cache_path: str = ""
    task: str = "locomotion"
    window: int = 15
    eval_step: float = 7.5
    window_available: str = "all"
    channel_groups: list[list[int]] = field(default_factory=list)
    train_mean: np.ndarray | None = None

    def raw_streams(self, split: str = "test") -> list:
        """The split's sessions as recorded: normalised data ``[T_i, 113]`` with NaN in the gaps,
        the original missing mask ``[T_i, 19]`` and the labels ``[T_i]`` (``SessionStream`` each)."""
        from data_prep.opportunity import load_opportunity_streams

        return load_opportunity_streams(self.cache_path, _cache_split(split), self.task, filled=False)

    def windows(self, streams: Sequence, missing: Sequence[np.ndarray], use_missing_mask: bool) -> WindowedSplit:
        """Window (possibly altered) raw streams like the evaluation splits.

        Args:
            streams: ``SessionStream``s whose ``data`` may hold NaN; gaps are filled with the
                previous value of the same channel (the OPPORTUNITY challenge's procedure).
            missing: per session ``BoolTensor``/array ``[T_i, m]``: which modality is absent at
                each step (used for the availability of every window).
            use_missing_mask: ``False`` marks every modality available everywhere, so the model
                sees only the filled values (for models that need complete inputs).

        Returns:
            A :class:`WindowedSplit` with the evaluation step, no Null filtering.
        """
        from data_prep.opportunity import SessionStream, forward_fill, windowed_split

        fallback = self.train_mean if self.train_mean is not None else 0.0
        filled = [
            SessionStream(s.session, forward_fill(s.data, fallback), np.asarray(miss, dtype=bool), s.labels)
            for s, miss in zip(streams, missing)
        ]
        return windowed_split(
            filled,
            self.channel_groups,
            self.window,
            self.eval_step,
            use_missing_mask=use_missing_mask,
            window_available=self.window_available,
            layout="time_channels",
            modality_names=self.modality_names,
        )


def _cache_split(split: str) -> str:
    if split not in CACHE_SPLITS:
        raise ValueError(f"split must be one of {sorted(CACHE_SPLITS)}, got {split!r}")
    return CACHE_SPLITS[split]


def _cache_file(cache: str | os.PathLike) -> Path:
    from data_prep.opportunity import CACHE_NAME

    path = Path(cache)
    return path / CACHE_NAME if path.suffix != ".h5" else path


def opportunity(
    cache: str | os.PathLike,
    task: str = "locomotion",
    source: str | os.PathLike | None = None,
    expected_checksums: str | os.PathLike | None = None,
    verify: bool = True,
    window: int = 15,
    train_step: float = 1,
    eval_step: float = 7.5,
    drop_null_validation: bool | None = None,
    window_available: str = "all",
) -> OpportunityDataset:
    """Load the OPPORTUNITY challenge split for one task.

    Args:
        cache: the ``opportunity.h5`` cache, or the folder holding it.
        task: ``"locomotion"`` (5 classes) or ``"gestures"`` (18 classes, Null included).
        source: the official archive (zip, extracted tree or its ``dataset/`` folder). When given,
            the cache is (re)built from it if missing or stale, in the cache's folder; when not,
            the cache must exist.
        expected_checksums: checksum file for the sources (default: the project's copy of the
            official ones; a fixture passes its own).
        verify: check the sources' sizes and sha256 against ``expected_checksums``.
        window: window length in samples (15 = 500 ms at 30 Hz).
        train_step: training window step in samples (1 = 33.3 ms); a larger step gives fewer windows.
        eval_step: validation and test step (7.5 = 250 ms).
        drop_null_validation: drop Null-labelled validation windows (default: gestures only).
        window_available: ``"all"``: a modality is available in a window only if no step of it
            is missing in the recording.

    Returns:
        An :class:`OpportunityDataset` with values in [-1, 1], modality k shaped ``[window, C_k]``
        and ``complete_rows`` for the validation and test splits.
    """
    from data_prep import opportunity as prep

    path = _cache_file(cache)
    if source is not None:
        kwargs = {"verify": verify}
        if expected_checksums is not None:
            kwargs["expected_checksums"] = expected_checksums
        if path.name != prep.CACHE_NAME:
            raise ValueError(f"dataset.loader.cache must be a folder or end in {prep.CACHE_NAME} when a source is given, got {path}")
        path = prep.prepare_opportunity(source, path.parent, **kwargs)
    elif not path.is_file():
        raise FileNotFoundError(
            f"{path} not found. Build it with `python -m data_prep.opportunity --source DIR --out {path.parent}` "
            "or set dataset.loader.source to the official archive."
        )
    splits = prep.load_opportunity_splits(
        path, task, window, train_step, eval_step, drop_null_validation=drop_null_validation, window_available=window_available
    )
    meta = prep.load_opportunity_metadata(path)
    return OpportunityDataset(
        name=f"opportunity_{task}",
        train=splits["train"],
        val=splits["validation"],
        test=splits["test"],
        modality_names=list(meta["sensor_names"]),
        class_names=list(meta["class_names"][task]),
        value_range=(-1.0, 1.0),
        complete_rows={"val": prep.complete_window_mask(splits["validation"]), "test": prep.complete_window_mask(splits["test"])},
        cache_path=str(path),
        task=task,
        window=window,
        eval_step=eval_step,
        window_available=window_available,
        channel_groups=[list(g) for g in meta["channel_groups"]],
        train_mean=np.asarray(meta["train_mean"], dtype=np.float32),
    )
