"""fer.prepare end to end on small sources the tests write: formats, splits, atomicity."""
import hashlib
import json

import numpy as np
import pytest

from conftest import good_rows, image_bytes, image_files, write_csv, write_folder, write_tar, write_zip
from fer.constants import CLASS_NAMES, SPLITS
from fer.dataset import Dataset
from fer.prepare import main


def prepare_ok(*argv):
    assert main([*map(str, argv)]) == 0


@pytest.mark.parametrize("compress", ["", "gz", "zip"])
def test_csv_variants_give_the_same_arrays(workdir, compress):
    src = write_csv(workdir / "fer2013.csv", compress=compress)
    prepare_ok(src, "--out", "out")
    ds = Dataset.open("out")
    rows = good_rows()
    want_x = np.stack([r[1] for r in rows])
    for split, usage in zip(SPLITS, ("Training", "PublicTest", "PrivateTest")):
        x, y = ds.split(split)
        assert x.shape == (14, 48, 48, 1) and x.dtype == np.uint8
        sel = [i for i, r in enumerate(rows) if r[2] == usage]
        np.testing.assert_array_equal(x[..., 0], want_x[sel])
        np.testing.assert_array_equal(y, [rows[i][0] for i in sel])
    meta = json.loads((workdir / "out" / "meta.json").read_text())
    assert meta["split"]["method"] == "official"
    assert meta["counts"] == {"train": 14, "val": 14, "test": 14}
    assert meta["class_names"] == list(CLASS_NAMES)
    assert meta["source"]["kind"] == "csv" and len(meta["source"]["sha256"]) == 64
    assert set(meta["sha256"]) == {f"{a}_{s}.npy" for a in "xy" for s in SPLITS}
    for png in ("samples.png", "class_counts.png"):
        assert (workdir / "out" / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_default_output_folder_and_crlf_quoted_header(workdir):
    text = write_csv(workdir / "f.csv", header='"emotion","pixels","Usage"').read_text()
    (workdir / "f.csv").write_bytes(text.replace("\n", "\r\n").encode())
    prepare_ok(workdir / "f.csv")
    assert Dataset.open("data/fer2013").counts("train").tolist() == [2] * 7


def test_stratified_split_is_seeded_and_balanced(workdir):
    rows = [(label, np.full(2304, i % 256), "Training") for i, label in enumerate(np.repeat(range(7), 20))]
    src = write_csv(workdir / "f.csv", rows)
    prepare_ok(src, "--split", "stratified", "--val-frac", "0.2", "--test-frac", "0.1", "--seed", "3", "--out", "a")
    prepare_ok(src, "--split", "stratified", "--val-frac", "0.2", "--test-frac", "0.1", "--seed", "3", "--out", "b")
    prepare_ok(src, "--split", "stratified", "--val-frac", "0.2", "--test-frac", "0.1", "--seed", "4", "--out", "c")
    a, b, c = (Dataset.open(d) for d in "abc")
    assert [len(a.split(s)[1]) for s in SPLITS] == [98, 28, 14]
    assert a.counts("val").tolist() == [4] * 7 and a.counts("test").tolist() == [2] * 7
    np.testing.assert_array_equal(a.split("val")[0], b.split("val")[0])
    assert not np.array_equal(a.split("val")[0], c.split("val")[0])
    assert a.meta["split"] | {"counts": None} == {"method": "stratified", "seed": 3, "val_frac": 0.2,
                                                  "test_frac": 0.1, "counts": None}


def test_csv_without_usage_defaults_to_stratified(workdir):
    rows = [(r[0], r[1], "") for r in good_rows(4)]
    text = "\n".join(line.rsplit(",", 1)[0] for line in
                     write_csv(workdir / "t.csv", rows).read_text().splitlines()).replace("emotion,pixels", "emotion,pixels", 1)
    (workdir / "t.csv").write_text(text.replace("emotion,pixels,Usage", "emotion,pixels") + "\n")
    prepare_ok(workdir / "t.csv", "--out", "o")
    assert Dataset.open("o").meta["split"]["method"] == "stratified"
    assert main([str(workdir / "t.csv"), "--split", "official", "--out", "p"]) == 2


@pytest.mark.parametrize("as_zip", [False, True])
def test_image_folder_official_split_from_prefixes(workdir, as_zip):
    files = image_files(per_class=2)
    src = write_zip(workdir / "imgs.zip", files, prefix="fer2013/") if as_zip else write_folder(workdir / "imgs", files)
    prepare_ok(src, "--out", "out")
    ds = Dataset.open("out")
    for split, usage in zip(SPLITS, ("Training", "PublicTest", "PrivateTest")):
        assert ds.counts(split).tolist() == [2] * 7
    # pixels survive exactly (PNG is lossless): first training angry image is image 0
    first = next(k for k in sorted(files) if k.startswith("train/angry/"))
    assert first == "train/angry/Training_0.png"
    want = np.random.default_rng(0).integers(0, 256, size=(48, 48), dtype=np.uint8)
    np.testing.assert_array_equal(ds.split("train")[0][0, ..., 0], want)


@pytest.fixture(scope="module")
def plain_sources(tmp_path_factory):
    """The small CSV and image folder, plain and prepared once: what every archive of them must give."""
    root = tmp_path_factory.mktemp("plain")
    sources = {"csv": write_csv(root / "fer2013.csv"), "images": write_folder(root / "imgs", image_files(per_class=2))}
    for layout, src in sources.items():
        prepare_ok(src, "--out", root / layout)
    return {layout: (src, json.loads((root / layout / "meta.json").read_text())) for layout, src in sources.items()}


@pytest.mark.parametrize("layout, suffix", [("csv", ".tar"), ("csv", ".tar.gz"), ("csv", ".tgz"),
                                            ("csv", ".gz"), ("images", ".tar"), ("images", ".tar.gz")])
def test_tar_archives_give_the_same_arrays_as_the_plain_source(workdir, plain_sources, layout, suffix):
    """The competition's fer2013.tar.gz layout, read in place; a tar named plain .gz is found by content."""
    plain, want = plain_sources[layout]
    if layout == "csv":
        members = {"fer2013/README": b"not data", "fer2013/fer2013.csv": plain.read_bytes(),
                   "fer2013/._fer2013.csv": b"\x00\x05\x16\x07", "__MACOSX/fer2013/x.csv": b"junk"}
    else:
        files = {p.relative_to(plain).as_posix(): p.read_bytes() for p in sorted(plain.rglob("*.png"))}
        # archive order reversed: the arrays must still come out in name order, as from the folder
        members = {"README.txt": b"not data", **{f"fer2013/{k}": files[k] for k in reversed(list(files))}}
    src = write_tar(workdir / f"fer2013{suffix}", members)
    prepare_ok(src, "--out", "out")
    got = json.loads((workdir / "out" / "meta.json").read_text())
    assert got["sha256"] == want["sha256"] and got["counts"] == want["counts"] == {"train": 14, "val": 14, "test": 14}
    assert got["split"]["method"] == "official" and got["source"]["kind"] == want["source"]["kind"]
    assert got["source"]["sha256"] == hashlib.sha256(src.read_bytes()).hexdigest()


def test_image_folder_without_prefixes_halves_test_folder(workdir):
    src = write_folder(workdir / "imgs", image_files(per_class=2, prefixes=False))
    prepare_ok(src, "--out", "out", "--seed", "1")
    ds = Dataset.open("out")
    assert ds.counts("train").tolist() == [2] * 7  # train folder only
    assert ds.counts("val").tolist() == [2] * 7 and ds.counts("test").tolist() == [2] * 7
    assert "halved" in ds.meta["split"]["note"]


def test_resize_is_explicit(workdir):
    files = image_files(per_class=1)
    files["train/happy/Training_big.png"] = image_bytes(np.zeros((64, 64), np.uint8))
    src = write_folder(workdir / "imgs", files)
    assert main([str(src), "--out", "out"]) == 2
    assert not (workdir / "out").exists()
    prepare_ok(src, "--out", "out", "--resize")
    assert Dataset.open("out").counts("train")[3] == 2


def test_rerun_replaces_only_after_success(workdir):
    src = write_csv(workdir / "f.csv")
    prepare_ok(src, "--out", "out")
    before = (workdir / "out" / "meta.json").read_text()
    bad = write_csv(workdir / "bad.csv", good_rows() + [(9, np.zeros(2304, int), "Training")])
    assert main([str(bad), "--out", "out"]) == 2
    assert (workdir / "out" / "meta.json").read_text() == before
    Dataset.open("out")  # still intact and verifiable
    assert sorted(p.name for p in workdir.iterdir()) == ["bad.csv", "f.csv", "out"]  # no temp folders left
    prepare_ok(src, "--out", "out", "--seed", "5")
    assert (workdir / "out" / "meta.json").read_text() != before
