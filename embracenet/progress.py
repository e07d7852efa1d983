"""Progress bars that a caller can switch off and that always respect ``TQDM_DISABLE=1``."""

from __future__ import annotations

import os

from tqdm.auto import tqdm


def progress_bar(iterable=None, enabled: bool = True, **kwargs):
    """``tqdm`` shown only when ``enabled`` and ``TQDM_DISABLE`` is not set."""
    disabled = not enabled or os.environ.get("TQDM_DISABLE", "").lower() in ("1", "true", "yes")
    return tqdm(iterable, disable=disabled, **kwargs)
