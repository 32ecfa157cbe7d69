"""Progressive resizing (the recipe's `progressive_resize`, spaces.speedrun): the first epochs of a fit
train on faces scaled down to a smaller side, the side growing to the full one over the fit, so
early epochs cost fewer convolutions (their cost goes with the pixels: 40 px of 44 is 83%).

`progressive_resize` = the starting side in pixels (0: off). The layer sits after the crop, before
any whitening; at inference it is the identity, so validation, TTA and the saved model see the full
side. The side of each epoch is planned by `planned_side` and set by the training core's callback
(search.resizing); the network after the layer must take any side, so a flatten head cannot have it.
"""
import math

import keras

PROGRESSIVE = "progressive_resize"
PROGRESSIVE_STARTS = (24, 28, 32, 36, 40, 44)  # what --fix may give; below the crop's side
SIDE_STEP = 4  # sides move in steps of 4 px: few sizes, so few retraced training steps
RAMP_SHARE = 0.75  # of a fit's epochs over which the side grows; the rest train at the full side
LAYER_NAME = "augment_progressive_resize"  # augment_*: spaces.inference leaves it out of saved models


def planned_side(epoch: int, epochs: int, start: int, final: int) -> int:
    """The side for `epoch` (0-based) of a fit planned for `epochs`: from `start`, growing linearly in
    SIDE_STEP steps (rounded down) over all but the last (1 - RAMP_SHARE) of them (at least the last
    epoch), which train at `final`."""
    full = max(1, math.ceil((1 - RAMP_SHARE) * epochs))
    ramp = epochs - full
    if start >= final or epoch >= ramp:
        return final
    return min(final, start + int((final - start) * epoch / ramp / SIDE_STEP) * SIDE_STEP)


@keras.saving.register_keras_serializable(package="fer")
class ProgressiveResize(keras.layers.Layer):
    """In training, each image resized (bilinear, antialiased) to `side` x `side`; at inference the
    identity. `side` starts at the input's own and is set back to it when a fit ends
    (search.resizing), so a fit without the callback trains at the full side."""

    def __init__(self, start: int, **kwargs):
        kwargs.setdefault("dtype", "float32")
        super().__init__(**kwargs)
        self.start, self.side, self.final = start, None, None

    def build(self, input_shape):
        self.final = int(input_shape[1])
        self.side = self.side or self.final

    def call(self, images, training=None):
        if not training or self.side == images.shape[1]:
            return images
        return keras.ops.image.resize(images, (self.side, self.side), interpolation="bilinear", antialias=True)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "start": self.start}


def progressive_layer(start: int) -> ProgressiveResize:
    return ProgressiveResize(start, name=LAYER_NAME)


def resizing_layers(model: keras.Model) -> list:
    return [layer for layer in model.layers if isinstance(layer, ProgressiveResize)]
