"""Progressive resizing's epochs (the recipe's `progressive_resize`, spaces.progressive): at each
epoch's start the side planned for it is set on the model's resizing layer, and the training step is
traced anew when the side changed (a traced step keeps the shapes it was traced with).

The epochs planned are the fit's; under a time budget, those that fit at the pace seen so far (an
epoch at a smaller side counted at the full side's cost: pixels scale it), so a fit the budget will
cut short still reaches the full side for its last quarter.
"""
import keras

from search import budget as time_budget
from spaces.progressive import planned_side, resizing_layers


class ProgressiveResizing(keras.callbacks.Callback):
    def __init__(self, layer, budget=None):
        super().__init__()
        self.layer, self.budget = layer, budget
        self.first, self.began, self.full_epoch_seconds = None, 0.0, None
        self.sides = []  # the side of each epoch trained, in order

    def planned_epochs(self, epoch: int) -> int:
        epochs = int(self.params.get("epochs") or 1) - self.first
        if self.budget is None or self.full_epoch_seconds is None:
            return epochs
        done = epoch - self.first
        return min(epochs, done + int(max(0.0, self.budget.left()) // max(1e-9, self.full_epoch_seconds)))

    def on_epoch_begin(self, epoch, logs=None):
        if self.first is None:
            self.first = epoch
        self.layer.build_side()
        side = planned_side(epoch - self.first, self.planned_epochs(epoch), self.layer.start, self.layer.final)
        if side != self.layer.side:
            self.layer.side = side
            self.model.make_train_function(force=True)
        self.sides.append(side)
        self.began = time_budget.now()

    def on_epoch_end(self, epoch, logs=None):
        seconds = time_budget.now() - self.began
        self.full_epoch_seconds = seconds * (self.layer.final / self.layer.side) ** 2


def resizing_callbacks(model: keras.Model, budget=None) -> list:
    """A ProgressiveResizing for the model's resizing layer, if it has one."""
    return [ProgressiveResizing(layer, budget) for layer in resizing_layers(model)]
