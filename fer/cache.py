"""The cache format on disk: arrays per split plus meta.json, written atomically.

A folder is built under a temporary name beside its destination and renamed into place only
when complete, so a failed or interrupted run never leaves a half-written dataset, and an
existing one is replaced only by a finished one.
"""
import hashlib
import json
import os
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from fer.constants import META_FILE, SPLITS, x_file, y_file
from fer.write_faults import remove_quietly


def sha256_file(path: Path, block: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(block):
            h.update(chunk)
    return h.hexdigest()


def sha256_tree(path: Path) -> str:
    """sha256 of a file, or of a folder's sorted (relative name, file sha256) list."""
    path = Path(path)
    if path.is_file():
        return sha256_file(path)
    h = hashlib.sha256()
    for f in sorted(p for p in path.rglob("*") if p.is_file()):
        h.update(f"{f.relative_to(path).as_posix()}\0{sha256_file(f)}\n".encode())
    return h.hexdigest()


@contextmanager
def atomic_dir(dest: Path):
    """Yield a temporary folder that replaces `dest` only if the block completes."""
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{dest.name}.tmp-", dir=dest.parent))
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o777 & ~umask)  # mkdtemp makes it private; the result should read like any folder
    try:
        yield tmp
        old = None
        if dest.exists():
            old = dest.parent / f".{dest.name}.old-{os.getpid()}"
            os.replace(dest, old)
        try:
            os.replace(tmp, dest)
        except OSError:
            if old is not None:  # the previous folder goes back in place
                os.replace(old, dest)
            raise
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write a file via a temporary name and a rename: readers never see half a file, and a failed
    write (a full disk) leaves the old file as it was and no temporary one; the OSError it raises
    names `path`."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        with open(tmp, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except OSError as e:
        remove_quietly(tmp)
        raise OSError(e.errno, e.strerror, str(path)) from e


def atomic_write_text(path: Path, text: str) -> None:
    """Write a text file via a temporary name and a rename (as `atomic_write_bytes`)."""
    atomic_write_bytes(path, text.encode())


def write_arrays(folder: Path, arrays: dict[str, tuple[np.ndarray, np.ndarray]]) -> dict[str, str]:
    """Save x/y per split; returns {file name: sha256}."""
    hashes = {}
    for split in SPLITS:
        x, y = arrays[split]
        for name, arr in ((x_file(split), x), (y_file(split), y)):
            np.save(folder / name, np.ascontiguousarray(arr))
            hashes[name] = sha256_file(folder / name)
    return hashes


def write_meta(folder: Path, meta: dict) -> None:
    (folder / META_FILE).write_text(json.dumps(meta, indent=2) + "\n")


def read_meta(folder: Path) -> dict:
    return json.loads((Path(folder) / META_FILE).read_text())
