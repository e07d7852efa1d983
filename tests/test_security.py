"""Nothing untrusted is unpickled; archives cannot write outside their target folder."""

from __future__ import annotations

import io
import re
import tarfile
from pathlib import Path

import pytest
import torch

from data_prep.files import DataPrepError, safe_extract
from embracenet.training import TrainingError

from .test_training import fit

ROOT = Path(__file__).resolve().parents[1]
CODE = [p for d in ("embracenet", "experiments", "scripts", "data_prep") for p in (ROOT / d).rglob("*.py")]


class Payload:
    """Stands for an object a malicious checkpoint would run code through when unpickled."""

    def __reduce__(self):
        return (print, ("unpickled!",))


def test_checkpoint_with_a_pickled_object_is_refused_and_kept(tmp_path, capsys):
    ckpt = tmp_path / "checkpoint.pt"
    torch.save({"epochs_done": 1, "payload": Payload()}, ckpt)
    before = ckpt.read_bytes()
    with pytest.raises(TrainingError, match="cannot read the checkpoint"):
        fit("embracenet", 2, checkpoint=ckpt)
    assert "unpickled!" not in capsys.readouterr().out
    assert ckpt.read_bytes() == before  # left for the user to inspect, never overwritten


def test_every_torch_load_uses_weights_only_and_nothing_unpickles():
    for path in CODE:
        text = path.read_text(encoding="utf-8")
        for call in re.findall(r"torch\.load\([^)]*\)", text):
            assert "weights_only=True" in call, f"{path}: {call}"
        assert not re.search(r"^\s*(import pickle|from pickle|import dill|import joblib)", text, re.M), path
        assert "allow_pickle=True" not in text, path


def make_tar(path: Path, members: list[tuple[str, str | None]]) -> Path:
    """members: (name, link target or None for a small file)."""
    with tarfile.open(path, "w:gz") as tf:
        for name, link in members:
            info = tarfile.TarInfo(name)
            if link is None:
                data = b"data"
                info.size = len(data)
                tf.addfile(info, io.BytesIO(data))
            else:
                info.type, info.linkname = tarfile.SYMTYPE, link
                tf.addfile(info)
    return path


@pytest.mark.parametrize(
    "members",
    [
        [("ok.txt", None), ("../escaped.txt", None)],
        [("ok.txt", None), ("/tmp/absolute_escape_embracenet.txt", None)],
        [("ok.txt", None), ("sub/../../escaped.txt", None)],
        [("link", "../../escaped.txt")],
        [("link", "/etc/passwd")],
    ],
    ids=["dotdot", "absolute", "nested-dotdot", "symlink-out", "symlink-absolute"],
)
def test_tar_members_outside_the_target_are_refused(tmp_path, members):
    archive = make_tar(tmp_path / "archive.tar.gz", members)
    target = tmp_path / "deep" / "target"
    with pytest.raises(DataPrepError, match="outside"):
        safe_extract(archive, target)
    assert not (tmp_path / "deep" / "escaped.txt").exists() and not (tmp_path / "escaped.txt").exists()
    assert not Path("/tmp/absolute_escape_embracenet.txt").exists()
    assert not any(target.iterdir()), "nothing is extracted when one member is refused"


def test_tar_inside_the_target_extracts(tmp_path):
    archive = make_tar(tmp_path / "archive.tar.gz", [("dir/a.txt", None), ("dir/link", "a.txt")])
    out = safe_extract(archive, tmp_path / "target")
    assert (out / "dir" / "a.txt").read_bytes() == b"data"
    assert (out / "dir" / "link").resolve() == (out / "dir" / "a.txt").resolve()
