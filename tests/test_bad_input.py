"""Every bad input is one line naming the file and row or image, exit 2, and no output."""
import numpy as np
import pytest

from conftest import csv_text, good_rows, image_bytes, image_files, write_csv, write_folder, write_tar, write_zip
from fer.prepare import main

Z = np.zeros(2304, dtype=int)


def file_case(name: str, data: bytes):
    def make(d):
        (d / name).write_bytes(data)
        return d / name
    return make


def csv_case(rows=None, header="emotion,pixels,Usage"):
    return lambda d: write_csv(d / "fer2013.csv", rows, header)


def truncated_tar_case(name: str):
    def make(d):
        whole = write_tar(d / name, {"fer2013/fer2013.csv": csv_text(good_rows()).encode()}).read_bytes()
        (d / name).write_bytes(whole[:len(whole) // 2])
        return d / name
    return make


TWO_CSVS = {"a/x.csv": csv_text(good_rows()).encode(), "b/y.csv": csv_text(good_rows()).encode()}


def folder_case(extra: dict):
    return lambda d: write_folder(d / "imgs", {**image_files(1), **extra})


CASES = {
    "missing file": (lambda d: d / "nope.csv", ["nope.csv", "not found"]),
    "unknown format": (file_case("x.txt", b"hi"), ["x.txt", "unknown format"]),
    "missing column": (csv_case(header="emotion,Usage"), ["fer2013.csv", "missing column(s) pixels"]),
    "pixel count": (csv_case(good_rows() + [(1, "1 " * 2303, "Training")]), ["fer2013.csv", "row 43", "pixel count 2303"]),
    "non-numeric": (csv_case(good_rows()[:3] + [(1, " ".join(["7"] * 2000 + ["abc"] * 304), "Training")]),
                    ["row 4", "non-numeric pixel 'abc' (pixel 2001)"]),
    "label outside": (csv_case(good_rows() + [(7, Z, "Training")]), ["row 43", "label '7' outside 0-6"]),
    "unknown usage": (csv_case(good_rows()[:5] + [(1, Z, "Validation")]), ["row 6", "unknown Usage 'Validation'"]),
    "wrong field count": (csv_case(good_rows()[:1] + [(1, Z, "Training,extra")]), ["row 2", "4 fields, expected 3"]),
    "empty split": (csv_case([r for r in good_rows() if r[2] != "PrivateTest"]), ["fer2013.csv", "split 'test' is empty"]),
    "no rows": (csv_case([]), ["fer2013.csv", "no data rows"]),
    "unreadable image": (folder_case({"train/sad/Training_bad.jpg": b"not an image"}),
                         ["train/sad/Training_bad.jpg", "unreadable image"]),
    "non-48 image": (folder_case({"test/fear/PublicTest_big.png": image_bytes(np.zeros((50, 40), np.uint8))}),
                     ["test/fear/PublicTest_big.png", "size 40x50, expected 48x48", "--resize"]),
    "unknown emotion": (folder_case({"train/contempt/Training_x.png": image_bytes(np.zeros((48, 48), np.uint8))}),
                        ["train/contempt/Training_x.png", "unknown emotion folder 'contempt'"]),
    "empty image zip": (lambda d: write_zip(d / "e.zip", {"readme.txt": b"x"}), ["e.zip", "no images"]),
    "corrupt gz": (file_case("f.csv.gz", b"\x1f\x8bnotgzip"), ["f.csv.gz", "cannot read"]),
    "two CSVs in a tar": (lambda d: write_tar(d / "fer2013.tar.gz", TWO_CSVS),
                          ["fer2013.tar.gz: 2 CSV files inside (a/x.csv, b/y.csv); expected one"]),
    "two CSVs in a zip": (lambda d: write_zip(d / "fer2013.zip", TWO_CSVS),
                          ["fer2013.zip: 2 CSV files inside (a/x.csv, b/y.csv); expected one"]),
    "truncated tar.gz": (truncated_tar_case("fer2013.tar.gz"), ["fer2013.tar.gz", "cannot read tar"]),
    "truncated tar": (truncated_tar_case("fer2013.tar"), ["fer2013.tar", "cannot read tar"]),
}


@pytest.mark.parametrize("name", CASES)
def test_bad_input(workdir, capsys, name):
    make, words = CASES[name]
    src = make(workdir)
    before = set(workdir.iterdir())
    assert main([str(src), "--out", str(workdir / "out")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("python -m fer.prepare: error: ")
    for w in words:
        assert w in err
    assert set(workdir.iterdir()) == before  # no output folder, no temp left behind
