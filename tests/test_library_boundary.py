"""The library is plain PyTorch: importing it pulls in no config, tracking or data-format stack."""

import re
import subprocess
import sys
from pathlib import Path

LIBRARY = Path(__file__).resolve().parents[1] / "embracenet"


def test_library_never_imports_hydra_or_wandb():
    pattern = re.compile(r"^\s*(import|from)\s+(hydra|omegaconf|wandb)\b", re.MULTILINE)
    offenders = [str(p) for p in LIBRARY.rglob("*.py") if pattern.search(p.read_text())]
    assert offenders == []


def test_importing_the_layer_loads_only_the_core_dependencies():
    code = (
        "import sys; from embracenet import EmbraceNet, modality_dropout, probabilities_from_scores; "
        "import embracenet.models; "
        "heavy = [m for m in ('hydra', 'omegaconf', 'wandb', 'h5py', 'pandas', 'matplotlib') if m in sys.modules]; "
        "print(heavy); sys.exit(1 if heavy else 0)"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=LIBRARY.parent, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
