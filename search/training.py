"""The one place a model is fitted: the search's trials, the report's retraining and the distributed
workers all call `fit`.

Around `model.fit` it adds the training recipe a space's `build(hp)` declared: class weights from
`class_weight`, mixup's batches, the learning-rate schedule (`search.schedule`), early stopping on
the validation split under a plateau schedule, a guard that fails a trial on a NaN loss, an
optional best-epoch checkpoint, and the time budget's one stop rule (`BudgetStop`); and the
speedrun's ingredients when pinned (spaces.speedrun): a whitening layer fitted on the training
faces before the first step, the weights' moving average shown and kept, the side of each epoch's
faces under progressive resizing. A model that wraps a
pretrained backbone is fitted in transfer learning's phases (`search.transfer`), each through
`run_fit`, still the one call of `model.fit`.
"""
import math
from dataclasses import dataclass, replace
from pathlib import Path

import keras
import keras_tuner as kt

from search import budget as time_budget
from search import transfer
from search.schedule import DECAYING, fit_inputs, lr_callbacks
from search.resizing import resizing_callbacks
from search.weight_averaging import averaging_callbacks
from spaces.common import class_weights
from spaces.whitening import fit_whitening

FEATURE_CACHE_DIR = ".feature_cache"  # in the runs folder, shared by its searches, reports and workers


@dataclass(frozen=True)
class Fitting:
    """What every fit of a run shares: batch size, the objective watched on validation and the
    early-stopping patience, and the seed of mixup's batches."""
    batch_size: int
    objective: str
    direction: str
    patience: int
    seed: int = 0
    feature_cache: str | None = None  # a folder for frozen backbones' features (search.feature_cache); None: none

    @classmethod
    def of(cls, config) -> "Fitting":
        """The fitting of a search's RunConfig."""
        return cls(config.batch_size, config.objective, config.direction, config.patience, config.seed,
                   str(Path(config.runs_dir) / FEATURE_CACHE_DIR))

    def seeded(self, offset: int) -> "Fitting":
        return replace(self, seed=self.seed + offset)


@dataclass
class FitResult:
    history: keras.callbacks.History
    cut_by_budget: bool  # the budget stopped it before its last planned epoch


class NanGuard(keras.callbacks.Callback):
    """Fail the trial (recorded with this reason) as soon as the loss is NaN or infinite."""

    def on_train_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is not None and not math.isfinite(float(loss)):
            raise kt.errors.FailedTrialError(f"loss became {loss} at batch {batch + 1}")


class BudgetStop(keras.callbacks.Callback):
    """The time budget's stop rule: at the end of an epoch, when another one at this epoch's pace
    would not fit in what is left, training stops there and keeps every epoch it trained. (No epoch
    is started that would run past the deadline at the pace seen.) Each epoch's time is also handed
    to the budget (`TimeBudget.observe_epoch`), so the search starts no trial that could not train one."""

    def __init__(self, budget):
        super().__init__()
        self.budget, self.cut, self.began = budget, False, 0.0

    def on_epoch_begin(self, epoch, logs=None):
        self.began = time_budget.now()

    def on_epoch_end(self, epoch, logs=None):
        seconds = time_budget.now() - self.began
        self.budget.observe_epoch(seconds)
        if not self.budget.fits(seconds):
            self.model.stop_training = True
            self.cut = epoch + 1 < self.params.get("epochs", epoch + 1)


def recipe_callbacks(values: dict, monitor: str, mode: str, patience: int, held_out: bool, budget=None) -> list:
    """The recipe's callbacks for a fit watching `monitor`: the NaN guard, the schedule
    (`values["lr_schedule"]`), and early stopping when a plateau schedule has a held-out split. A
    cosine (or linear) schedule runs to its end: stopping it early would cut the decay that makes its
    last epochs its best (under a time `budget`, its end is the last epoch that fits)."""
    schedule = values.get("lr_schedule", "plateau")
    stop = [keras.callbacks.EarlyStopping(monitor=monitor, mode=mode, patience=patience, restore_best_weights=True)
            ] if held_out and schedule not in DECAYING else []
    return [NanGuard(), *stop, *lr_callbacks(schedule, monitor, mode, patience, budget)]


def fit(model: keras.Model, values: dict, x, y, fitting: Fitting, validation=None, budget=None,
        checkpoint=None, callbacks=(), **fit_kwargs) -> FitResult:
    """Fit `model` on (x, y) with the recipe in `values` (the trial's hyperparameter values).

    With `validation`, the schedule and early stopping watch the run's objective on it, and
    `checkpoint` (a .weights.h5 path) keeps the best epoch's weights; without, they watch the
    training loss. `budget` (a TimeBudget) stops at an epoch's end once another would not fit.
    `fit_kwargs` go to `model.fit` (epochs, initial_epoch, verbose; verbose defaults to 0)."""
    held_out = validation is not None
    monitor, mode = (fitting.objective, fitting.direction) if held_out else ("loss", "min")
    # first: with EMA of the weights, every later callback sees the average (search.weight_averaging)
    recipe = (averaging_callbacks(model) + resizing_callbacks(model, budget)
              + recipe_callbacks(values, monitor, mode, fitting.patience, held_out, budget))
    caller = []  # the checkpoint, the caller's callbacks and the budget's stop: they watch the whole fit
    if checkpoint is not None and held_out:
        caller.append(keras.callbacks.ModelCheckpoint(checkpoint, monitor=monitor, mode=mode, save_best_only=True,
                                                      save_weights_only=True))
    stop = BudgetStop(budget) if budget is not None else None  # last: an epoch's time includes the others' work
    caller += list(callbacks or []) + ([stop] if stop else [])
    fit_kwargs.setdefault("verbose", 0)  # the consoles draw progress; Keras bars would garble them
    data = fit_inputs(values, x, y, fit_kwargs.pop("batch_size", fitting.batch_size),
                      class_weights(values.get("class_weight", "none"), y), model.output_shape[-1], fitting.seed)
    fit_whitening(model, x, fitting.seed)  # a frozen whitening layer's filters, from these faces
    phased = transfer.plan(model, values, fit_kwargs.get("initial_epoch", 0), fit_kwargs.get("epochs", 1),
                           fitting.feature_cache)
    if phased is None:
        history = run_fit(model, **data, validation_data=validation, callbacks=recipe + caller, **fit_kwargs)
    else:
        history = transfer.fit_in_phases(phased, x, data, validation, recipe, caller, fit_kwargs, run_fit)
    return FitResult(history, bool(stop and stop.cut))


def run_fit(model: keras.Model, **kwargs) -> keras.callbacks.History:
    """The one call of `model.fit` (a transfer phase trains the full model or its head)."""
    return model.fit(**kwargs)
