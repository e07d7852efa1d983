"""Training throughput of the Table 1 models, and how much of this machine's matmul speed it uses.

Models (section 5, Table 1): ``IntermediateIntegration(fill="zero")`` and
``EmbraceNetModel(missing_prob=0.5)`` (c = 512) on the ``mnist_half_cnn`` backbone (paper sizes:
conv 64, fully connected 512), two halves ``[1, 28, 14]``, batch 64, Adam (lr 1e-3, eps 1e-2).
Random images and labels: the speed does not depend on the pixel values.

Measured for every thread count in ``--threads`` (``torch.set_num_threads``):

* ``matmul GF/s``: a float32 ``N x N @ N x N`` matmul (``--matmul-size``), median of repeats;
  ``2 N^3`` FLOPs. The machine's practical ceiling for dense float32 work at that thread count.
* ``samples/s``: training steps exactly as :func:`embracenet.training.train` runs them (batches
  from :meth:`TensorSplit.batches` with shuffling, ``model.loss``, ``zero_grad``, ``backward``,
  ``Adam.step``, ``loss.item()``); median over ``--repeats`` blocks of ``--steps`` steps, after
  warm-up.
* ``train GF/s`` = FLOPs of one step x steps per second. FLOPs of one step (forward + backward)
  are counted by ``torch.utils.flop_counter.FlopCounterMode`` (convolutions and matmuls; the
  elementwise ops, pooling and Adam are not counted, so this is a slight under-estimate).
* ``% of matmul`` = train GF/s / matmul GF/s: how close the training step gets to the dense
  matmul speed of the same threads.

Speed options compared (``option`` column): ``default`` (contiguous NCHW tensors) and
``channels_last`` (model and inputs in ``torch.channels_last``); ``compile`` (``torch.compile``)
only with ``--compile`` since compiling takes long on a busy CPU. The fastest option per model and
thread count is printed at the end. The data path (batches gathered from in-memory tensors, no
per-sample Python) is timed alone too, to show it is not the bottleneck.

Usage: ``python scripts/bench_training.py [--threads 1,2] [--repeats 3] [--steps 5] [--quick] [--compile]``.
The machine may be busy with other jobs: with 2 threads on 2 busy cores, timings are unreliable.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from embracenet.backbones import mnist_half_cnn  # noqa: E402
from embracenet.data.splits import TensorSplit  # noqa: E402
from embracenet.models import EmbraceNetModel, IntermediateIntegration  # noqa: E402

HALF, N_CLASSES, BATCH = (1, 28, 14), 10, 64


def load_note() -> str:
    """One line on how busy the machine is: other jobs make multi-thread timings unreliable."""
    cores = os.cpu_count() or 1
    load = os.getloadavg()[0]
    busy = " -- BUSY: timings with more than 1 thread are unreliable" if load > 0.5 * cores else ""
    return f"machine: {cores} cores, 1-min load average {load:.1f} before this run{busy}"


def make_model(kind: str) -> torch.nn.Module:
    torch.manual_seed(0)
    backbone = mnist_half_cnn()
    if kind == "intermediate":
        return IntermediateIntegration(backbone, [HALF, HALF], N_CLASSES, fill="zero")
    return EmbraceNetModel(backbone, [HALF, HALF], N_CLASSES, embracement_size=512, missing_prob=0.5)


def make_split(n: int) -> TensorSplit:
    g = torch.Generator().manual_seed(0)
    xs = [torch.rand(n, *HALF, generator=g) for _ in range(2)]
    return TensorSplit(xs, torch.randint(N_CLASSES, (n,), generator=g), modality_names=["left", "right"])


def median_seconds(fn, repeats: int, warmup: int = 1) -> float:
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def matmul_gflops(size: int, repeats: int) -> float:
    a, b = torch.randn(size, size), torch.randn(size, size)
    return 2 * size**3 / median_seconds(lambda: torch.mm(a, b), repeats) / 1e9


class Trainer:
    """One model + optimizer, stepping the way ``embracenet.training.train`` does."""

    def __init__(self, kind: str, option: str, split: TensorSplit) -> None:
        self.model = make_model(kind).train()
        self.channels_last = option == "channels_last"
        if self.channels_last:
            self.model = self.model.to(memory_format=torch.channels_last)
        self.optimizer = torch.optim.Adam(self.model.parameters(), lr=1e-3, betas=(0.9, 0.999), eps=1e-2)
        self.loss_fn = torch.compile(self.model.loss) if option == "compile" else self.model.loss
        self.split = split
        self.order = torch.Generator().manual_seed(0)

    def step(self, batch) -> float:
        xs = batch.xs
        if self.channels_last:
            xs = [x.contiguous(memory_format=torch.channels_last) for x in xs]
        loss = self.loss_fn(xs, batch.available, batch.y)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        return loss.item()

    def epoch(self) -> None:
        for batch in self.split.batches(BATCH, shuffle=True, generator=self.order):
            self.step(batch)


def step_flops(kind: str) -> tuple[int, int]:
    """(forward FLOPs, forward + backward FLOPs) of one training step at batch 64."""
    from torch.utils.flop_counter import FlopCounterMode

    model = make_model(kind).train()
    batch = next(make_split(BATCH).batches(BATCH))
    with FlopCounterMode(display=False) as fwd_counter:
        loss = model.loss(batch.xs, batch.available, batch.y)
    with FlopCounterMode(display=False) as all_counter:
        model.loss(batch.xs, batch.available, batch.y).backward()
    del loss
    return fwd_counter.get_total_flops(), all_counter.get_total_flops()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", default="1,2", help="comma-separated thread counts")
    parser.add_argument("--repeats", type=int, default=3, help="timed blocks (median reported)")
    parser.add_argument("--steps", type=int, default=5, help="training steps of batch 64 per timed block")
    parser.add_argument("--matmul-size", type=int, default=2048)
    parser.add_argument("--options", default="default,channels_last", help="speed options to compare")
    parser.add_argument("--compile", action="store_true", help="also try torch.compile (slow to compile)")
    parser.add_argument("--quick", action="store_true", help="1 thread, 3 repeats, 3 steps, default option only")
    args = parser.parse_args(argv)
    threads = [int(t) for t in args.threads.split(",")]
    options = [o.strip() for o in args.options.split(",")] + (["compile"] if args.compile else [])
    repeats, steps = args.repeats, args.steps
    if args.quick:
        threads, repeats, steps, options = threads[:1], min(repeats, 3), min(steps, 3), options[:1]

    note = load_note()
    kinds = ["intermediate", "embracenet"]
    flops = {k: step_flops(k) for k in kinds}
    print(f"torch {torch.__version__}; batch {BATCH}, halves {list(HALF)}, Adam lr 1e-3 eps 1e-2")
    print(note)
    for k in kinds:
        fwd, total = flops[k]
        print(f"FLOPs per step ({k}): forward {fwd / 1e9:.3f} G, forward+backward {total / 1e9:.3f} G (x{total / fwd:.2f})")

    split = make_split(BATCH * steps)
    split_data = make_split(BATCH * 100)
    rows, data_sps = [], {}
    header = f"{'samples/s':>10} {'train GF/s':>11} {'matmul GF/s':>12} {'% of matmul':>12}"
    print(f"\n{'threads':>7} {'model':<13} {'option':<14} {header}")
    for t in threads:
        torch.set_num_threads(t)
        mm = matmul_gflops(args.matmul_size, repeats)
        # The data path alone: batches gathered from in-memory tensors, as the training loop gets them.
        order = torch.Generator().manual_seed(0)
        t_data = median_seconds(lambda: sum(len(b.y) for b in split_data.batches(BATCH, shuffle=True, generator=order)), repeats)
        data_sps[t] = len(split_data) / t_data
        for kind in kinds:
            for option in options:
                try:
                    trainer = Trainer(kind, option, split)
                    start = time.perf_counter()
                    trainer.epoch()  # warm-up (and compilation)
                    warm = time.perf_counter() - start
                    seconds = median_seconds(trainer.epoch, repeats, warmup=0)
                except Exception as error:  # e.g. torch.compile without a working toolchain
                    print(f"{t:>7} {kind:<13} {option:<14} failed: {type(error).__name__}: {str(error)[:80]}")
                    continue
                sps = len(split) / seconds
                gfs = flops[kind][1] * (len(split) / BATCH) / seconds / 1e9
                rows.append(dict(threads=t, kind=kind, option=option, sps=sps))
                extra = f"  (warm-up/compile {warm:.1f} s)" if option == "compile" else ""
                speeds = f"{sps:>10.0f} {gfs:>11.1f} {mm:>12.1f} {100 * gfs / mm:>11.1f}%"
                print(f"{t:>7} {kind:<13} {option:<14} {speeds}{extra}", flush=True)

    print("\ndata path alone (TensorSplit.batches: shuffled index gather from in-memory tensors, no per-sample Python):")
    for t, sps in data_sps.items():
        slowest = min((r["sps"] for r in rows if r["threads"] == t), default=float("nan"))
        print(f"  threads={t}: {sps:,.0f} samples/s, i.e. {100 * slowest / sps:.1f}% of the slowest training step's time")
    print("\nfastest setting per model:")
    for kind in kinds:
        mine = [r for r in rows if r["kind"] == kind]
        if mine:
            best = max(mine, key=lambda r: r["sps"])
            print(f"  {kind}: threads={best['threads']}, option={best['option']}, {best['sps']:.0f} samples/s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
