"""Memory bench of the gas cache build: the peak must not grow with the archive's size.

Writes fixture archives of N and 4N files in a temporary folder, builds the cache of each in its
own subprocess and compares the peaks: the traced Python/numpy heap (``tracemalloc``, the number
that would grow if trials were accumulated) and the process's peak RSS (``ru_maxrss``, dominated by
the interpreter and libraries). Exits 1 when the heap peak grows by more than ``--max-ratio``.

Usage: ``python scripts/bench_data_prep.py [--trials 1] [--max-ratio 1.3]``; N = 11 gas folders x
5 locations x ``--trials`` files. The default runs in well under a minute.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

CHILD = r"""
import json, resource, sys, tracemalloc
from data_prep.gas import build_gas_cache
tracemalloc.start()
build_gas_cache(sys.argv[1], sys.argv[2])
_, peak = tracemalloc.get_traced_memory()
tracemalloc.stop()
rss_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
print("BENCH " + json.dumps({"heap_peak_mib": peak / 2**20, "rss_peak_mib": rss_kib / 1024}))
"""


def measure(source: Path, out: Path) -> dict[str, float]:
    """Build the cache of ``source`` in a fresh interpreter and return its memory peaks (MiB)."""
    env = {**os.environ, "TQDM_DISABLE": "1", "PYTHONPATH": str(REPO)}
    result = subprocess.run(
        [sys.executable, "-c", CHILD, str(source), str(out)], capture_output=True, text=True, env=env, cwd=REPO
    )
    if result.returncode != 0:
        raise SystemExit(f"cache build of {source} failed:\n{result.stderr[-3000:]}")
    line = next(l for l in result.stdout.splitlines() if l.startswith("BENCH "))
    return json.loads(line[len("BENCH ") :])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trials", type=int, default=1, help="good trials per gas folder and location for N")
    parser.add_argument("--max-ratio", type=float, default=1.3, help="largest allowed peak(4N) / peak(N)")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(REPO))
    from data_prep.gas_fixture import write_gas_fixture

    peaks = {}
    with tempfile.TemporaryDirectory(prefix="bench_gas_") as tmp:
        for factor in (1, 4):
            root = Path(tmp) / f"x{factor}"
            write_gas_fixture(root, n_trials_per_location=args.trials * factor, seed=factor,
                              locations=(1, 2, 3, 4, 5), defects=False)  # fmt: skip
            n_files = sum(1 for p in (root / "WTD_upload").rglob("*") if p.is_file())
            peaks[factor] = measure(root, Path(tmp) / f"out{factor}")
            print(f"{n_files:5d} files: heap peak {peaks[factor]['heap_peak_mib']:7.2f} MiB, "
                  f"RSS peak {peaks[factor]['rss_peak_mib']:7.1f} MiB")  # fmt: skip
    heap_ratio = peaks[4]["heap_peak_mib"] / peaks[1]["heap_peak_mib"]
    rss_ratio = peaks[4]["rss_peak_mib"] / peaks[1]["rss_peak_mib"]
    print(f"ratio 4N/N: heap {heap_ratio:.2f}, RSS {rss_ratio:.2f} (limit {args.max_ratio})")
    if heap_ratio > args.max_ratio or rss_ratio > args.max_ratio:
        print("FAIL: memory grows with the number of files; the build is not streaming.")
        return 1
    print("OK: memory stays bounded.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
