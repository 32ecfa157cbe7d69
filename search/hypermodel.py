"""`FerHyperModel`: a registered space plus the training recipe every trial shares.

The space's `build(hp)` defines the model and its hyperparameters; `fit` trains it through the
one training core (`search.training.fit`): class weights, mixup, the schedule, early stopping,
the NaN guard and the time budget's stop rule.
"""
import keras
import keras_tuner as kt

from search.config import TENSORBOARD_DIR, RunConfig
from search.training import Fitting, fit
from spaces import SpaceOptions, get_space


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


class FerHyperModel(kt.HyperModel):
    def __init__(self, config: RunConfig, options: SpaceOptions):
        super().__init__(name=config.space)
        self.space = get_space(config.space)
        self.options = options
        self.fitting = Fitting.of(config)
        self.budget = None  # the search's TimeBudget, set by the tuner (`setup_reporting`)
        self.last_fit = None  # the FitResult of the latest trial, read by the tuner when it ends

    def build(self, hp):
        return self.space.build(hp, self.options)

    def fit(self, hp, model, x, y, validation_data=None, callbacks=None, **kwargs):
        self.last_fit = fit(model, hp.values, x, y, self.fitting, validation=validation_data, budget=self.budget,
                            callbacks=callbacks, **kwargs)
        return self.last_fit.history
