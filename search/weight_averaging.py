"""EMA of the weights (the recipe's `weight_ema`, spaces.speedrun): what is validated, checkpointed
and saved is the exponential moving average of the weights, as in the CIFAR-10 speedrun.

Keras's optimizer keeps the average (`use_ema`, spaces.recipe.make_optimizer): after each step
a = m a + (1 - m) w, and a = w after the first. It does not show it: the validation pass and the
checkpoints of each epoch would see the raw weights, and the average reaches the model only when
`fit` ends (its finalize_variable_values). Keras's SwapEMAWeights(swap_on_epoch=True) shows it but,
swapping in place, leaves the model with the raw weights whenever a fit stops before its last planned
epoch (the time budget, early stopping): it restores the average only at epoch == epochs - 1.

`ShowAverage` copies instead of swapping: from each epoch's validation to the next epoch's first step
the model holds the average and the raw weights wait aside, so the checkpoints, early stopping's best
weights and the model a fit ends with are all the average, however the fit ends. Batch
normalisation's moving statistics are not averaged (they are not trainable): they are those the raw
weights gathered.
"""
import keras


def average_of(optimizer):
    """The optimizer that keeps the average (under a LossScaleOptimizer, the inner one), or None."""
    inner = getattr(optimizer, "inner_optimizer", optimizer)
    return inner if getattr(inner, "use_ema", False) else None


class ShowAverage(keras.callbacks.Callback):
    """The model holds the moving average while it is validated and between epochs (module doc).
    First among a fit's callbacks, so every later one sees the average at an epoch's end."""

    def __init__(self):
        super().__init__()
        self.raw = None  # the raw weights while the model holds the average

    def pairs(self):
        optimizer = average_of(self.model.optimizer)
        # the optimizer's own list of the variables it averages, in the order of its averages
        return list(zip(optimizer._trainable_variables, optimizer._model_variables_moving_average))

    def show(self):
        if self.raw is None:
            pairs = self.pairs()
            self.raw = [keras.ops.convert_to_numpy(w) for w, _ in pairs]
            for w, average in pairs:
                w.assign(average)

    def restore(self):
        if self.raw is not None:
            for (w, _), raw in zip(self.pairs(), self.raw):
                w.assign(raw)
            self.raw = None

    def on_test_begin(self, logs=None):  # fit's validation pass, before the epoch's end
        self.show()

    def on_epoch_end(self, epoch, logs=None):
        self.show()

    def on_epoch_begin(self, epoch, logs=None):
        self.restore()

    def on_train_end(self, logs=None):
        self.raw = None  # fit's finalize_variable_values has put the average in, as shown


def averaging_callbacks(model: keras.Model) -> list:
    """[ShowAverage()] when the model's optimizer averages its weights, else []."""
    return [ShowAverage()] if average_of(model.optimizer) is not None else []
