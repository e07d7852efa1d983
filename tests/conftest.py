import os
import sys
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("TQDM_DISABLE", "1")
# Two cores: one torch thread per test process keeps the suite's timing predictable.
torch.set_num_threads(1)


@pytest.fixture
def repo_root() -> Path:
    return ROOT
