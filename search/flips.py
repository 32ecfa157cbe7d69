"""Derandomised alternating flips (the recipe's `flip_mode=alternating`, spaces.speedrun), as in the
CIFAR-10 speedrun: a random half of the training faces is mirrored in the first epoch, and every face
is mirrored in every other epoch after it, so any two epochs in a row show each face both ways (a
random flip shows a face the same way two epochs running half the time).

The faces are mirrored here, in the batches a fit is given; the model's augmentation then has no
random flip (spaces.common.inputs_scaled). Mixup's batches take the same flips (search.schedule).
"""
import math

import keras
import numpy as np

from spaces.speedrun import FLIP_MODE, FLIP_MODES


class AlternatingFlips:
    """Which of n faces are mirrored at each epoch: `first` (a random half, seeded) at epoch 0, the
    others at epoch 1, and so on."""

    def __init__(self, n: int, seed: int = 0):
        self.first = np.zeros(n, bool)
        self.first[np.random.default_rng(seed).permutation(n)[: n // 2]] = True

    def mirrored(self, index, epoch: int) -> np.ndarray:
        return self.first[index] ^ bool(epoch % 2)

    def faces(self, x, index, epoch: int) -> np.ndarray:
        """x[index] (N, H, W, C), each face mirrored left to right where `mirrored` says so."""
        batch = np.array(x[index])
        flip = self.mirrored(index, epoch)
        batch[flip] = batch[flip][:, :, ::-1]
        return batch


class FlipBatches(keras.utils.PyDataset):
    """Shuffled training batches with alternating flips (what model.fit does with arrays, plus the
    flips); class weights become per-sample weights."""

    def __init__(self, x, y, batch_size: int, class_weight: dict | None = None, seed: int = 0):
        super().__init__()
        self.x, self.y, self.batch_size = x, np.asarray(y, int).reshape(-1), batch_size
        self.weights = None if class_weight is None else np.array([class_weight[c] for c in sorted(class_weight)])
        self.flips, self.epoch = AlternatingFlips(len(self.y), seed), 0
        self.rng = np.random.default_rng(seed)
        self.order = self.rng.permutation(len(self.y))

    def __len__(self):
        return math.ceil(len(self.y) / self.batch_size)

    def __getitem__(self, index):
        idx = self.order[index * self.batch_size:(index + 1) * self.batch_size]
        x, labels = self.flips.faces(self.x, idx, self.epoch), self.y[idx]
        return (x, labels) if self.weights is None else (x, labels, self.weights[labels].astype("float32"))

    def on_epoch_end(self):
        self.epoch += 1
        self.order = self.rng.permutation(len(self.y))


def alternating(values: dict) -> bool:
    """Whether the trial's values ask for alternating flips."""
    return values.get(FLIP_MODE) == FLIP_MODES[1]
