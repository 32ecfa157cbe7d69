"""How a trial trains, beyond its model: the learning-rate schedule and mixup's (or alternating
flips') batches.

Both depend on what is known only when training starts (the steps per epoch, the epochs of
this fit), so they live here rather than in a space's `build(hp)`, which declares them
(`spaces.recipe`). The schedule runs over the epochs of each fit: a Hyperband round of 2
epochs gets a whole warm-up-and-cosine, and `search.report --epochs 60` stretches the same
schedule over 60. Under `--time-budget` the cosine is re-planned at each epoch's end to end
with the epochs that still fit at the pace so far, so a fit the budget cuts short still decays.
A transfer-learning fit's phases (search.transfer) share one schedule (`WarmupCosine.span`).
"""
import math

import keras
import numpy as np

from search import budget as time_budget
from search.flips import AlternatingFlips, FlipBatches, alternating

WARMUP_FRACTION = 0.1  # of a fit's steps, at most one epoch: a linear ramp from near zero
DECAYING = ("cosine", "linear")  # schedules that decay to zero over the fit (the rest: plateau)


class WarmupCosine(keras.callbacks.Callback):
    """A linear warm-up, then (for "cosine") a cosine decay to zero over the epochs of this fit
    (with a time `budget`: over those of them that fit, `fit_budget`); for "linear" a straight line
    to zero instead, as the CIFAR-10 speedrun's.

    Under "plateau" only the warm-up is set here and ReduceLROnPlateau owns the rate after it.
    The base rate is the optimizer's at the start of the fit. A fit that starts at a later epoch
    (a Hyperband continuation from epoch 2 to 6: its model is rebuilt with a fresh optimizer)
    gets a whole warm-up and decay over its own 4 epochs."""

    def __init__(self, schedule: str, budget=None):
        super().__init__()
        self.schedule, self.budget = schedule, budget  # budget: a search.budget.TimeBudget, or None
        self.base = 0.0
        self.steps = self.total = self.planned = self.warmup = self.local = 0
        self.first_epoch, self.epoch_began = None, 0.0
        self.span_end = None  # set by `span`: one schedule over several fits, to this epoch

    def span(self, end_epoch: int) -> None:
        """Run one schedule over the next fits of one training, up to `end_epoch` (search.transfer's
        phases): a later fit goes on where the last stopped, at its own optimizer's base rate."""
        self.span_end = end_epoch

    def on_train_begin(self, logs=None):
        self.base = float(keras.ops.convert_to_numpy(self.model.optimizer.learning_rate))
        self.steps = int(self.params.get("steps") or 1)
        if self.span_end is None or self.first_epoch is None:
            self.local, self.first_epoch = 0, None

    def on_epoch_begin(self, epoch, logs=None):
        if self.first_epoch is None:  # fit's initial_epoch: this fit trains epochs first..epochs-1
            self.first_epoch = epoch
            end = self.span_end or int(self.params.get("epochs") or 1)
            self.total = self.planned = self.steps * max(1, end - epoch)
            self.warmup = max(1, min(self.steps, int(WARMUP_FRACTION * self.total)))
        self.epoch_began = time_budget.now()

    def rate(self, step: int) -> float | None:
        """The rate for this fit's step; None: leave the optimizer's as it is."""
        warm = min(1.0, (step + 1) / self.warmup)
        if self.schedule in DECAYING:
            progress = min(1.0, max(0.0, (step + 1 - self.warmup) / max(1, self.total - self.warmup)))
            left = 0.5 * (1.0 + math.cos(math.pi * progress)) if self.schedule == "cosine" else 1.0 - progress
            return self.base * warm * left
        return self.base * warm if step < self.warmup else None

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:  # in the history, as ReduceLROnPlateau logs it, whatever the schedule
            logs["learning_rate"] = float(keras.ops.convert_to_numpy(self.model.optimizer.learning_rate))
        if self.budget is not None and self.schedule in DECAYING:
            self.fit_budget(epoch, time_budget.now() - self.epoch_began)

    def fit_budget(self, epoch: int, seconds: float) -> None:
        """End the cosine with the last epoch that fits in the budget at this epoch's pace (as the
        budget's stop decides: another epoch runs only when it fits), never later than planned.
        Re-planned from the plan at every epoch, so a first epoch slowed by tracing shortens it only
        until a faster one lengthens it again. The rate moves to where the re-planned decay is: the
        jump is the price of ending low rather than being cut at a high rate."""
        if seconds <= 0:
            return  # no pace to go by (a clock that did not move)
        fit = int(max(0.0, self.budget.left()) // seconds)
        self.total = min(self.planned, max(self.local, self.steps * (epoch + 1 - self.first_epoch + fit)))

    def on_train_batch_begin(self, batch, logs=None):
        value = self.rate(self.local)
        self.local += 1
        if value is not None:
            self.model.optimizer.learning_rate = value


def lr_callbacks(schedule: str, monitor: str, mode: str, patience: int, budget=None) -> list:
    """The schedule's callbacks: warm-up always; plateau halves the rate when `monitor` stalls
    for half the early-stopping patience, cosine decays it over the fit (or what of it fits in
    `budget`)."""
    if schedule in DECAYING:
        return [WarmupCosine(schedule, budget)]
    return [WarmupCosine("plateau"),
            keras.callbacks.ReduceLROnPlateau(monitor=monitor, mode=mode, factor=0.5,
                                              patience=max(1, patience // 2), min_lr=1e-6)]


class MixupBatches(keras.utils.PyDataset):
    """Shuffled training batches with mixup (Zhang et al.): each face is blended with another of
    the batch, x = l a + (1 - l) b with l ~ Beta(alpha, alpha), and so are its one-hot targets
    (they still sum to one). Class weights become per-sample weights blended the same way. Faces
    stay uint8, the model's input type (rounding costs at most half a grey level). With `flips`
    (search.flips.AlternatingFlips), faces are mirrored on alternate epochs before they are blended."""

    def __init__(self, x, y, batch_size: int, alpha: float, num_classes: int,
                 class_weight: dict | None = None, seed: int = 0, flips: AlternatingFlips | None = None):
        super().__init__()
        self.x, self.y = x, np.asarray(y, int).reshape(-1)
        self.batch_size, self.alpha, self.num_classes = batch_size, alpha, num_classes
        self.weights = None if class_weight is None else np.array([class_weight[c] for c in range(num_classes)])
        self.rng = np.random.default_rng(seed)
        self.order = self.rng.permutation(len(self.y))
        self.flips, self.epoch = flips, 0

    def __len__(self):
        return math.ceil(len(self.y) / self.batch_size)

    def __getitem__(self, index):
        idx = self.order[index * self.batch_size:(index + 1) * self.batch_size]
        partner = self.rng.permutation(len(idx))
        lam = self.rng.beta(self.alpha, self.alpha, size=len(idx)).astype("float32")
        # read once (a memory-mapped split); the partners are a shuffle of it
        a = (self.x[idx] if self.flips is None else self.flips.faces(self.x, idx, self.epoch)).astype("float32")
        shape = (-1,) + (1,) * (a.ndim - 1)
        x = np.clip(np.rint(lam.reshape(shape) * a + (1 - lam.reshape(shape)) * a[partner]), 0, 255).astype(self.x.dtype)
        labels = self.y[idx]
        onehot = np.eye(self.num_classes, dtype="float32")[labels]
        y = lam[:, None] * onehot + (1 - lam[:, None]) * onehot[partner]
        if self.weights is None:
            return x, y
        return x, y, (lam * self.weights[labels] + (1 - lam) * self.weights[labels[partner]]).astype("float32")

    def on_epoch_end(self):
        self.order = self.rng.permutation(len(self.y))
        self.epoch += 1


def fit_inputs(values: dict, x, y, batch_size: int, class_weight: dict | None, num_classes: int,
               seed: int = 0) -> dict:
    """model.fit's data arguments: the arrays as they are, or mixup's batches when `mixup` > 0,
    or batches with alternating flips (search.flips) when `flip_mode` asks for them."""
    alpha = float(values.get("mixup") or 0.0)
    if alpha <= 0 and not alternating(values):
        return {"x": x, "y": y, "batch_size": batch_size, "class_weight": class_weight}
    if alpha <= 0:
        batches = FlipBatches(x, y, batch_size, class_weight, seed)
    else:
        flips = AlternatingFlips(len(y), seed) if alternating(values) else None
        batches = MixupBatches(x, y, batch_size, alpha, num_classes, class_weight, seed, flips)
    return {"x": batches, "validation_batch_size": batch_size}  # the batches set their own size; validation keeps it
