"""`baseline`: the seed experiments' baseline CNN, barely tunable.

It is the reference point every report compares against, so only dropout and the shared
switches (augmentation, class weights, the training recipe of `spaces.recipe`) move.
"""
import keras

from spaces.common import SpaceOptions, class_weighting_choice, classifier_head, inputs_scaled
from spaces.interface import Space
from spaces.recipe import QUICK_FIX, compile_with_recipe
from spaces.speedrun import whitened

# the hyperparameters the leaderboard shows as columns
KEY_HPS = ("learning_rate", "dropout", "augment")


def build(hp, options: SpaceOptions | None = None) -> keras.Model:
    options = options or SpaceOptions()
    inputs, x = inputs_scaled(hp, options)
    x = whitened(hp, x)  # a frozen first layer only when pinned (spaces.speedrun)
    class_weighting_choice(hp)
    x = keras.layers.Conv2D(32, 3, activation="relu")(x)
    x = keras.layers.MaxPooling2D()(x)
    x = keras.layers.Conv2D(64, 3, activation="relu")(x)
    x = keras.layers.MaxPooling2D()(x)
    x = keras.layers.Flatten()(x)
    x = keras.layers.Dense(128, activation="relu")(x)
    outputs = classifier_head(x, options.num_classes, hp.Float("dropout", 0.0, 0.6, step=0.1, default=0.5))
    model = keras.Model(inputs, outputs, name="baseline_cnn")
    return compile_with_recipe(model, hp, whitening=True)


SPACE = Space("baseline", build, __doc__, key_hps=KEY_HPS, quick_fix=QUICK_FIX)
