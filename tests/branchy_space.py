"""A test-only space (registered by the tests) whose `head_units` is declared only on one branch:
keras-tuner's model-selection pattern, a plain `if` on the parent's value inside its conditional scope."""
import keras

from spaces.common import SpaceOptions, classifier_head, inputs_scaled
from spaces.interface import Space
from spaces.recipe import QUICK_FIX, compile_with_recipe


def build(hp, options: SpaceOptions | None = None):
    options = options or SpaceOptions()
    inputs, x = inputs_scaled(hp, options)
    x = keras.layers.GlobalAveragePooling2D()(keras.layers.Conv2D(4, 3)(x))
    head = hp.Choice("head", ["plain", "dense"])
    with hp.conditional_scope("head", ["dense"]):
        if head == "dense":
            x = keras.layers.Dense(hp.Int("head_units", 4, 8, step=4))(x)
    return compile_with_recipe(keras.Model(inputs, classifier_head(x, options.num_classes, 0.0)), hp)


SPACE = Space("branchy", build, __doc__, quick_fix=QUICK_FIX)
