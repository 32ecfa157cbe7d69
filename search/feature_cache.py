"""A frozen backbone's features, computed once per backbone and data and kept on disk.

While the backbone is frozen and the input path before it is deterministic (no augmentation,
crop or erasing), every epoch feeds it the same faces and gets the same features: computing
them once makes a frozen epoch cost a dense layer's time (search.transfer trains the head on
them). A file is keyed by what decides its contents: the backbone's name (alpha, input size),
a sha256 of all its weights (the weights source, BatchNorm's statistics, a Hyperband parent's
fine-tuned layers), the layers before it with their configs, the dtype policy, Keras's version
and the faces' bytes. Files are float32 .npy arrays, written under a temporary name and renamed
(a reader never sees half a file; workers sharing the folder may race, the last rename wins with
the same contents) and memory-mapped when read; the oldest beyond LIMIT_BYTES are deleted.
"""
import hashlib
import json
import os
from pathlib import Path

import keras
import numpy as np

LIMIT_BYTES = 4 << 30  # the folder's size kept after a write: oldest used files go first
CHUNK = 2048  # faces per predict call while computing features
BATCH = 128


def data_digest(x: np.ndarray) -> str:
    """sha256 of an array's shape, dtype and bytes."""
    h = hashlib.sha256(f"{x.shape}|{x.dtype}|".encode())
    h.update(memoryview(np.ascontiguousarray(x)).cast("B"))
    return h.hexdigest()


def extractor_digest(extractor: keras.Model, backbone: keras.Model) -> str:
    """sha256 of what the features depend on besides the faces (module doc)."""
    h = hashlib.sha256(f"v1|{keras.__version__}|{extractor.dtype_policy.name}|{backbone.name}|".encode())
    for layer in extractor.layers:
        if layer is backbone:
            for w in backbone.weights:
                value = np.asarray(keras.ops.convert_to_numpy(w))
                h.update(f"{w.path}|{value.shape}|{value.dtype}|".encode())
                h.update(memoryview(np.ascontiguousarray(value)).cast("B"))
        else:
            h.update(f"{type(layer).__name__}|{json.dumps(layer.get_config(), sort_keys=True, default=str)}|".encode())
    return h.hexdigest()


def compute(extractor: keras.Model, x: np.ndarray) -> np.ndarray:
    """The extractor's outputs (inference mode) for every face, as float32."""
    parts = [extractor.predict(x[i:i + CHUNK], batch_size=BATCH, verbose=0) for i in range(0, len(x), CHUNK)]
    return np.concatenate(parts).astype("float32", copy=False)


def cache_path(folder: Path, backbone: keras.Model, key: str) -> Path:
    return Path(folder) / f"{backbone.name}-{key[:32]}.npy"


def load(path: Path, n: int) -> np.ndarray | None:
    """The memory-mapped features at `path`, or None when absent or not n float32 rows."""
    try:
        features = np.load(path, mmap_mode="r")
    except (OSError, ValueError):
        return None
    if features.dtype != np.float32 or features.ndim != 2 or len(features) != n:
        return None
    os.utime(path)  # used now: pruning deletes the longest unused first
    return features


def save(path: Path, features: np.ndarray) -> bool:
    """Write atomically; False (and nothing left behind) when the disk refuses."""
    tmp = path.with_name(f".{path.stem}.tmp-{os.getpid()}.npy")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        np.save(tmp, features)
        os.replace(tmp, path)
    except OSError:
        tmp.unlink(missing_ok=True)
        return False
    return True


def prune(folder: Path, keep: Path, limit: int = LIMIT_BYTES) -> None:
    """Delete the longest unused feature files until the folder holds at most `limit` bytes."""
    files = sorted((p for p in Path(folder).glob("*.npy") if p != keep), key=lambda p: p.stat().st_mtime)
    total = sum(p.stat().st_size for p in files) + (keep.stat().st_size if keep.exists() else 0)
    for p in files:
        if total <= limit:
            break
        total -= p.stat().st_size
        p.unlink(missing_ok=True)


def features(extractor: keras.Model, backbone: keras.Model, x: np.ndarray, folder=None) -> tuple[np.ndarray, bool]:
    """The extractor's outputs for `x` and whether they came from the cache. With no `folder`,
    computed here and kept in memory only."""
    if folder is None:
        return compute(extractor, x), False
    key = hashlib.sha256(f"{extractor_digest(extractor, backbone)}|{data_digest(x)}".encode()).hexdigest()
    path = cache_path(folder, backbone, key)
    cached = load(path, len(x))
    if cached is not None:
        return cached, True
    computed = compute(extractor, x)
    if save(path, computed):
        prune(folder, path)
        return np.load(path, mmap_mode="r"), False
    return computed, False
