"""A test-only space whose `mode` hyperparameter can make a trial fail (registered by the tests)."""
import keras

from spaces.common import SpaceOptions, class_weighting_choice, classifier_head, inputs_scaled
from spaces.interface import Space
from spaces.recipe import QUICK_FIX, compile_with_recipe


def build(hp, options: SpaceOptions | None = None):
    options = options or SpaceOptions()
    inputs, x = inputs_scaled(hp, options)
    class_weighting_choice(hp)
    if hp.Choice("mode", ["ok", "fail"]) == "fail":
        raise ValueError("impossible combination: mode=fail")
    x = keras.layers.GlobalAveragePooling2D()(keras.layers.Conv2D(4, 3)(x))
    return compile_with_recipe(keras.Model(inputs, classifier_head(x, options.num_classes, 0.0)), hp)


SPACE = Space("broken", build, __doc__, quick_fix=QUICK_FIX)
