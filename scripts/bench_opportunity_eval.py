"""Is the missing-modalities scenario practical on OPPORTUNITY? 14319 subsets, real shapes.

    python scripts/bench_opportunity_eval.py                      # sampled subsets, extrapolated
    python scripts/bench_opportunity_eval.py --full --device cuda # all 14319 subsets, measured

Models with random weights (EmbraceNet c = 1024 and intermediate integration on DeepConvLSTM),
19 modalities of ``[15, C_k]`` with the real channel groups (3, 9 or 16 channels), and about the
real number of test windows. Two ways to score the subsets are timed:

* cached: :func:`embracenet.evaluation.evaluate_subsets`, encoders once per batch, fusion + head
  per subset (what the scenario uses);
* naive: a full ``model(xs, available)`` forward per batch and subset.

Number of test windows: the test split is ADL4 and ADL5 of subjects 2 and 3, 120.5 MB of .dat
files (data_prep/opportunity_reference/checksums.json). At about 1015 bytes per row (250 integer
columns) that is about 118,700 samples at 30 Hz, and windows of 15 samples every 7.5 samples give
about 15,800 windows (fewer after dropping windows with original gaps). The default is 15,830.

Without ``--full`` only a sample of subsets is timed and the time for 14319 subsets is an
extrapolation (time per subset x 14319, plus the one-off encoding of the cached path); every such
number is printed with the word EXTRAPOLATED.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from data_prep.opportunity import load_layout  # noqa: E402
from embracenet.backbones import deepconvlstm  # noqa: E402
from embracenet.data.splits import TensorSplit  # noqa: E402
from embracenet.evaluation import evaluate_subsets  # noqa: E402
from embracenet.models import EmbraceNetModel, IntermediateIntegration  # noqa: E402
from embracenet.scenarios import subset_masks  # noqa: E402

N_SUBSETS = 14319
TEST_WINDOWS = 15830


def sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


@torch.no_grad()
def naive(model, split: TensorSplit, masks: torch.Tensor, batch_size: int, device: str) -> None:
    """A full forward (encoders included) per batch and subset."""
    generator = torch.Generator(device=device).manual_seed(0)
    for chunk in torch.arange(len(split)).split(batch_size):
        batch = split.batch(chunk).to(device)
        for mask in masks.to(device):
            model(batch.xs, batch.available & mask, generator).argmax(-1)


@torch.no_grad()
def encode_all(model, split: TensorSplit, batch_size: int, device: str) -> None:
    """The cached path's one-off part: every modality's encoder (and EmbraceNet's docking) once."""
    for chunk in torch.arange(len(split)).split(batch_size):
        model.encode(split.batch(chunk).to(device).xs)


def timed(fn, device: str) -> float:
    sync(device)
    start = time.perf_counter()
    fn()
    sync(device)
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--windows", type=int, default=TEST_WINDOWS, help=f"test windows (default {TEST_WINDOWS}, see the docstring)")
    parser.add_argument("--sample", type=int, default=2, help="subsets timed per path when not --full (default 2)")
    parser.add_argument("--full", action="store_true", help="time all 14319 subsets on the cached path (and --sample on the naive one)")
    parser.add_argument("--batch-size", type=int, default=1024)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--models", nargs="+", default=["embracenet", "intermediate"], choices=["embracenet", "intermediate"])
    args = parser.parse_args(argv)

    shapes = [(15, len(g)) for g in load_layout().channel_groups]
    masks = subset_masks(19, 1000, seed=0)
    assert len(masks) == N_SUBSETS
    g = torch.Generator().manual_seed(0)
    sample = masks[torch.randperm(len(masks), generator=g)[: args.sample]]
    split = TensorSplit([torch.rand(args.windows, *s, generator=g) * 2 - 1 for s in shapes], torch.zeros(args.windows, dtype=torch.long))
    print(f"{args.windows} windows, 19 modalities {shapes[0]}..{shapes[-1]}, {N_SUBSETS} subsets, batch {args.batch_size}, "
          f"device {args.device}, torch threads {torch.get_num_threads()}")
    builders = {
        "embracenet": lambda: EmbraceNetModel(deepconvlstm(), shapes, 18, embracement_size=1024, missing_prob=0.5),
        "intermediate": lambda: IntermediateIntegration(deepconvlstm(), shapes, 18, fill="mean"),
    }
    for name in args.models:
        torch.manual_seed(0)
        model = builders[name]().to(args.device).eval()
        kwargs = dict(batch_size=args.batch_size, device=args.device)
        with torch.no_grad():  # warm-up, so one-off allocations are not timed
            model(split.batch(torch.arange(2)).to(args.device).xs)
        encode_only = timed(lambda: encode_all(model, split, args.batch_size, args.device), args.device)
        if args.full:
            cached = timed(lambda: evaluate_subsets(model, split, masks, **kwargs), args.device)
            cached_label = "measured"
        else:
            part = timed(lambda: evaluate_subsets(model, split, sample, **kwargs), args.device)
            # The sampled run includes the encoders once more; subtract the separately measured pass.
            per_subset = max(part - encode_only, 0.0) / len(sample)
            cached = encode_only + per_subset * N_SUBSETS
            cached_label = f"EXTRAPOLATED from {len(sample)} subsets"
        part = timed(lambda: naive(model, split, sample, args.batch_size, args.device), args.device)
        naive_total = part / len(sample) * N_SUBSETS
        print(f"\n{name}: one pass of the encoders over all windows: {encode_only:.2f} s (measured)")
        print(f"  cached path (evaluate_subsets), {N_SUBSETS} subsets: {cached:.1f} s ({cached_label})")
        print(f"  naive path (full forward per subset), {N_SUBSETS} subsets: {naive_total:.1f} s "
              f"(EXTRAPOLATED from {len(sample)} subsets, {part:.2f} s measured)")
        print(f"  ratio naive / cached: {naive_total / cached:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
