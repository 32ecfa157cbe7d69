"""What a source reader hands to the split step: all images with labels and their origin."""
from dataclasses import dataclass

import numpy as np

# Split tag for images of a Kaggle test folder whose file names carry no official split:
# the split step halves them into val and test.
HOLDOUT = "holdout"


@dataclass
class RawData:
    x: np.ndarray          # (N, 48, 48, 1) uint8
    y: np.ndarray          # (N,) uint8 class index
    split: np.ndarray | None  # (N,) str: "train"/"val"/"test"/HOLDOUT, or None (no official split)
    kind: str              # "csv", "folder" or "demo"

    def __len__(self) -> int:
        return len(self.y)
