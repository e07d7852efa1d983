"""Execute both notebooks with nbclient on small inputs, so they never rot."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"


@pytest.fixture
def kernel_env(tmp_path, monkeypatch) -> str:
    """A `python3` kernel spec for this interpreter, first on JUPYTER_PATH.

    A python3 kernel registered elsewhere (the user's ~/.local/share/jupyter, the system) would
    otherwise run the notebooks with another Python that lacks this venv's packages.
    """
    spec = tmp_path / "jupyter" / "kernels" / "python3"
    spec.mkdir(parents=True)
    argv = [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    (spec / "kernel.json").write_text(json.dumps({"argv": argv, "display_name": "Python 3 (test)", "language": "python"}))
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))
    monkeypatch.setenv("IPYTHONDIR", str(tmp_path / "ipython"))
    monkeypatch.setenv("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    return "python3"


def execute(name: str, kernel_name: str) -> nbformat.NotebookNode:
    nb = nbformat.read(NOTEBOOKS / name, as_version=4)
    assert all(not cell.get("outputs") for cell in nb.cells if cell.cell_type == "code"), f"{name}: commit it with outputs cleared"
    client = nbclient.NotebookClient(nb, timeout=120, kernel_name=kernel_name, resources={"metadata": {"path": str(NOTEBOOKS)}})
    client.execute()
    return nb


def outputs(nb) -> list[dict]:
    return [out for cell in nb.cells if cell.cell_type == "code" for out in cell.outputs]


def small_results(folder: Path) -> None:
    """A results folder as the scripts write it: Table 1 and a collected table from fake runs."""
    rng = np.random.default_rng(0)
    runs = folder.parent / "runs"
    for model, variants in (("intermediate", ["baseline"]), ("embracenet", ["baseline", "adj_post", "adj_pre", "adj_both"])):
        for seed in (0, 1):
            rows = [dict(dataset="digits", model=model, variant=v, scenario="missing_modalities", level=np.nan, subset=s, seed=seed,
                         weighted_f1=1 - (e := float(rng.uniform(0.05, 0.3))), error_rate=e, n=360)
                    for v in variants for s in ("left", "right", "left+right")]  # fmt: skip
            (runs / f"{model}_{seed}").mkdir(parents=True)
            pd.DataFrame(rows).to_csv(runs / f"{model}_{seed}" / "metrics.csv", index=False)
    for script, out in (("table1.py", folder / "table1"), ("collect.py", folder / "collected" / "digits")):
        subprocess.run([sys.executable, f"scripts/{script}", str(runs), "--out", str(out)], cwd=ROOT, check=True, capture_output=True)


def test_inspect_results_notebook(tmp_path, kernel_env, monkeypatch):
    results = tmp_path / "results"
    small_results(results)
    monkeypatch.setenv("EMBRACENET_RESULTS", str(results))
    nb = execute("inspect_results.ipynb", kernel_env)
    text = "".join(str(out.get("text", "")) + str(out.get("data", {}).get("text/plain", "")) for out in outputs(nb))
    assert str(results) in text and "2 tables, 1 figures" in text
    assert "Intermediate integration" in text or "intermediate" in text
    assert any("image/png" in out.get("data", {}) for out in outputs(nb))


def test_inspect_results_notebook_with_an_empty_results_folder(tmp_path, kernel_env, monkeypatch):
    (tmp_path / "results").mkdir()
    monkeypatch.setenv("EMBRACENET_RESULTS", str(tmp_path / "results"))
    nb = execute("inspect_results.ipynb", kernel_env)
    assert "no results/table1.csv yet" in "".join(str(out.get("text", "")) for out in outputs(nb))


def test_embracement_explained_notebook(kernel_env):
    nb = execute("embracement_explained.ipynb", kernel_env)
    pictures = [out for out in outputs(nb) if "image/png" in out.get("data", {})]
    assert len(pictures) >= 4
