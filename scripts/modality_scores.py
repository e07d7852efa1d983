"""Per-modality scores of a trained run and the "Adj. post" probabilities they give (section 5.2).

    python scripts/modality_scores.py outputs/table1/1_mnist_embracenet_baseline_seed0 [--split train]

Rebuilds the run's model from its ``config.yaml``, loads the weights it was evaluated with from
``checkpoint.pt`` (the best epoch when ``trainer.select_best`` was on; tensors only), scores each
modality alone on the split the config names (``dataset.calibration``) or ``--split``, and prints
the scores and ``p = score / sum(score)``. Writes ``modality_scores.csv`` into the run folder.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd
import torch
from hydra.utils import instantiate
from omegaconf import OmegaConf

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from embracenet.calibration import modality_scores, probabilities_from_scores  # noqa: E402
from experiments.run import build_model  # noqa: E402
sys.path.insert(0, str(Path(__file__).resolve().parent))
from metrics_io import write_frame  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run_dir", type=Path, help="a run folder holding config.yaml and checkpoint.pt")
    parser.add_argument("--split", choices=("train", "val"), default=None, help="default: dataset.calibration.split")
    parser.add_argument("--metric", choices=("accuracy", "weighted_f1"), default=None, help="default: dataset.calibration.metric")
    args = parser.parse_args(argv)
    cfg = OmegaConf.load(args.run_dir / "config.yaml")
    split = args.split or cfg.dataset.calibration.split
    metric = args.metric or cfg.dataset.calibration.metric
    torch.manual_seed(cfg.seed)
    dataset = instantiate(cfg.dataset.loader)
    model = build_model(cfg, dataset)
    state = torch.load(args.run_dir / "checkpoint.pt", map_location="cpu", weights_only=True)
    model.load_state_dict(state["best_state"] or state["model"])
    scores = modality_scores(model, dataset.split(split), metric, batch_size=cfg.trainer.eval_batch_size, seed=cfg.seed)
    p = probabilities_from_scores(scores)
    table = pd.DataFrame({"modality": dataset.modality_names, f"{split}_{metric}": scores.tolist(), "p": p.tolist()})
    write_frame(table, args.run_dir / "modality_scores.csv")
    print(f"{args.run_dir} ({split}, {metric}):\n{table.to_string(index=False)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
