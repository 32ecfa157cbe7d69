"""Carry a prepared FER-2013 folder to the device machine and unpack it there, byte for byte.

The device tool carries at most 64 MiB per call, and the six arrays take 83 MB; lzma alone keeps
78% of them (faces compress poorly). So each image array is stored as its .npy header plus the
residuals of the LOCO-I/JPEG-LS median predictor (MED: the pixel predicted from its left, upper
and upper-left neighbours), lzma-compressed: 69% of the raw size, lossless. The labels are plain
lzma. Unpacking rebuilds every .npy file exactly and checks it against meta.json's sha256 (what
`fer.Dataset.open` checks), so the harness sees the same data hashes as on the machine it came from.

    python bench/tools/device_unpack.py pack data/fer2013 .devdata/fer2013     # here (about 2 min on 1 core)
    python bench/tools/device_unpack.py unpack .devdata/fer2013 data/fer2013   # there (seconds)
"""
import argparse
import hashlib
import io
import json
import lzma
import shutil
import sys
from pathlib import Path

import numpy as np

SPLITS = ("train", "val", "test")
FILTERS = [{"id": lzma.FILTER_LZMA2, "preset": 6, "lc": 4, "lp": 0, "pb": 0}]


def neighbours(x: np.ndarray, i: int, j: int):
    """Left, upper and upper-left pixels of (i, j) for every image at once; the first column
    takes its upper pixel as 'left' and the first row has none above (MED then predicts 'left')."""
    zero = np.zeros(len(x), np.int16)
    b = x[:, i - 1, j] if i else zero
    a = x[:, i, j - 1] if j else b
    c = x[:, i - 1, j - 1] if i and j else zero
    return a, b, c


def med(a, b, c):
    hi, lo = np.maximum(a, b), np.minimum(a, b)
    return np.where(c >= hi, lo, np.where(c <= lo, hi, a + b - c))


def predict_all(x: np.ndarray) -> np.ndarray:
    """MED predictions of every pixel from the true image (encoding is vectorised over the image)."""
    x = x.astype(np.int16)
    a, b, c = (np.zeros_like(x) for _ in range(3))
    a[:, :, 1:] = x[:, :, :-1]
    b[:, 1:, :] = x[:, :-1, :]
    a[:, 1:, 0] = x[:, :-1, 0]
    c[:, 1:, 1:] = x[:, :-1, :-1]
    return med(a, b, c)


def decode(residuals: np.ndarray) -> np.ndarray:
    """Images (N, H, W) from their residuals: pixel by pixel in scan order, all images at once."""
    n, h, w = residuals.shape
    x = np.zeros((n, h, w), np.int16)
    r = residuals.astype(np.int16)
    for i in range(h):
        for j in range(w):
            x[:, i, j] = (med(*neighbours(x, i, j)) + r[:, i, j]) & 0xFF
    return x.astype(np.uint8)


def split_npy(blob: bytes) -> tuple[bytes, tuple]:
    """An .npy file's header bytes and the array shape it declares."""
    f = io.BytesIO(blob)
    version = np.lib.format.read_magic(f)
    read = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
    shape, fortran, dtype = read(f)
    if fortran or dtype != np.uint8:
        raise ValueError(f"expected a C-order uint8 array, got {dtype} fortran={fortran}")
    return blob[:f.tell()], shape


def sha256(blob: bytes) -> str:
    return hashlib.sha256(blob).hexdigest()


def pack(src: Path, dest: Path) -> None:
    meta = json.loads((src / "meta.json").read_text())
    dest.mkdir(parents=True, exist_ok=True)
    for split in SPLITS:
        for name in (f"x_{split}.npy", f"y_{split}.npy"):
            blob = (src / name).read_bytes()
            assert sha256(blob) == meta["sha256"][name], f"{src / name} differs from meta.json"
            if name.startswith("x_"):
                header, shape = split_npy(blob)
                x = np.frombuffer(blob, np.uint8, offset=len(header)).reshape(shape)[..., 0]
                residuals = (x.astype(np.int16) - predict_all(x)).astype(np.uint8)
                blob = header + residuals.tobytes()
            (dest / f"{name}.xz").write_bytes(lzma.compress(blob, filters=FILTERS))
            print(f"{name}: {(dest / f'{name}.xz').stat().st_size / 1e6:.1f} MB", flush=True)
    shutil.copy2(src / "meta.json", dest / "meta.json")


def unpack(src: Path, dest: Path) -> None:
    meta = json.loads((src / "meta.json").read_text())
    tmp = dest.with_name(dest.name + ".unpacking")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    for split in SPLITS:
        for name in (f"x_{split}.npy", f"y_{split}.npy"):
            blob = lzma.decompress((src / f"{name}.xz").read_bytes())
            if name.startswith("x_"):
                header, shape = split_npy(blob)
                residuals = np.frombuffer(blob, np.uint8, offset=len(header)).reshape(shape[:3])
                blob = header + decode(residuals).tobytes()
            if sha256(blob) != meta["sha256"][name]:
                sys.exit(f"{name}: unpacked bytes differ from meta.json's sha256")
            (tmp / name).write_bytes(blob)
    shutil.copy2(src / "meta.json", tmp / "meta.json")
    shutil.rmtree(dest, ignore_errors=True)
    tmp.rename(dest)
    print(f"{dest}: {len(meta['sha256'])} arrays unpacked, sha256 as in meta.json")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("action", choices=("pack", "unpack"))
    p.add_argument("src", type=Path)
    p.add_argument("dest", type=Path)
    a = p.parse_args()
    (pack if a.action == "pack" else unpack)(a.src, a.dest)


if __name__ == "__main__":
    main()
