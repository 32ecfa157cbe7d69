"""What `fer.predict` classifies: photos, folders of them, and prepared data folders, as faces.

Every path becomes a list of inputs first (so the progress bar knows the total); each input
then yields its faces. A bad input (missing, unreadable, not an image, no face, an empty
folder, a broken data folder) is reported through `fail` in one line naming the file, and the
rest goes on.
"""
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from fer.constants import IMAGE_SHAPE, META_FILE, x_file
from fer.errors import UserError
from fer.faces import faces_in

# Files a folder is searched for (by suffix, case-insensitive); other files there are ignored.
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp", ".tif", ".tiff", ".pgm", ".ppm", ".pnm")


@dataclass
class Source:
    """One input: a photo (`name` is where --annotate writes it) or a prepared data folder."""
    path: Path
    kind: str  # "photo" or "data"
    name: str = ""


@dataclass
class Photo:
    """A photo in which faces were found, and where its faces sit in the collected arrays."""
    path: Path
    name: str
    first: int
    boxes: list


@dataclass
class Collected:
    """Everything found: one row (file, face, box) per face, the faces in chunks, their photos."""
    rows: list = field(default_factory=list)
    chunks: list = field(default_factory=list)
    photos: list = field(default_factory=list)

    def faces(self) -> np.ndarray:
        return np.concatenate(self.chunks) if self.chunks else np.zeros((0, *IMAGE_SHAPE), np.uint8)


def sources(paths, fail) -> list[Source]:
    """The inputs the command-line paths name: files, image files under folders, data folders."""
    found = []
    for given in paths:
        path = Path(given)
        if path.is_dir() and (path / META_FILE).is_file():
            found.append(Source(path, "data"))
        elif path.is_dir():
            images = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
            if not images:
                fail(path, f"no image files in this folder ({', '.join(IMAGE_SUFFIXES)})")
            found += [Source(p, "photo", p.relative_to(path).as_posix()) for p in images]
        elif path.is_file():
            found.append(Source(path, "photo", path.name))
        else:
            fail(path, "no such file or folder")
    return found


def read_gray(path: Path) -> np.ndarray:
    """A photo as a 2-D uint8 grayscale array, turned upright as its EXIF orientation says."""
    from PIL import Image, ImageOps
    try:
        with Image.open(path) as im:
            return np.asarray(ImageOps.exif_transpose(im).convert("L"))
    except Image.UnidentifiedImageError:
        raise UserError("not an image (or a format PIL cannot read)") from None
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as e:
        raise UserError(f"unreadable image ({' '.join(str(e).split())})") from None


def add_photo(found: Collected, source: Source, faces_mode: str, fail) -> None:
    try:
        gray = read_gray(source.path)
    except UserError as e:
        fail(source.path, str(e))
        return
    pairs = faces_in(gray, faces_mode)
    if not pairs:
        fail(source.path, "no face found (pass --faces none if the image is a cropped face)")
        return
    found.photos.append(Photo(source.path, source.name, len(found.rows), [box for box, _ in pairs]))
    for i, (box, _) in enumerate(pairs):
        found.rows.append({"file": str(source.path), "face": i, "box": box})
    found.chunks.append(np.stack([face for _, face in pairs]))


def add_data_folder(found: Collected, source: Source, split: str, fail) -> None:
    from fer.dataset import Dataset
    try:
        x = np.asarray(Dataset.open(source.path).split(split)[0])
    except UserError as e:  # its message names the file
        fail(None, str(e))
        return
    if not len(x):
        fail(source.path / x_file(split), f"the {split} split is empty")
        return
    name = str(source.path / x_file(split))
    found.rows += [{"file": name, "face": i, "box": None} for i in range(len(x))]
    found.chunks.append(x)


def collect(items: list[Source], faces_mode: str, split: str, fail, advance=lambda: None) -> Collected:
    """Read every input and gather its faces; `advance` is called once per input."""
    found = Collected()
    for source in items:
        if source.kind == "data":
            add_data_folder(found, source, split, fail)
        else:
            add_photo(found, source, faces_mode, fail)
        advance()
    return found
