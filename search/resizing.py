"""Progressive resizing's epochs (the recipe's `progressive_resize`, spaces.progressive): at each
epoch's start the side planned for it is set on the model's resizing layer, and the training step is
traced anew when the side changed (a traced step keeps the shapes it was traced with).

The epochs planned are the fit's; under a time budget, those that fit at the full side's pace (an
epoch at a smaller side scaled by its pixels; an epoch that retraced is not taken as the pace), so a
fit the budget will cut still ends at the full side. The side never shrinks within a fit, and an
epoch whose larger side would not fit what is left is not started. The budget's other readers (the
stop rule, the cosine's re-planning) see the epochs as they ran.
"""
import keras

from search import budget as time_budget
from spaces.progressive import planned_side, resizing_layers


class ProgressiveResizing(keras.callbacks.Callback):
    def __init__(self, layer, budget=None):
        super().__init__()
        self.layer, self.budget = layer, budget
        self.first, self.began, self.full_epoch_seconds, self.retraced = None, 0.0, None, False
        self.sides = []  # the side of each epoch trained, in order

    def planned_epochs(self, epoch: int) -> int:
        epochs = int(self.params.get("epochs") or 1) - self.first
        if self.budget is None or self.full_epoch_seconds is None:
            return epochs
        done = epoch - self.first
        return min(epochs, done + int(max(0.0, self.budget.left()) // max(1e-9, self.full_epoch_seconds)))

    def side_for(self, epoch: int) -> int:
        planned = planned_side(epoch - self.first, self.planned_epochs(epoch), self.layer.start, self.layer.final)
        return max(planned, self.sides[-1]) if self.sides else planned

    def set_side(self, side: int) -> None:
        self.retraced = side != self.layer.side
        if self.retraced:
            self.layer.side = side
            self.model.make_train_function(force=True)

    def on_epoch_begin(self, epoch, logs=None):
        if self.first is None:
            self.first = epoch
        self.set_side(self.side_for(epoch))
        self.sides.append(self.layer.side)
        self.began = time_budget.now()

    def on_epoch_end(self, epoch, logs=None):
        full = (time_budget.now() - self.began) * (self.layer.final / self.layer.side) ** 2
        if self.full_epoch_seconds is None or not self.retraced:
            self.full_epoch_seconds = full
        if self.budget is not None:
            upcoming = self.side_for(epoch + 1)
            if self.full_epoch_seconds * (upcoming / self.layer.final) ** 2 > self.budget.left():
                self.model.stop_training = True  # the next, larger epoch would not fit

    def on_train_end(self, logs=None):
        self.set_side(self.layer.final)  # a later fit without this callback trains at the full side


def resizing_callbacks(model: keras.Model, budget=None) -> list:
    """A ProgressiveResizing for the model's resizing layer, if it has one."""
    return [ProgressiveResizing(layer, budget) for layer in resizing_layers(model)]
