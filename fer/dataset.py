"""`Dataset`: open a prepared folder, verify it against meta.json, hand its splits to Keras."""
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from fer.cache import sha256_file
from fer.constants import CLASS_NAMES, DEMO_SOURCE, IMAGE_SHAPE, META_FILE, SPLITS, x_file, y_file
from fer.errors import UserError


@dataclass
class Dataset:
    """The cached arrays of one prepared folder; images uint8 (N, 48, 48, 1), labels int."""
    path: Path
    meta: dict
    arrays: dict[str, tuple[np.ndarray, np.ndarray]] = field(repr=False)

    @property
    def class_names(self) -> tuple[str, ...]:
        return tuple(self.meta["class_names"])

    @property
    def is_demo(self) -> bool:
        return self.meta.get("source", {}).get("kind") == DEMO_SOURCE

    def split(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        if name not in self.arrays:
            raise KeyError(f"unknown split {name!r}; have {', '.join(SPLITS)}")
        return self.arrays[name]

    def counts(self, name: str) -> np.ndarray:
        return np.bincount(self.split(name)[1], minlength=len(self.class_names))

    def rebuild_hint(self) -> str:
        src = self.meta.get("source", {}).get("path", "SOURCE")
        return f"python -m fer.prepare {src} --out {self.path}"

    @classmethod
    def open(cls, path, verify: bool = True, mmap: bool = True) -> "Dataset":
        path = Path(path)
        meta_path = path / META_FILE
        if not meta_path.is_file():
            raise UserError(f"{meta_path}: not found; prepare the data first with "
                            f"`python -m fer.prepare SOURCE --out {path}`")
        try:
            meta = json.loads(meta_path.read_text())
        except json.JSONDecodeError as e:
            raise UserError(f"{meta_path}: not valid JSON ({e})") from None
        ds = cls(path=path, meta=meta, arrays={})
        if tuple(meta.get("class_names", ())) != CLASS_NAMES:
            raise UserError(f"{meta_path}: class names {meta.get('class_names')} differ from {list(CLASS_NAMES)}")
        for split in SPLITS:
            pair = []
            for name in (x_file(split), y_file(split)):
                file = path / name
                if verify and (not file.is_file() or sha256_file(file) != meta["sha256"].get(name)):
                    raise UserError(f"{file}: missing, truncated or altered (sha256 differs from "
                                    f"{META_FILE}); rebuild with `{ds.rebuild_hint()}`")
                try:
                    pair.append(np.load(file, mmap_mode="r" if mmap else None))
                except (OSError, ValueError) as e:
                    raise UserError(f"{file}: unreadable ({e}); rebuild with `{ds.rebuild_hint()}`") from None
            x, y = pair
            if x.shape[1:] != IMAGE_SHAPE or x.dtype != np.uint8 or len(x) != len(y):
                raise UserError(f"{path / x_file(split)}: shape {x.shape} {x.dtype} is not (N, 48, 48, 1) "
                                f"uint8 matching {len(y)} labels; rebuild with `{ds.rebuild_hint()}`")
            ds.arrays[split] = (x, y)
        return ds
