import gzip
import struct
from pathlib import Path

import numpy as np
import pytest
import torch

from data_prep import mnist as prep
from data_prep.files import DataPrepError, atomic_write, safe_extract
from embracenet.data.mnist import bimodal_mnist

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"


def write_idx(path: Path, array: np.ndarray) -> None:
    header = struct.pack(">HBB", 0, 0x08, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    with gzip.open(path, "wb") as handle:
        handle.write(header + array.astype(np.uint8).tobytes())


def fake_mnist(root: Path, n_train: int = 60, n_test: int = 20) -> None:
    rng = np.random.default_rng(0)
    root.mkdir(parents=True, exist_ok=True)
    for split, n in (("train", n_train), ("t10k", n_test)):
        write_idx(root / f"{split}-images-idx3-ubyte.gz", rng.integers(0, 256, (n, 28, 28)))
        write_idx(root / f"{split}-labels-idx1-ubyte.gz", np.arange(n) % 10)


def test_read_idx_and_truncated_gzip(tmp_path):
    fake_mnist(tmp_path)
    images = prep.read_idx(tmp_path / "train-images-idx3-ubyte.gz")
    assert images.shape == (60, 28, 28) and images.dtype == np.uint8
    data = (tmp_path / "train-images-idx3-ubyte.gz").read_bytes()
    truncated = tmp_path / "truncated.gz"
    truncated.write_bytes(data[: len(data) // 2])
    with pytest.raises(DataPrepError, match="truncated.gz"):
        prep.read_idx(truncated)


def test_wrong_checksum_names_the_file_and_writes_nothing(tmp_path):
    fake_mnist(tmp_path / "src")
    with pytest.raises(DataPrepError, match="train-images-idx3-ubyte.gz: md5 is"):
        prep.prepare("mnist", tmp_path / "out", tmp_path / "src")
    assert not any((tmp_path / "out").glob("*")) if (tmp_path / "out").exists() else True


def test_missing_file_is_named(tmp_path):
    (tmp_path / "src").mkdir()
    with pytest.raises(DataPrepError, match="train-images-idx3-ubyte.gz: file not found"):
        prep.prepare("fashion", tmp_path / "out", tmp_path / "src")
    assert prep.main(["--dataset", "fashion", "--source", str(tmp_path / "src"), "--out", str(tmp_path / "out")]) == 1


def test_loader_splits_halves_and_holds_out_validation(tmp_path):
    fake_mnist(tmp_path)
    ds = bimodal_mnist(tmp_path, "mnist", val_size=10)
    assert ds.modality_shapes == [(1, 28, 14), (1, 28, 14)]
    assert len(ds.train) == 50 and len(ds.val) == 10 and len(ds.test) == 20
    assert float(ds.train.xs[0].max()) <= 1.0
    full = torch.from_numpy(prep.read_idx(tmp_path / "t10k-images-idx3-ubyte.gz").copy()).float() / 255
    assert torch.equal(ds.test.xs[1][:, 0], full[:, :, 14:])
    with pytest.raises(FileNotFoundError, match="data_prep.mnist"):
        bimodal_mnist(tmp_path / "nowhere")


def test_atomic_write_leaves_nothing_on_failure(tmp_path):
    target = tmp_path / "result.csv"
    target.write_text("old")
    with pytest.raises(RuntimeError):
        with atomic_write(target, "w") as handle:
            handle.write("half")
            raise RuntimeError("killed")
    assert target.read_text() == "old" and list(tmp_path.iterdir()) == [target]


def test_safe_extract_refuses_path_traversal(tmp_path):
    import zipfile

    archive = tmp_path / "evil.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("../outside.txt", "x")
    with pytest.raises(DataPrepError, match="outside"):
        safe_extract(archive, tmp_path / "target")
    assert not (tmp_path / "outside.txt").exists()


@pytest.mark.skipif(not (SHARED / "mnist").exists(), reason="official files not present on this machine")
def test_real_files_verify(tmp_path):
    out = prep.prepare("mnist", tmp_path / "mnist", SHARED / "mnist")
    assert sorted(p.name for p in out.iterdir()) == sorted(prep.FILES["mnist"])
