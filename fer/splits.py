"""Turn a source's images into train/val/test: the official split, or a seeded stratified one."""
import numpy as np

from fer.constants import CLASS_NAMES, SPLITS
from fer.errors import UserError
from fer.raw import HOLDOUT, RawData

OFFICIAL, STRATIFIED = "official", "stratified"


def _stratified(y: np.ndarray, idx: np.ndarray, take: int | float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Split idx into (keep, take), `take` images (or that fraction) in the second, class balance kept."""
    from sklearn.model_selection import train_test_split  # lazy: scikit-learn takes seconds to import
    keep, take = train_test_split(idx, test_size=take, stratify=y[idx], random_state=seed)
    return np.sort(keep), np.sort(take)


def assign_splits(raw: RawData, method: str | None, val_frac: float, test_frac: float,
                  seed: int, source: str) -> tuple[dict[str, np.ndarray], dict]:
    """Indices per split, plus a description of how they were made (for meta.json)."""
    if method is None:
        method = OFFICIAL if raw.split is not None else STRATIFIED
    if method == OFFICIAL:
        if raw.split is None:
            raise UserError(f"{source}: has no official split (no Usage column); use --split stratified")
        idx = {s: np.flatnonzero(raw.split == s) for s in SPLITS}
        holdout = np.flatnonzero(raw.split == HOLDOUT)
        info = {"method": OFFICIAL, "seed": None}
        if holdout.size:
            idx["val"], idx["test"] = _stratified(raw.y, holdout, 0.5, seed)
            info = {"method": OFFICIAL, "seed": seed,
                    "note": "file names carry no official split: the test folder was halved, "
                            "stratified and seeded, into val and test"}
    elif method == STRATIFIED:
        if not (0 < val_frac < 1 and 0 < test_frac < 1 and val_frac + test_frac < 1):
            raise UserError(f"--val-frac {val_frac} and --test-frac {test_frac} must be in (0, 1) "
                            "and sum to less than 1")
        try:
            n = len(raw)  # sizes as counts of the whole, so 0.2 of 140 is exactly 28
            rest, test = _stratified(raw.y, np.arange(n), max(1, round(test_frac * n)), seed)
            train, val = _stratified(raw.y, rest, max(1, round(val_frac * n)), seed)
        except ValueError as e:
            raise UserError(f"{source}: cannot split stratified: {e}") from None
        idx = {"train": train, "val": val, "test": test}
        info = {"method": STRATIFIED, "seed": seed, "val_frac": val_frac, "test_frac": test_frac}
    else:
        raise UserError(f"unknown split method {method!r} (expected {OFFICIAL} or {STRATIFIED})")
    for s in SPLITS:
        if idx[s].size == 0:
            raise UserError(f"{source}: split {s!r} is empty")
    info["counts"] = {s: {c: int(n) for c, n in zip(CLASS_NAMES, np.bincount(raw.y[idx[s]], minlength=len(CLASS_NAMES)))}
                      for s in SPLITS}
    return idx, info
