"""`FerHyperModel`: a registered space plus the training recipe every trial shares.

The space's `build(hp)` defines the model and its hyperparameters; `fit` adds what the search
needs around `model.fit`: class weights from the `class_weight` hyperparameter, mixup's batches,
the learning-rate schedule (`search.schedule`), early stopping on the validation split, and a
guard that fails a trial on NaN loss.
"""
import math

import keras
import keras_tuner as kt

from search.config import TENSORBOARD_DIR, RunConfig
from search.schedule import fit_inputs, lr_callbacks
from spaces import SpaceOptions, get_space
from spaces.common import class_weights


class NanGuard(keras.callbacks.Callback):
    """Fail the trial (recorded with this reason) as soon as the loss is NaN or infinite."""

    def on_train_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is not None and not math.isfinite(float(loss)):
            raise kt.errors.FailedTrialError(f"loss became {loss} at batch {batch + 1}")


class BudgetStop(keras.callbacks.Callback):
    """Stop training at the end of an epoch once another one, at the pace of the last, would not
    fit in the time budget (keeping every epoch trained)."""

    def __init__(self, budget):
        super().__init__()
        self.budget, self.cut, self.began = budget, False, 0.0

    def on_epoch_begin(self, epoch, logs=None):
        from search.budget import now
        self.began = now()

    def on_epoch_end(self, epoch, logs=None):
        from search.budget import now
        if not self.budget.fits(now() - self.began):
            self.model.stop_training = True
            self.cut = epoch + 1 < self.params.get("epochs", epoch + 1)


def training_callbacks(monitor: str, mode: str, patience: int, values: dict, budget=None) -> list:
    """The trial's learning-rate schedule (`values["lr_schedule"]`), and under "plateau" early
    stopping on the validation split (the test split is never seen). A cosine schedule runs to
    its end: stopping it early would cut the decay that makes its last epochs its best (under a
    time `budget`, its end is the last epoch that fits)."""
    schedule = values.get("lr_schedule", "plateau")
    stop = [] if schedule == "cosine" else [
        keras.callbacks.EarlyStopping(monitor=monitor, mode=mode, patience=patience, restore_best_weights=True)]
    return [NanGuard(), *stop, *lr_callbacks(schedule, monitor, mode, patience, budget)]


def search_callbacks(config: RunConfig) -> list:
    """Callbacks handed to `tuner.search`: TensorBoard logs per trial, where it can write them.

    keras-tuner moves the log folder to <project>/tensorboard/<trial id>/ and, under TensorFlow,
    adds its HParams summary so trials can be compared in TensorBoard's HParams view. Keras's
    TensorBoard callback writes through TensorFlow, so other backends get no logs.
    """
    if not config.tensorboard or keras.backend.backend() != "tensorflow":
        return []
    return [keras.callbacks.TensorBoard(log_dir=str(config.project_dir / TENSORBOARD_DIR), histogram_freq=0,
                                        write_graph=False, update_freq="epoch")]


def declared_space(hps: kt.HyperParameters) -> list[dict]:
    """The hyperparameters a search declared, each with the values it may take and, for a conditional
    one, the parent values that make it active: config.json's record of the space actually searched."""
    keys = ("values", "value", "min_value", "max_value", "step", "sampling", "default")
    space = []
    for hp in hps.space:
        config = hp.get_config()
        entry = {"name": hp.name, "type": type(hp).__name__,
                 **{k: config[k] for k in keys if config.get(k) is not None}}
        if hp.conditions:
            entry["when"] = {c.name: list(c.values) for c in hp.conditions}
        space.append(entry)
    return space


def space_options(config: RunConfig) -> SpaceOptions:
    """What a space's `build` needs besides hp; backbone weights matter to mobilenet only."""
    return SpaceOptions(weights=config.weights if config.space == "mobilenet" else None)


class FerHyperModel(kt.HyperModel):
    def __init__(self, config: RunConfig, options: SpaceOptions):
        super().__init__(name=config.space)
        self.space = get_space(config.space)
        self.options = options
        self.batch_size = config.batch_size
        self.objective, self.direction, self.patience = config.objective, config.direction, config.patience
        self.seed = config.seed
        self.budget = None  # the search's TimeBudget, set by the tuner (`setup_reporting`)

    def build(self, hp):
        return self.space.build(hp, self.options)

    def fit(self, hp, model, x, y, validation_data=None, callbacks=None, **kwargs):
        kwargs.setdefault("verbose", 0)  # the leaderboard draws progress; Keras bars would garble it
        cbs = training_callbacks(self.objective, self.direction, self.patience, hp.values, self.budget)
        cbs += list(callbacks or [])
        data = fit_inputs(hp.values, x, y, kwargs.pop("batch_size", self.batch_size),
                          class_weights(hp.get("class_weight"), y), self.options.num_classes, self.seed)
        return model.fit(**data, validation_data=validation_data, callbacks=cbs, **kwargs)
