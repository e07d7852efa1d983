"""OPPORTUNITY preparation: fixture (official format) -> verified h5 cache -> windowed splits."""

from __future__ import annotations

import os
import shutil
import zipfile
from pathlib import Path

os.environ.setdefault("TQDM_DISABLE", "1")

import h5py
import numpy as np
import pytest
import torch

from data_prep import opportunity as opp
from data_prep.files import DataPrepError
from data_prep.opportunity_fixture import main as fixture_main
from data_prep.opportunity_fixture import write_opportunity_fixture

# DeepConvLSTM's contiguous mapping (FORMATS.md A5), written out independently of the code.
LOCOMOTION_INDEX = {0: 0, 1: 1, 2: 2, 4: 3, 5: 4}
GESTURE_INDEX = {
    0: 0, 406516: 1, 406517: 2, 404516: 3, 404517: 4, 406520: 5, 404520: 6, 406505: 7, 404505: 8,
    406519: 9, 404519: 10, 406511: 11, 404511: 12, 406508: 13, 404508: 14, 408512: 15, 407521: 16, 405506: 17,
}
TRAIN = ["S1-ADL1", "S1-ADL2", "S1-ADL3", "S1-ADL4", "S1-ADL5", "S1-Drill",
         "S2-ADL1", "S2-ADL2", "S2-Drill", "S3-ADL1", "S3-ADL2", "S3-Drill"]
VALIDATION = ["S2-ADL3", "S3-ADL3"]
TEST = ["S2-ADL4", "S2-ADL5", "S3-ADL4", "S3-ADL5"]


@pytest.fixture(scope="module")
def fixture(tmp_path_factory):
    return write_opportunity_fixture(tmp_path_factory.mktemp("opp_src"), n_rows=80, seed=0)


@pytest.fixture(scope="module")
def cache(fixture, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("opp_out")
    assert opp.main(["--source", str(fixture.root), "--out", str(out), "--expected-checksums", str(fixture.checksums)]) == 0
    return out / "opportunity.h5"


def raw(fixture, session: str) -> np.ndarray:
    return opp.read_dat(fixture.dataset_dir / f"{session}.dat")


def copy_source(fixture, tmp_path: Path) -> Path:
    dst = tmp_path / "src"
    shutil.copytree(fixture.root, dst)
    return dst


def leftovers(out: Path) -> list[str]:
    return [p.name for p in out.iterdir()] if out.exists() else []


# -- reference files and layout ---------------------------------------------------------------------


def test_layout_and_reference_files():
    layout = opp.load_layout()
    assert len(layout.channel_groups) == 19 and sum(len(g) for g in layout.channel_groups) == 113
    assert [len(g) for g in layout.channel_groups] == [3] * 12 + [9] * 5 + [16] * 2
    assert len(set(layout.sensor_names)) == 19  # BACK exists as accelerometer and IMU: names must differ
    # The challenge columns (1b): 2-37, 38-46, 51-59, 64-72, 77-85, 90-98, 103-134.
    ones = [*range(2, 47), *range(51, 60), *range(64, 73), *range(77, 86), *range(90, 99), *range(103, 135)]
    assert [c + 1 for c in layout.raw_columns] == ones
    assert dict(zip(layout.class_codes["locomotion"], range(5))) == LOCOMOTION_INDEX
    assert dict(zip(layout.class_codes["gestures"], range(18))) == GESTURE_INDEX
    assert layout.class_names["locomotion"] == ("Null", "Stand", "Walk", "Sit", "Lie")
    assert layout.class_names["gestures"][17] == "Toggle Switch"
    expected = opp.read_expected_checksums()
    assert len(expected) == 24 and sum(v["size"] for v in expected.values()) == 885_433_599
    assert expected["S1-ADL1.dat"]["size"] == 51_803_164


def test_fixture_is_in_official_format(fixture, tmp_path):
    lines = (fixture.dataset_dir / "S1-ADL1.dat").read_text().splitlines()
    assert len(lines) == 80
    fields = lines[0].split(" ")
    assert len(fields) == 250 and fields[0] == "0" and fields[1] == "NaN"  # time restarts; leading gap
    assert all(f == "NaN" or f.lstrip("-").isdigit() for line in lines for f in line.split(" "))
    assert {int(float(v)) for v in raw(fixture, "S1-ADL1")[:, 249]} <= set(GESTURE_INDEX)
    assert opp.read_expected_checksums(fixture.checksums).keys() == {f"{s}.dat" for s in TRAIN + VALIDATION + TEST}
    assert (fixture.dataset_dir / "label_legend.txt").read_bytes() == (opp.REFERENCE_DIR / "label_legend.txt").read_bytes()
    out = tmp_path / "cli"
    assert fixture_main([str(out), "--rows", "40", "--subjects", "2"]) == 0
    assert len(list((out / "OpportunityUCIDataset" / "dataset").glob("S2-*.dat"))) == 6


# -- cache content ----------------------------------------------------------------------------------


def test_cache_schema_and_split_membership(cache, fixture):
    meta = opp.load_opportunity_metadata(cache)
    assert meta["splits"] == {"train": TRAIN, "validation": VALIDATION, "test": TEST}
    with h5py.File(cache, "r") as f:
        assert sorted(f.keys()) == sorted(TRAIN + VALIDATION + TEST)  # subject 4 never enters
        for split, names in meta["splits"].items():
            for name in names:
                g = f[name]
                t = len(raw(fixture, name))
                assert g.attrs["split"] == split
                assert g["data"].shape == (t, 113) and g["data"].dtype == np.float32
                assert g["data_unfilled"].shape == (t, 113)
                assert g["missing"].shape == (t, 19) and g["missing"].dtype == bool
                assert g["locomotion"].dtype == np.int64 and g["gestures"].shape == (t,)
                assert g.attrs["source_sha256"] == opp.read_expected_checksums(fixture.checksums)[f"{name}.dat"]["sha256"]
    assert len(meta["sensor_names"]) == 19 and len(meta["channel_names"]) == 113
    assert meta["norm_min"].shape == meta["norm_max"].shape == (113,)
    assert meta["params"]["normalisation"]["statistics"] == "train"


def test_label_mapping(cache, fixture):
    streams = {s.session: s for s in opp.load_opportunity_streams(cache, "test", "gestures")}
    loco = {s.session: s for s in opp.load_opportunity_streams(cache, "test", "locomotion")}
    for name in TEST:
        table = raw(fixture, name)
        assert streams[name].labels.tolist() == [GESTURE_INDEX[int(c)] for c in table[:, 249]]
        assert loco[name].labels.tolist() == [LOCOMOTION_INDEX[int(c)] for c in table[:, 243]]


def test_normalisation_uses_training_statistics_only(cache, fixture):
    columns = list(opp.load_layout().raw_columns)
    train = np.concatenate([raw(fixture, s)[:, columns] for s in TRAIN])
    lo, hi = np.nanmin(train, axis=0), np.nanmax(train, axis=0)
    meta = opp.load_opportunity_metadata(cache)
    np.testing.assert_array_equal(meta["norm_min"][:112], lo[:112])
    np.testing.assert_array_equal(meta["norm_max"][:112], hi[:112])
    assert meta["constant_channels"] == [112]  # R-SHOE Compass is constant in the fixture
    train_data = np.concatenate([s.data for s in opp.load_opportunity_streams(cache, "train")])
    np.testing.assert_allclose(np.nanmin(train_data[:, :112], 0), -1.0, atol=1e-6)
    np.testing.assert_allclose(np.nanmax(train_data[:, :112], 0), 1.0, atol=1e-6)
    assert np.all(train_data[:, 112][~np.isnan(train_data[:, 112])] == 0.0)
    for split in ("validation", "test"):
        for stream in opp.load_opportunity_streams(cache, split):
            x = raw(fixture, stream.session)[:, columns]
            expected = np.clip(2 * (x[:, :112] - lo[:112]) / (hi[:112] - lo[:112]) - 1, -1, 1)
            np.testing.assert_allclose(stream.data[:, :112], expected, atol=1e-5)
            assert np.nanmax(np.abs(stream.data)) <= 1.0
    # Test sessions have a wider spread: some of their values lie beyond the training range.
    test_raw = np.concatenate([raw(fixture, s)[:, columns[:112]] for s in TEST])
    assert np.nanmax(test_raw - hi[:112]) > 0 or np.nanmin(test_raw - lo[:112]) < 0


def test_missing_mask_and_previous_value_fill(cache, fixture):
    layout = opp.load_layout()
    meta = opp.load_opportunity_metadata(cache)
    with h5py.File(cache, "r") as f:
        for name in ("S1-ADL1", "S2-ADL4"):
            x = raw(fixture, name)[:, list(layout.raw_columns)]
            missing, data, unfilled = f[name]["missing"][()], f[name]["data"][()], f[name]["data_unfilled"][()]
            expected = np.stack([np.isnan(x[:, list(g)]).any(1) for g in layout.channel_groups], 1)
            np.testing.assert_array_equal(missing, expected)
            np.testing.assert_array_equal(np.isnan(unfilled), np.isnan(x))
            assert not np.isnan(data).any()
            np.testing.assert_array_equal(data[~np.isnan(x)], unfilled[~np.isnan(x)])
        s1 = f["S1-ADL1"]
        data, missing = s1["data"][()], s1["missing"][()]
        assert missing[:4, 0].all() and not missing[4:, 0].any()  # Acc-RKN^ leading gap
        np.testing.assert_array_equal(data[:4, 0:3], np.repeat(data[4:5, 0:3], 4, 0))  # next valid value
        assert missing[10:20, 1].all() and not missing[20:, 1].any()  # Acc-HIP gap
        np.testing.assert_array_equal(data[10:20, 3:6], np.repeat(data[9:10, 3:6], 10, 0))  # previous value
        assert missing[30:33, 5].all()  # one NaN channel (Acc-BACK accY) marks the whole sensor missing
        np.testing.assert_array_equal(data[30:33, 16], np.repeat(data[29, 16], 3))
        np.testing.assert_array_equal(data[30:33, 15], s1["data_unfilled"][30:33, 15])
        dead = f["S2-ADL4"]
        assert dead["missing"][:, 10].all()  # Acc-LWR absent for the whole session
        np.testing.assert_allclose(dead["data"][:, 30:33], np.broadcast_to(meta["train_mean"][30:33], (len(dead["data"]), 3)))


def test_forward_fill_helper():
    x = np.array([[np.nan, np.nan, 1.0], [2.0, np.nan, np.nan], [np.nan, np.nan, 3.0], [4.0, np.nan, np.nan]])
    out = opp.forward_fill(x, fallback=np.array([9.0, 8.0, 7.0]))
    np.testing.assert_array_equal(out, [[2, 8, 1], [2, 8, 1], [2, 8, 3], [4, 8, 3]])


# -- windows ----------------------------------------------------------------------------------------


def lengths(cache: Path, names: list[str]) -> list[int]:
    with h5py.File(cache, "r") as f:
        return [len(f[n]["data"]) for n in names]


def test_window_counts_and_content(cache):
    splits = opp.load_opportunity_splits(cache, "locomotion")
    n_train, n_val, n_test = lengths(cache, TRAIN), lengths(cache, VALIDATION), lengths(cache, TEST)
    assert len(splits["train"]) == sum(n - 15 + 1 for n in n_train)
    assert len(splits["validation"]) == sum(int((n - 15) // 7.5) + 1 for n in n_val)
    assert len(splits["test"]) == sum(int((n - 15) // 7.5) + 1 for n in n_test)
    assert splits["test"].starts[:4].tolist() == [0, 7, 15, 22]  # 250 ms at 30 Hz
    assert int(splits["test"].starts.max()) + 15 <= sum(n_test)
    for split in splits.values():
        assert split.n_modalities == 19 and sum(s[1] for s in split.modality_shapes) == 113
        assert split.modality_shapes[0] == (15, 3) and split.modality_shapes[-1] == (15, 16)
    # A window is the stream slice, labelled by its last sample; windows never cross sessions.
    train = splits["train"]
    first = opp.load_opportunity_streams(cache, "train", "locomotion", filled=True)[0]
    batch = train.batch(torch.tensor([0, 5]))
    torch.testing.assert_close(batch.xs[1][1], torch.from_numpy(first.data[5:20, 3:6]))
    assert batch.y.tolist() == [first.labels[14], first.labels[19]]
    assert batch.available[0, 0].item() is False  # Acc-RKN^ is missing at steps 0-3
    assert batch.available[1, 0].item() is True
    assert train.starts[n_train[0] - 15 + 1].item() == n_train[0]  # next session starts fresh


def test_gesture_validation_has_no_null(cache):
    splits = opp.load_opportunity_splits(cache, "gestures")
    assert len(splits["validation"]) > 0 and (splits["validation"].labels != 0).all()
    full = opp.windowed_split(opp.load_opportunity_streams(cache, "validation", "gestures", filled=True),
                              opp.load_layout().channel_groups, 15, 7.5)
    assert len(splits["validation"]) == int((full.labels != 0).sum()) < len(full)
    assert (splits["test"].labels == 0).any() and (splits["train"].labels == 0).any()  # only validation drops Null
    assert int(splits["train"].labels.max()) <= 17
    loco = opp.load_opportunity_splits(cache, "locomotion")
    assert (loco["validation"].labels == 0).any()


def test_complete_window_mask(cache):
    test = opp.load_opportunity_splits(cache, "locomotion")["test"]
    complete = opp.complete_window_mask(test)
    missing = np.concatenate([s.missing for s in opp.load_opportunity_streams(cache, "test")])
    expected = [not missing[s : s + 15].any() for s in test.starts.tolist()]
    assert complete.tolist() == expected and 0 < int(complete.sum()) < len(test)
    kept = opp.select_windows(test, complete)
    assert len(kept) == int(complete.sum())
    assert kept.batch(torch.arange(len(kept))).available.all()


def test_raw_test_streams_refill_to_cached_data(cache):
    meta = opp.load_opportunity_metadata(cache)
    unfilled = opp.load_opportunity_streams(cache, "test", "gestures", filled=False)
    filled = opp.load_opportunity_streams(cache, "test", "gestures", filled=True)
    assert [s.session for s in unfilled] == TEST
    assert any(np.isnan(s.data).any() for s in unfilled)
    for u, f in zip(unfilled, filled):
        np.testing.assert_array_equal(opp.forward_fill(u.data, meta["train_mean"]), f.data)
    with pytest.raises(ValueError, match="NaN"):
        opp.windowed_split(unfilled, meta["channel_groups"])


# -- errors and cache management --------------------------------------------------------------------


def test_truncated_file_is_reported_and_no_cache_written(fixture, tmp_path):
    src = copy_source(fixture, tmp_path)
    path = src / "OpportunityUCIDataset" / "dataset" / "S2-ADL3.dat"
    path.write_bytes(path.read_bytes()[:-100])
    out = tmp_path / "out"
    with pytest.raises(DataPrepError, match=r"S2-ADL3\.dat.*bytes"):
        opp.prepare_opportunity(src, out, expected_checksums=fixture.checksums)
    assert leftovers(out) == []


def test_wrong_checksum_is_reported_and_no_cache_written(fixture, tmp_path):
    src = copy_source(fixture, tmp_path)
    path = src / "OpportunityUCIDataset" / "dataset" / "S3-Drill.dat"
    data = bytearray(path.read_bytes())
    data[0] = ord("1") if data[0] != ord("1") else ord("2")  # same size, different content
    path.write_bytes(bytes(data))
    out = tmp_path / "out"
    with pytest.raises(DataPrepError, match=r"S3-Drill\.dat.*sha256"):
        opp.prepare_opportunity(src, out, expected_checksums=fixture.checksums)
    assert leftovers(out) == []


@pytest.mark.parametrize(
    "mutate, why",
    [
        (lambda fields: fields[:-1], "249 columns"),
        (lambda fields: fields[:5] + ["12a"] + fields[6:], "column 6"),
    ],
)
def test_malformed_row_names_file_and_line(fixture, tmp_path, mutate, why):
    src = copy_source(fixture, tmp_path)
    path = src / "OpportunityUCIDataset" / "dataset" / "S2-ADL1.dat"
    lines = path.read_text().splitlines()
    lines[6] = " ".join(mutate(lines[6].split(" ")))
    path.write_text("\n".join(lines) + "\n")
    out = tmp_path / "out"
    with pytest.raises(DataPrepError, match=rf"S2-ADL1\.dat, line 7: {why}"):
        opp.prepare_opportunity(src, out, verify=False)
    assert leftovers(out) == []  # neither the cache nor a .part / scratch file


def test_unknown_label_code_is_reported(fixture, tmp_path):
    src = copy_source(fixture, tmp_path)
    path = src / "OpportunityUCIDataset" / "dataset" / "S1-ADL3.dat"
    lines = path.read_text().splitlines()
    fields = lines[2].split(" ")
    fields[243] = "3"  # locomotion code 3 does not exist
    lines[2] = " ".join(fields)
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(DataPrepError, match=r"S1-ADL3\.dat, line 3: label 3 in column 244"):
        opp.prepare_opportunity(src, tmp_path / "out", verify=False)


def test_cache_reused_when_unchanged_and_rebuilt_when_parameters_change(fixture, tmp_path):
    out = tmp_path / "out"
    kwargs = dict(expected_checksums=fixture.checksums)
    cache = opp.prepare_opportunity(fixture.dataset_dir, out, **kwargs)  # the dataset/ folder works too
    first = cache.stat()
    assert opp.prepare_opportunity(fixture.root, out, **kwargs) == cache
    assert cache.stat().st_ino == first.st_ino and cache.stat().st_mtime_ns == first.st_mtime_ns
    # Verified sources are identified by their checksums: no source is needed to reuse the cache.
    opp.prepare_opportunity(None, out, url="http://127.0.0.1:9/unreachable.zip", **kwargs)
    assert cache.stat().st_ino == first.st_ino
    opp.prepare_opportunity(fixture.root, out, quantile=0.01, **kwargs)
    assert cache.stat().st_ino != first.st_ino
    assert opp.load_opportunity_metadata(cache)["params"]["normalisation"]["quantile"] == 0.01
    second = cache.stat()
    opp.prepare_opportunity(fixture.root, out, quantile=0.01, verify=False)  # hashed, same sources: reuse
    assert cache.stat().st_ino == second.st_ino
    opp.prepare_opportunity(fixture.root, out, quantile=0.01, force=True, **kwargs)
    assert cache.stat().st_ino != second.st_ino
    assert sorted(leftovers(out)) == ["opportunity.h5"]


def test_source_changes_trigger_rebuild_with_no_verify(fixture, tmp_path):
    src = copy_source(fixture, tmp_path)
    out = tmp_path / "out"
    cache = opp.prepare_opportunity(src, out, verify=False)
    before = cache.stat().st_ino
    other = write_opportunity_fixture(tmp_path / "other", n_rows=80, seed=1)
    shutil.copy(other.dataset_dir / "S3-ADL5.dat", src / "OpportunityUCIDataset" / "dataset" / "S3-ADL5.dat")
    opp.prepare_opportunity(src, out, verify=False)
    assert cache.stat().st_ino != before


def test_zip_source_and_unreachable_download(fixture, tmp_path):
    archive = tmp_path / "opportunity+activity+recognition.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for path in fixture.dataset_dir.iterdir():
            zf.write(path, f"OpportunityUCIDataset/dataset/{path.name}")
    cache = opp.prepare_opportunity(archive, tmp_path / "out", expected_checksums=fixture.checksums)
    assert len(opp.load_opportunity_splits(cache)["test"]) > 0
    with pytest.raises(DataPrepError, match="--source"):
        opp.prepare_opportunity(None, tmp_path / "empty", url="http://127.0.0.1:9/unreachable.zip")
    with pytest.raises(DataPrepError, match="not-there"):
        opp.prepare_opportunity(tmp_path / "not-there", tmp_path / "out2", expected_checksums=fixture.checksums)
