"""Bench of subset evaluation: cached encoder outputs (``evaluate_subsets``) vs a full forward per subset.

Setup: m = 8 modalities, each an image strip ``[1, 28, 4]`` (a 28x32 image cut into 8 vertical
parts), the ``mnist_half_cnn`` backbone (narrowed by ``--channels`` / ``--fusion-width`` so the
naive loop fits in the time budget), random weights, a random test split of ``--n`` samples
(:class:`embracenet.data.splits.TensorSplit`, 10 classes) and all 255 non-empty subsets
(:func:`embracenet.scenarios.subset_masks`). Two models: EmbraceNetModel and intermediate
integration (training-mean fill).

Timed, per model:

* ``cached``: :func:`embracenet.evaluation.evaluate_subsets`: ``model.encode`` once per batch,
  ``model.fuse`` once per subset (median of ``--repeats`` runs).
* ``naive``: the same batches and subsets, but ``model(xs, available & mask)`` (encode + fuse) for
  every subset, with the same confusion-matrix scoring (one run). All 255 subsets take ~2-4 minutes
  on 2 busy cores, so by default only ``--naive-subsets 16`` of them run (evenly spaced over the
  list, every subset size represented) and the time is extrapolated linearly to 255, which the
  output says; ``--naive-subsets 255`` runs them all. The naive cost per subset does not depend on
  the subset (every subset runs the same encoders and fusion), so the extrapolation is linear.

Checked (untimed): the predictions of encode-once + fuse-per-subset equal those of the naive loop
exactly, on every sample and subset the naive loop ran, and the F1 / error rate that
``evaluate_subsets`` returns equal the naive loop's. Intermediate integration is deterministic in
eval mode. EmbraceNet is checked twice: with the paper's sampling (``inference="sample"``) both
loops draw from one generator seeded alike, in the same order (batch, then subset), so the draws
must match exactly; and with ``inference="expectation"`` (no randomness; untimed, on 16 subsets
spread over the sizes). The checks run on the subsets the naive loop ran. Exit code 1 if a check
fails; the speed target (``naive / cached >= 10``) is printed as PASS/FAIL only.

Usage: ``python scripts/bench_subsets.py [--n 2000] [--repeats 1] [--naive-subsets 16] [--threads 1]``.
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
from embracenet.evaluation import SubsetScores, evaluate_subsets  # noqa: E402
from embracenet.metrics import confusion_matrices, scores_from_confusion  # noqa: E402
from embracenet.models import EmbraceNetModel, IntermediateIntegration  # noqa: E402
from embracenet.scenarios import subset_masks  # noqa: E402

M, SHAPE, N_CLASSES = 8, (1, 28, 4), 10


def load_note() -> str:
    """One line on how busy the machine is: other jobs make multi-thread timings unreliable."""
    cores = os.cpu_count() or 1
    load = os.getloadavg()[0]
    busy = " -- BUSY: timings with more than 1 thread are unreliable" if load > 0.5 * cores else ""
    return f"machine: {cores} cores, 1-min load average {load:.1f} before this run{busy}"


def make_split(n: int, seed: int = 0) -> TensorSplit:
    g = torch.Generator().manual_seed(seed)
    xs = [torch.rand(n, *SHAPE, generator=g) for _ in range(M)]
    y = torch.randint(N_CLASSES, (n,), generator=g)
    return TensorSplit(xs, y, modality_names=[f"part{k}" for k in range(M)])


@torch.no_grad()
def loop_predictions(model, split, masks, batch_size: int, seed: int, cached: bool) -> tuple[torch.Tensor, SubsetScores]:
    """Predictions ``[S, N]`` and scores, batch by batch then subset by subset (``evaluate_subsets``' order).

    ``cached=True`` encodes once per batch (as ``evaluate_subsets``); ``False`` runs the full
    ``model(xs, available & mask)`` per subset (the naive loop).
    """
    model.eval()
    generator = torch.Generator().manual_seed(seed)
    confusion = torch.zeros(len(masks), N_CLASSES, N_CLASSES, dtype=torch.long)
    all_preds = []
    for chunk in torch.arange(len(split)).split(batch_size):
        batch = split.batch(chunk)
        if cached:
            encoded = model.encode(batch.xs)
            preds = torch.stack([model.fuse(encoded, batch.available & mask, generator).argmax(-1) for mask in masks])
        else:
            preds = torch.stack([model(batch.xs, batch.available & mask, generator).argmax(-1) for mask in masks])
        confusion += confusion_matrices(batch.y, preds, N_CLASSES)
        all_preds.append(preds)
    f1, err = scores_from_confusion(confusion)
    return torch.cat(all_preds, 1), SubsetScores(masks, f1, err, confusion.sum((1, 2)))


def build(kind: str, args, split: TensorSplit, inference: str = "sample"):
    torch.manual_seed(0)
    backbone = mnist_half_cnn(channels=args.channels, fusion_width=args.fusion_width)
    shapes = [SHAPE] * M
    if kind == "embracenet":
        model = EmbraceNetModel(backbone, shapes, N_CLASSES, embracement_size=args.embracement_size, inference=inference)
    else:
        model = IntermediateIntegration(backbone, shapes, N_CLASSES, fill="mean")
    model.fit_statistics(split.modality_means())
    return model.eval()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=2000, help="test samples")
    parser.add_argument("--batch-size", type=int, default=1024)
    parser.add_argument("--repeats", type=int, default=1, help="runs of the cached evaluation (median)")
    parser.add_argument(
        "--naive-subsets", type=int, default=16, help="subsets the naive loop runs, extrapolated linearly to 255 (255: all)"
    )
    parser.add_argument("--channels", type=int, default=16, help="conv channels of mnist_half_cnn (paper: 64)")
    parser.add_argument("--fusion-width", type=int, default=128, help="intermediate's per-modality layer (paper: 512)")
    parser.add_argument("--embracement-size", type=int, default=256, help="EmbraceNet's c")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (0: torch's default; 1: no oversubscription)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)

    note = load_note()
    split = make_split(args.n)
    masks = subset_masks(M)
    k = max(1, min(args.naive_subsets, len(masks)))
    naive_masks = masks[torch.linspace(0, len(masks) - 1, k).round().long()]  # spread over subset sizes
    extrapolated = k < len(masks)
    print(
        f"m={M}, parts {list(SHAPE)}, n={args.n}, batch {args.batch_size}, {len(masks)} subsets, "
        f"mnist_half_cnn(channels={args.channels}, fusion_width={args.fusion_width}), c={args.embracement_size}, "
        f"threads {torch.get_num_threads()}"
    )
    print(note)
    if extrapolated:
        print(
            f"NOTE: the naive loop ran only {k} of the {len(masks)} subsets (evenly spaced over the list, so every "
            f"subset size is represented); its time is extrapolated linearly x{len(masks) / k:.2f}"
        )

    ok, rows = True, []
    for kind, inference in (("intermediate", "-"), ("embracenet", "sample"), ("embracenet", "expectation")):
        model = build(kind, args, split, inference if inference != "-" else "sample")
        name = kind if inference == "-" else f"{kind} ({inference})"
        timed = inference != "expectation"  # the expectation variant is an identity check only
        t_cached = t_naive = float("nan")
        if timed:
            times = []
            for _ in range(args.repeats):
                start = time.perf_counter()
                scores = evaluate_subsets(model, split, masks, batch_size=args.batch_size, seed=args.seed)
                times.append(time.perf_counter() - start)
            t_cached = statistics.median(times)
        check_masks = naive_masks if timed else masks[torch.linspace(0, len(masks) - 1, min(k, 16)).round().long()]
        start = time.perf_counter()
        naive_preds, naive_scores = loop_predictions(model, split, check_masks, args.batch_size, args.seed, cached=False)
        t_naive = (time.perf_counter() - start) * len(masks) / k if timed else float("nan")
        # Checks (untimed), on the subsets the naive loop ran: the generator's draws follow the
        # same (batch, subset) order on both sides.
        cached_preds, _ = loop_predictions(model, split, check_masks, args.batch_size, args.seed, cached=True)
        same_preds = torch.equal(cached_preds, naive_preds)
        full = timed and not extrapolated
        lib_scores = scores if full else evaluate_subsets(model, split, check_masks, batch_size=args.batch_size, seed=args.seed)
        same_scores = all(
            torch.equal(getattr(lib_scores, f), getattr(naive_scores, f)) for f in ("weighted_f1", "error_rate", "n")
        )
        ok &= same_preds and same_scores
        rows.append((name, t_cached, t_naive, same_preds, same_scores))
        timing = f"cached {t_cached:.2f} s, naive {t_naive:.2f} s" if timed else "untimed"
        print(
            f"  {name}: {timing}; checked on {len(check_masks)} subsets: "
            f"predictions equal {same_preds}, scores equal {same_scores}",
            flush=True,
        )

    print(f"\n{'model':<28} {'cached s':>9} {'naive s':>9} {'ratio':>7} {'preds equal':>12} {'scores equal':>13} {'>=10x':>6}")
    for name, t_cached, t_naive, same_preds, same_scores in rows:
        ratio = t_naive / t_cached
        if ratio != ratio:  # untimed (identity check only)
            times = f"{'-':>9} {'-':>9} {'-':>7}"
        else:
            times = f"{t_cached:>9.2f} {t_naive:>9.2f}{'*' if extrapolated else ' '}{ratio:>6.1f}"
        target = "n/a" if ratio != ratio else ("PASS" if ratio >= 10 else "FAIL")
        print(f"{name:<28} {times} {str(same_preds):>12} {str(same_scores):>13} {target:>6}")
    if extrapolated:
        print("* extrapolated from the subsets the naive loop ran")
    print(f"identity checks: {'PASS' if ok else 'FAIL'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
