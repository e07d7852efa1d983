"""List the finished, failed and unfinished jobs of a sweep: python scripts/sweep_status.py ROOT.

A thin wrapper around :mod:`experiments.sweep_status` (see there for what each state means).
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from experiments.sweep_status import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
