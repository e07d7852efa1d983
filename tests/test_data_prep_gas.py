"""Gas archive -> HDF5 cache -> windowed splits, on a small fixture in the official format."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import h5py
import numpy as np
import pytest
import torch

os.environ.setdefault("TQDM_DISABLE", "1")

from data_prep import gas  # noqa: E402
from data_prep.files import DataPrepError  # noqa: E402
from data_prep.gas_fixture import MISSING_LOCATION, format_rows, write_gas_fixture  # noqa: E402


@pytest.fixture(scope="module")
def archive(tmp_path_factory) -> tuple[Path, dict[str, str]]:
    root = tmp_path_factory.mktemp("gas_archive")
    expected = write_gas_fixture(root, n_trials_per_location=1, seed=0, make_zip=True)
    return root, expected


@pytest.fixture(scope="module")
def cache(archive, tmp_path_factory) -> Path:
    root, _ = archive
    return gas.build_gas_cache(root, tmp_path_factory.mktemp("gas_cache"))


def content(path: Path) -> dict:
    """Everything a cache holds that must not depend on how it was built (resumed or not)."""
    with h5py.File(path, "r") as f:
        out = {name: f[name][:] for name in ("series", *gas.PER_TRIAL, "progress/name", "progress/status")}
        for key in ("norm_min", "norm_max", "skip_counts", "params", "fingerprint", "classes", "complete"):
            out[key] = f.attrs[key]
    return out


def assert_same(a: dict, b: dict) -> None:
    assert a.keys() == b.keys()
    for key in a:
        np.testing.assert_array_equal(np.asarray(a[key]), np.asarray(b[key]), err_msg=key)


# ----------------------------------------------------------------------------------------- format
def test_parse_name_follows_the_grammar() -> None:
    n = gas.parse_name(
        "Toluene_200/L4/201106060617_board_setPoint_500V_fan_setPoint_060_mfc_setPoint_Toluene_200ppm_p7"
    )
    fields = (n.gas, n.ppm, n.location, n.volt, n.fan, n.timestamp, n.p)
    assert fields == ("Toluene", 200, 4, 500, 60, "201106060617", 7)
    assert gas.CLASSES[n.label] == "Toluene"
    co = gas.parse_name("CO_4000/L1/201012100006_board_setPoint_400V_fan_setPoint_000_mfc_setPoint_CO_4000ppm_p1")
    assert co.label == gas.CLASSES.index("CO") and co.ppm == 4000
    with pytest.raises(ValueError, match="name_mismatch"):  # p5 is L3, not L4
        gas.parse_name(
            "Toluene_200/L4/201106060617_board_setPoint_500V_fan_setPoint_060_mfc_setPoint_Toluene_200ppm_p5"
        )
    with pytest.raises(ValueError, match="unknown_name"):
        gas.parse_name("Xenon_10/L1/201106060617_board_setPoint_500V_fan_setPoint_060_mfc_setPoint_Xenon_10ppm_p1")
    assert len(gas.CLASSES) == 10


def test_parse_rows_reads_tabs_with_trailing_tab_and_spaces() -> None:
    rows = np.arange(3 * 92, dtype=float).reshape(3, 92)
    text = format_rows(rows)
    assert text.split(b"\n")[0].endswith(b"\t") and text.count(b"\t") == 3 * 92
    np.testing.assert_array_equal(gas.parse_rows(text), rows)
    np.testing.assert_array_equal(gas.parse_rows(text.replace(b"\t", b" ")), rows)


def test_downsample_is_mean_per_second_with_slot_major_columns() -> None:
    t = np.array([0, 400, 400, 900, 1500, 3500], dtype=float)  # a duplicate, and second 2 is empty
    rows = np.zeros((len(t), 92))
    rows[:, 0] = t
    rows[:, 12 + 9 * 2 + 5] = [1, 2, 99, 3, 10, 30]  # board 3, slot 6 -> column 9*5 + 2
    out = gas.downsample(rows, n_seconds=260, max_gap_s=3, max_duplicate_fraction=0.5)
    assert out.shape == (4, 72)
    np.testing.assert_allclose(out[:, 9 * 5 + 2], [2.0, 10.0, 20.0, 30.0])  # dup dropped, gap interpolated
    assert np.count_nonzero(out) == 4
    with pytest.raises(gas.SkipFile, match="gap"):
        gas.downsample(rows, n_seconds=260, max_gap_s=0, max_duplicate_fraction=0.5)
    assert len(gas.downsample(rows, n_seconds=2, max_gap_s=3, max_duplicate_fraction=0.5)) == 2  # cut to T


# ------------------------------------------------------------------------------------ cache/splits
def test_cache_layout_and_location_split(cache: Path) -> None:
    with h5py.File(cache, "r") as f:
        assert f.attrs["complete"]
        n = len(f["label"])
        assert f["series"].shape == (n, 260, 72) and f["series"].dtype == np.float32
        assert set(np.unique(f["location"][:])) == {1, 2, 3, 4, 5}  # L6 not read
        lengths = f["length"][:]
        assert lengths.min() >= 240 and lengths.max() == 260  # long trials cut to T
        assert np.isnan(f["series"][int(lengths.argmin()), -1]).all()  # padding past length
        assert json.loads(f.attrs["classes"])[5] == "CO"
        assert json.loads(f.attrs["params"])["window"] == 240
        assert f["sources/digest"][0].decode().__len__() == 64  # sha256 of each file
        names = f["trial_name"].asstr()[:]
        assert not any(name.startswith(f"{MISSING_LOCATION[0]}/L{MISSING_LOCATION[1]}/") for name in names)


def test_splits_shapes_labels_and_train_only_normalisation(cache: Path) -> None:
    splits = gas.load_gas_splits(cache)
    with h5py.File(cache, "r") as f:
        location, label, lengths = f["location"][:], f["label"][:], f["length"][:]
        series = f["series"][:]
        lo, hi = f.attrs["norm_min"], f.attrs["norm_max"]
    train_rows = np.flatnonzero(np.isin(location, (1, 3, 5)))
    raw_train = np.concatenate([series[i, : lengths[i]] for i in train_rows])
    np.testing.assert_array_equal(lo, raw_train.min(0))  # statistics come from training trials only
    np.testing.assert_array_equal(hi, raw_train.max(0))

    for name, locs in gas.SPLIT_LOCATIONS.items():
        split = splits[name]
        assert split.modality_shapes == [(240, 9)] * 8
        assert np.isin(location[split.window_trial.numpy()], locs).all()
        np.testing.assert_array_equal(split.labels.numpy(), label[split.window_trial.numpy()])
        batch = next(split.batches(7))
        assert len(batch.xs) == 8 and all(x.shape == (7, 240, 9) for x in batch.xs)
        assert batch.available.all() and batch.y.dtype == torch.long
        assert 0.0 <= float(split.stream.min()) and float(split.stream.max()) <= 1.0

    train = splits["train"]
    assert float(train.stream.min()) == 0.0 and float(train.stream.max()) == 1.0
    assert len(train) == sum(int(lengths[i]) - 240 + 1 for i in train_rows)  # step 1 s
    for name in ("val", "test"):  # one window per trial by default: the last 240 s
        assert len(splits[name]) == int(np.isin(location, gas.SPLIT_LOCATIONS[name]).sum())
    # A window's modality k, board b is raw column 12 + 9b + k, normalised.
    w = train.batch(torch.tensor([0]))
    row0 = int(train.window_trial[0])
    raw = series[row0, :240, 9 * 3 + 4]
    np.testing.assert_allclose(w.xs[3][0, :, 4].numpy(), (raw - lo[31]) / (hi[31] - lo[31]), rtol=1e-5, atol=1e-6)
    slid = gas.load_gas_splits(cache, eval_step=5)
    assert len(slid["val"]) > len(splits["val"])


def test_each_bad_file_is_skipped_with_its_reason(archive, cache: Path) -> None:
    _, expected = archive
    log_text = (cache.parent / gas.LOG_NAME).read_text()
    with h5py.File(cache, "r") as f:
        counts = json.loads(f.attrs["skip_counts"])
        names = set(f["trial_name"].asstr()[:])
    for relpath, reason in expected.items():
        assert f"SKIP {reason} {relpath}:" in log_text, (reason, relpath)
        assert relpath not in names
        assert counts[reason] == 1
    folder, loc = MISSING_LOCATION
    assert f"missing_location {folder}/L{loc}" in log_text and counts["missing_location"] == 1
    assert "line 41 has 90 fields" in log_text and "'abc' is not a number" in log_text


# ------------------------------------------------------------------------------- resume and reuse
def test_resume_after_interruption_equals_uninterrupted_build(archive, cache: Path, tmp_path, monkeypatch) -> None:
    root, _ = archive
    real_process, calls = gas._process, {"n": 0}

    def crash_on_tenth(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 10:
            raise KeyboardInterrupt("simulated interruption")
        return real_process(*args, **kwargs)

    monkeypatch.setattr(gas, "_process", crash_on_tenth)
    with pytest.raises(KeyboardInterrupt):
        gas.build_gas_cache(root, tmp_path)
    assert not (tmp_path / gas.CACHE_NAME).exists() and (tmp_path / f"{gas.CACHE_NAME}.part").exists()
    monkeypatch.setattr(gas, "_process", real_process)
    calls["n"] = 0

    def counting(*args, **kwargs):
        calls["n"] += 1
        return real_process(*args, **kwargs)

    monkeypatch.setattr(gas, "_process", counting)
    gas.build_gas_cache(root, tmp_path)
    with h5py.File(cache, "r") as f:
        n_used = len(f["sources/name"])
    assert calls["n"] == n_used - 9  # the nine files handled before the interruption are not redone
    assert_same(content(tmp_path / gas.CACHE_NAME), content(cache))
    assert not (tmp_path / f"{gas.CACHE_NAME}.part").exists()


def test_resume_drops_a_row_written_after_the_last_commit(archive, cache: Path, tmp_path, monkeypatch) -> None:
    root, _ = archive
    real_append, calls = gas._append, {"n": 0}

    def crash_before_commit(ds, value):
        if ds.name == "/progress/status":
            calls["n"] += 1
            if calls["n"] == 6:  # the trial row is written, its progress entry half-written
                raise RuntimeError("simulated crash")
        real_append(ds, value)

    monkeypatch.setattr(gas, "_append", crash_before_commit)
    with pytest.raises(RuntimeError):
        gas.build_gas_cache(root, tmp_path)
    monkeypatch.setattr(gas, "_append", real_append)
    gas.build_gas_cache(root, tmp_path)
    assert_same(content(tmp_path / gas.CACHE_NAME), content(cache))


def test_reused_when_unchanged_rebuilt_when_params_or_source_change(archive, tmp_path, monkeypatch) -> None:
    src = tmp_path / "src"
    shutil.copytree(archive[0] / gas.ROOT_NAME, src / gas.ROOT_NAME)
    out = tmp_path / "out"
    path = gas.build_gas_cache(src, out)
    before = content(path)

    def no_work(*args, **kwargs):
        raise AssertionError("the cache should have been reused")

    monkeypatch.setattr(gas, "_process", no_work)
    gas.build_gas_cache(src, out)  # same parameters, same bytes: nothing is read again
    monkeypatch.undo()

    gas.build_gas_cache(src, out, gas.GasParams(max_gap_s=4))
    changed = content(path)
    assert changed["fingerprint"] != before["fingerprint"]
    assert json.loads(changed["params"])["max_gap_s"] == 4

    # Edit one reading in a used file, keeping its size and mtime: only a content checksum sees it.
    victim = src / gas.ROOT_NAME / str(np.asarray(before["trial_name"])[0].decode())
    stat = victim.stat()
    data = bytearray(victim.read_bytes())
    i = data.index(b"\t1\t") + 3  # first sensor value of board 1 in row 0
    data[i : i + 1] = b"1" if data[i : i + 1] != b"1" else b"2"
    victim.write_bytes(bytes(data))
    os.utime(victim, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    gas.build_gas_cache(src, out, gas.GasParams(max_gap_s=4))
    edited = content(path)
    assert edited["fingerprint"] != changed["fingerprint"]
    assert not np.array_equal(edited["series"][0], changed["series"][0], equal_nan=True)


# ------------------------------------------------------------------------------------- zip / CLI
def test_zip_source_gives_the_same_trials(archive, cache: Path, tmp_path) -> None:
    root, _ = archive
    zip_dir = tmp_path / "zip"
    zip_dir.mkdir()
    shutil.copy(root / "WTD_upload.zip", zip_dir)
    from_zip = content(gas.build_gas_cache(zip_dir, tmp_path / "out"))
    from_tree = content(cache)
    for key in ("series", "label", "location", "trial_name", "norm_min", "norm_max"):
        np.testing.assert_array_equal(from_zip[key], from_tree[key], err_msg=key)


def test_corrupt_zip_raises_naming_the_file(archive, tmp_path) -> None:
    good = (archive[0] / "WTD_upload.zip").read_bytes()
    for name, data in (("garbage.zip", b"PK\x03\x04 not really a zip"), ("truncated.zip", good[: len(good) // 2])):
        folder = tmp_path / name
        folder.mkdir()
        (folder / name).write_bytes(data)
        with pytest.raises(DataPrepError, match=name):
            gas.build_gas_cache(folder, tmp_path / "out")


def _fake_download(payload: bytes | None):
    """Stand-in for the network: writes ``payload`` where the download would land, or is unreachable."""

    def download(url, dest, expected, *args, **kwargs):
        if payload is None:
            raise DataPrepError(f"{url}: download failed (unreachable). ... pass it with --source.")
        Path(dest).parent.mkdir(parents=True, exist_ok=True)
        Path(dest).write_bytes(payload)
        return Path(dest)

    return download


def test_cli_without_source_asks_for_it_when_unreachable(tmp_path, capsys, monkeypatch) -> None:
    monkeypatch.setattr(gas, "download", _fake_download(None))
    assert gas.main(["--out", str(tmp_path)]) == 1
    assert "--source" in capsys.readouterr().err


def test_download_is_checked_member_by_member(archive, tmp_path, monkeypatch) -> None:
    good = (archive[0] / "WTD_upload.zip").read_bytes()
    monkeypatch.setattr(gas, "download", _fake_download(good))
    assert gas.fetch_official(tmp_path / "ok").read_bytes() == good
    # flip one byte inside the compressed data of a member: its stored CRC-32 no longer matches
    damaged = bytearray(good)
    damaged[len(good) // 3] ^= 0xFF
    monkeypatch.setattr(gas, "download", _fake_download(bytes(damaged)))
    with pytest.raises(DataPrepError, match="corrupt"):
        gas.fetch_official(tmp_path / "bad")
    assert not (tmp_path / "bad" / gas.UCI_ZIP_NAME).exists()
