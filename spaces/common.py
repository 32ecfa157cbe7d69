"""Pieces every search space shares: input, scaling, augmentation, crops, class weights, the head.

Each helper declares its own hyperparameters on `hp`, so a space's `build(hp)` stays the
single source of its search space.
"""
from dataclasses import dataclass

import keras
import numpy as np

from fer.constants import IMAGE_SHAPE, NUM_CLASSES
from fer.scaling import scaling_layer
from spaces.augment import AUGMENT_LEVELS, AUGMENT_PREFIX, RandomCropWindow, RandomErasing, augmentation
from spaces.speedrun import FLIP_MODE, FLIP_MODES, WEIGHT_EMA, held
from spaces.progressive import PROGRESSIVE, PROGRESSIVE_STARTS
from spaces.whitening import PATCH_SIDES, WHITENING

# Searched class weightings. "balanced" (n / (k * count): disgust weighs 9.4) is taken only when
# pinned (--fix class_weight=balanced): it put most first rounds below the majority rate, which a
# search selecting on accuracy drops (bench/results/NOTES.md, random_points); "sqrt" (disgust 3.1)
# keeps most of its minority recall.
CLASS_WEIGHTING = ("none", "sqrt")
CROP_MARGINS = (0, 4, 8)  # crop_size choices: the input's side less these (48, 44, 40 on FER-2013)
ERASING_RATES = (0.0, 0.25, 0.5)


@dataclass(frozen=True)
class PinRange:
    """A PINNED_ONLY entry for a number: `low` up to, not including, `below` (a dropout rate: 0 to 1)."""
    low: float
    below: float

    def __contains__(self, value) -> bool:
        return isinstance(value, (int, float)) and not isinstance(value, bool) and self.low <= value < self.below

    def __str__(self) -> str:
        return f"{self.low:g} to below {self.below:g}"


# Values a space takes when pinned but does not draw (search/report/compat.py accepts them in saved
# trials): balanced class weights, and the speedrun's ingredients, off unless pinned (spaces.speedrun).
# A space's own `pinned_only` adds those of its build: the values `--fix` may give a hyperparameter
# it declares as Fixed (spaces.pinned_only).
PINNED_ONLY = {"class_weight": ("balanced",), WHITENING: PATCH_SIDES, WEIGHT_EMA: PinRange(0.0, 1.0),
               FLIP_MODE: FLIP_MODES[1:], "lr_schedule": ("linear",), "label_smoothing": PinRange(0.0, 1.0),
               PROGRESSIVE: PROGRESSIVE_STARTS}


@dataclass(frozen=True)
class SpaceOptions:
    """Facts a space needs beyond its hyperparameters (data shape, weights source)."""
    input_shape: tuple = IMAGE_SHAPE
    num_classes: int = NUM_CLASSES
    weights: str | None = "imagenet"  # "imagenet", a local file path, or None (random init)


def inputs_scaled(hp, options: SpaceOptions, augment_default: str = "off"):
    """uint8 input -> [0, 1] -> augmentation (training only) -> a crop_size window (random in
    training, the centre at inference) -> random erasing (training only). Returns (inputs, tensor)."""
    inputs = keras.Input(shape=options.input_shape, dtype="uint8", name="image")
    x = scaling_layer()(inputs)
    level = hp.Choice("augment", AUGMENT_LEVELS, default=augment_default)
    if level != "off":  # alternating flips happen in the batches instead (search.flips)
        x = augmentation(level, random_flip=held(hp, FLIP_MODE) == FLIP_MODES[0])(x)
    side = options.input_shape[0]
    crop = hp.Choice("crop_size", [side - m for m in CROP_MARGINS], default=side)
    if crop < side:
        x = RandomCropWindow(crop, name="crop")(x)
    erasing = hp.Choice("random_erasing", ERASING_RATES, default=0.0)
    if erasing:
        x = RandomErasing(erasing, name=f"{AUGMENT_PREFIX}erasing")(x)
    return inputs, x


def class_weighting_choice(hp, default: str = "none") -> str:
    return hp.Choice("class_weight", CLASS_WEIGHTING, default=default)


def class_weights(mode: str, y: np.ndarray, num_classes: int = NUM_CLASSES) -> dict | None:
    """Keras `class_weight` for the rare classes: none, balanced (n / (k * count)) or its sqrt."""
    if mode not in ("none", "balanced", "sqrt"):
        raise ValueError(f"unknown class weighting {mode!r} (expected none, sqrt or balanced)")
    if mode == "none":
        return None
    counts = np.bincount(np.asarray(y, int), minlength=num_classes).astype(float)
    balanced = np.where(counts > 0, counts.sum() / (num_classes * np.maximum(counts, 1)), 0.0)
    weights = balanced if mode == "balanced" else np.sqrt(balanced)
    return {i: float(w) for i, w in enumerate(weights)}


def classifier_head(x, num_classes: int, dropout: float, name: str = "predictions"):
    if dropout > 0:
        x = keras.layers.Dropout(dropout)(x)
    x = keras.layers.Dense(num_classes, name=f"{name}_logits")(x)
    return keras.layers.Activation("softmax", dtype="float32", name=name)(x)  # float32 under mixed precision
