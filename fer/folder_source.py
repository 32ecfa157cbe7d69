"""Reader for the Kaggle image-folder layout: `train/<emotion>/*.jpg`, `test/<emotion>/*.jpg`.

Works on a folder or straight from a zip or tar (read in place, never extracted to disk; a tar in
one pass in archive order, as a compressed tar cannot seek back cheaply). The official split is read
from file-name prefixes (`Training_`, `PublicTest_`, `PrivateTest_`); where the test folder's
files carry none, they are tagged HOLDOUT and the split step halves them into val and test.
"""
import io
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path, PurePosixPath

import numpy as np
from PIL import Image, UnidentifiedImageError

from fer import archives
from fer.constants import CLASS_NAMES, IMAGE_SIZE, USAGE_TO_SPLIT
from fer.errors import UserError
from fer.raw import HOLDOUT, RawData

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp")
TOP_FOLDERS = ("train", "test")


def _locate(name: str) -> tuple[str, str] | None:
    """(top folder, emotion) for an image path in the layout, None for anything else."""
    parts = PurePosixPath(name).parts
    if not name.lower().endswith(IMAGE_SUFFIXES) or archives.is_hidden(name):
        return None
    for i, part in enumerate(parts[:-2]):
        if part.lower() in TOP_FOLDERS:
            return part.lower(), parts[i + 1].lower()
    return None


def _official_split(file_name: str) -> str | None:
    for usage, split in USAGE_TO_SPLIT.items():
        if file_name.startswith(usage + "_"):
            return split
    return None


def list_images(names: list[str], source: Path) -> list[tuple[str, str, str]]:
    """(member name, top folder, emotion) for every image in the layout, sorted by name."""
    found = []
    for name in sorted(names):
        where = _locate(name)
        if where is None:
            continue
        top, emotion = where
        if emotion not in CLASS_NAMES:
            raise UserError(f"{source}: {name}: unknown emotion folder {emotion!r} "
                            f"(expected one of {', '.join(CLASS_NAMES)})")
        found.append((name, top, emotion))
    if not found:
        raise UserError(f"{source}: no images in the layout train/<emotion>/*.jpg, test/<emotion>/*.jpg")
    return found


def decode_image(data: bytes, label: str, resize: bool) -> np.ndarray:
    try:
        with Image.open(io.BytesIO(data)) as img:
            img = img.convert("L")
            if img.size != (IMAGE_SIZE, IMAGE_SIZE):
                if not resize:
                    raise UserError(f"{label}: size {img.size[0]}x{img.size[1]}, expected "
                                    f"{IMAGE_SIZE}x{IMAGE_SIZE} (pass --resize to scale it)")
                img = img.resize((IMAGE_SIZE, IMAGE_SIZE), Image.Resampling.BILINEAR)
            return np.asarray(img, dtype=np.uint8)
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as e:
        raise UserError(f"{label}: unreadable image ({e})") from None


def read_folder(source: Path, resize: bool = False) -> RawData:
    """Read a folder, zip or tar in the Kaggle image-folder layout."""
    if source.is_dir():
        names = [p.relative_to(source).as_posix() for p in source.rglob("*") if p.is_file()]
        images = list_images(names, source)
        blobs = ((source / name).read_bytes() for name, _, _ in images)
    else:
        data = archives.read_members(source, lambda name: _locate(name) is not None)
        images = list_images(list(data), source)
        blobs = (data.pop(name) for name, _, _ in images)
    with ThreadPoolExecutor(max_workers=2) as pool:  # files read in order, decoded in threads
        pixels = list(pool.map(lambda nb: decode_image(nb[1], f"{source}: {nb[0]}", resize),
                               zip((n for n, _, _ in images), blobs)))
    x = np.stack(pixels)[..., None]
    y = np.array([CLASS_NAMES.index(e) for _, _, e in images], dtype=np.uint8)
    prefixed = [_official_split(PurePosixPath(n).name) for n, _, _ in images]
    if all(prefixed):
        split = np.array(prefixed)
    else:  # no official split in the names: train folder -> train, test folder -> holdout
        split = np.array(["train" if top == "train" else HOLDOUT for _, top, _ in images])
    return RawData(x=x, y=y, split=split, kind="folder")
