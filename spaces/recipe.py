"""The training recipe every space shares: optimizer, learning rate, weight decay, LR schedule,
label smoothing and mixup, declared here once as hyperparameters.

These are what FER-2013's best single networks are trained with (SGD with Nesterov momentum,
weight decay, cosine or plateau schedules, label smoothing or mixup). Which of them pays off
depends on the budget: regularisation that helps over 300 epochs costs accuracy over 20, so
choosing them is the search's job. The defaults are the plain recipe (Adam, no decay,
plateau, no smoothing, no mixup).

The learning rate's range belongs to the optimizer: SGD needs rates several times Adam's (SGD_LR_FACTOR, SGD_LR_TOP_FACTOR), so
`sgd_learning_rate` is its own hyperparameter, active only when `optimizer` is sgd, so a random
point never pairs SGD with an Adam-sized rate.
The schedule itself (warm-up, cosine over the epochs of each fit) is a callback: the number of
steps is known only when training starts (`search.schedule`). The CIFAR-10 speedrun's ingredients
(a frozen whitening layer, EMA of the weights, alternating flips, a linear decay, smoothing 0.2) are
declared here too, off unless pinned (`spaces.speedrun`).
"""
import keras
from keras import ops

from fer.metrics import MacroF1, is_soft
from spaces.speedrun import WEIGHT_EMA, declare_last

OPTIMIZERS = ("adam", "adamw", "sgd")
SCHEDULES = ("plateau", "cosine")  # drawn; "linear" only when pinned (spaces.speedrun)
# SGD's rates are Adam's times SGD_LR_FACTOR at the bottom and SGD_LR_TOP_FACTOR at the top (3e-3
# to 1.5e-2 for the cnn): higher SGD rates kept first 2-epoch rounds at the majority class, while the
# published recipes' 0.01-0.1 pay off over 300 epochs (bench/results/NOTES.md, random_points).
SGD_LR_FACTOR = 10.0
SGD_LR_TOP_FACTOR = 5.0
SGD_MOMENTUM = 0.9
NO_DECAY = ("bias", "gamma", "beta")  # weight decay shrinks kernels only, as the published recipes do
# `search.run --quick` (a first look in minutes) holds the recipe at the plain one: the search
# explores the architecture, augmentation and learning rate; `--fix` overrides any of these.
QUICK_FIX = {"optimizer": "adam", "lr_schedule": "plateau", "label_smoothing": 0.0, "mixup": 0.0}


def pinned(hp, name: str):
    """The value of `name` when it was registered without conditions (`search.run --fix`): a
    conditional declaration of the same name would otherwise register a second, free one."""
    for p in hp.space:
        if p.name == name and not p.conditions:
            return hp.values.get(name)
    return None


def conditional(hp, name: str, parent: str, parent_values: list, declare):
    """`declare()` (the hp.Float/hp.Boolean/... call of `name`) active only while `parent` holds
    one of `parent_values`; a pinned `name` is taken as pinned (None where the condition fails)."""
    value = pinned(hp, name)
    if value is not None:
        return value if hp.get(parent) in parent_values else None
    with hp.conditional_scope(parent, parent_values):
        return declare()


def conditional_float(hp, name: str, optimizers: list, *args, **kwargs) -> float | None:
    """hp.Float(name, ...) active only for these optimizers, unless `name` is pinned."""
    return conditional(hp, name, "optimizer", optimizers, lambda: hp.Float(name, *args, **kwargs))


def adam_family(optimizer: str) -> bool:
    return optimizer in ("adam", "adamw")


def learning_rate(hp, optimizer: str, low: float, high: float, default: float) -> float:
    """The rate for `optimizer`: `learning_rate` for the Adam family, `sgd_learning_rate` for SGD."""
    adam_lr = conditional_float(hp, "learning_rate", ["adam", "adamw"], low, high, sampling="log", default=default)
    sgd_lr = conditional_float(hp, "sgd_learning_rate", ["sgd"], low * SGD_LR_FACTOR, high * SGD_LR_TOP_FACTOR,
                               sampling="log", default=default * SGD_LR_FACTOR)
    return adam_lr if adam_family(optimizer) else sgd_lr


def weight_decay(hp) -> float:
    """Decoupled weight decay, as Keras applies it (w -= lr * decay * w, each step), so its range
    belongs to the optimizer's rates: SGD's `weight_decay` (the published 1e-4 to 5e-4 at rates
    near 0.01-0.1) and AdamW's `adamw_weight_decay` (about 0.01, as AdamW's authors and PyTorch use,
    at Adam's hundredfold smaller rates). Adam has none."""
    sgd = conditional_float(hp, "weight_decay", ["sgd"], 1e-5, 1e-3, sampling="log", default=5e-4)
    adamw = conditional_float(hp, "adamw_weight_decay", ["adamw"], 1e-3, 1e-1, sampling="log", default=1e-2)
    return {"sgd": sgd, "adamw": adamw}.get(hp.get("optimizer")) or 0.0


def schedule_choice(hp, default: str = "plateau") -> str:
    return hp.Choice("lr_schedule", SCHEDULES, default=default)


def make_optimizer(name: str, lr: float, decay: float, ema: float = 0.0) -> keras.optimizers.Optimizer:
    """`ema` > 0: the optimizer keeps a moving average of the weights with that momentum per step
    (Keras's use_ema), which the training core shows and saves (search.weight_averaging)."""
    decay = decay or None
    average = {"use_ema": True, "ema_momentum": float(ema)} if ema else {}
    if name == "sgd":
        opt = keras.optimizers.SGD(lr, momentum=SGD_MOMENTUM, nesterov=True, weight_decay=decay, **average)
    elif name == "adamw":
        opt = keras.optimizers.AdamW(lr, weight_decay=decay, **average)
    elif name == "adam":
        opt = keras.optimizers.Adam(lr, **average)
    else:
        raise ValueError(f"unknown optimizer {name!r} (expected one of {', '.join(OPTIMIZERS)})")
    if decay:
        opt.exclude_from_weight_decay(var_names=list(NO_DECAY))
    return opt


def soft_targets(y_true, num_classes: int):
    """Class-probability targets from integer labels (N,) or (N, 1), or soft targets (N, K) as is."""
    if is_soft(y_true, num_classes):
        return ops.cast(y_true, "float32")
    return ops.one_hot(ops.cast(ops.reshape(y_true, (-1,)), "int32"), num_classes, dtype="float32")


@keras.saving.register_keras_serializable(package="fer")
class SmoothedCrossentropy(keras.losses.Loss):
    """Cross-entropy on probabilities for integer labels or soft (mixup) targets, with label smoothing.

    Keras's sparse cross-entropy has no label smoothing and its categorical one wants one-hot
    labels everywhere; this takes both, so the data keeps its integer labels and only mixup's
    batches carry soft ones."""

    def __init__(self, num_classes: int, label_smoothing: float = 0.0, name: str = "smoothed_crossentropy", **kwargs):
        super().__init__(name=name, **kwargs)
        self.num_classes, self.label_smoothing = num_classes, label_smoothing

    def call(self, y_true, y_pred):
        target = soft_targets(y_true, self.num_classes)
        if self.label_smoothing:
            target = target * (1.0 - self.label_smoothing) + self.label_smoothing / self.num_classes
        probs = ops.clip(ops.cast(y_pred, "float32"), keras.backend.epsilon(), 1.0)
        return -ops.sum(target * ops.log(probs), axis=-1)

    def get_config(self):
        return {**super().get_config(), "num_classes": self.num_classes, "label_smoothing": self.label_smoothing}


@keras.saving.register_keras_serializable(package="fer")
def label_accuracy(y_true, y_pred):
    """Accuracy against integer labels or the dominant class of soft targets."""
    true = ops.argmax(soft_targets(y_true, y_pred.shape[-1]), axis=-1)
    return ops.cast(ops.equal(true, ops.argmax(y_pred, axis=-1)), "float32")


# Adam's rate for networks trained from scratch (low, high, default): lower rates kept first rounds
# at the majority class (NOTES.md, random_points); fine-tuning (mobilenet) passes its own, lower range.
SCRATCH_LR_RANGE = (3e-4, 3e-3, 1e-3)


def compile_with_recipe(model: keras.Model, hp, lr_range: tuple = SCRATCH_LR_RANGE,
                        optimizer_default: str = "adam", whitening: bool = False) -> keras.Model:
    """Declare the recipe's hyperparameters on `hp` and compile `model` with them.

    lr_range: (low, high, default) of the Adam-family rate; SGD's is SGD_LR_FACTOR times low and
    default, SGD_LR_TOP_FACTOR times high. whitening: the space applies `spaces.speedrun.whitened`,
    so `patch_whitening` is declared with the speedrun's other ingredients, last."""
    optimizer = hp.Choice("optimizer", OPTIMIZERS, default=optimizer_default)
    lr = learning_rate(hp, optimizer, *lr_range)
    decay = weight_decay(hp)
    schedule_choice(hp)
    # Mild values only: stronger smoothing and mixup kept first rounds at the majority class
    # (bench/results/NOTES.md, random_points); they pay off over long schedules.
    smoothing = hp.Float("label_smoothing", 0.0, 0.1, step=0.1, default=0.0)
    hp.Float("mixup", 0.0, 0.2, step=0.2, default=0.0)  # applied to the batches (search.schedule)
    speedrun = declare_last(hp, whitening)  # after everything drawn (spaces.speedrun)
    classes = model.output_shape[-1]
    model.compile(optimizer=make_optimizer(optimizer, lr, decay, speedrun[WEIGHT_EMA]),
                  loss=SmoothedCrossentropy(classes, smoothing),
                  metrics=[keras.metrics.MeanMetricWrapper(label_accuracy, name="accuracy"), MacroF1(classes)])
    return model
