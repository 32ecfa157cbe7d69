"""Augmentation inside the model: flips, one random affine (rotation, translation, zoom), contrast.

Rotation, translation and zoom are one `RandomAffine` layer rather than Keras's RandomRotation,
RandomTranslation and RandomZoom. Keras's torch backend applies each of those with a Python loop
over the images of a batch (`affine_transform` calls `map_coordinates` once per image): on an
H100 each took about 75 ms per batch of 64 faces against 0.5 ms for a flip, ten times the training
step of a small cnn. `RandomAffine` samples the whole batch at once with `keras.ops`, so it is
fast on every backend; its transforms use Keras's 8-number format and its bilinear sampling and
"reflect" fill follow Keras's own `affine_transform`, which the tests compare it against.
Everything here is active only in training.
"""
import math

import keras
from keras import ops

# (rotation as a fraction of a full turn, translation, zoom, contrast) per level; all with
# horizontal flips. Faces are upright and centred, so even "strong" stays mild.
AUGMENT_LEVELS = ("off", "light", "medium", "strong")
AUGMENT_PREFIX = "augment_"  # every augmentation block's name starts so; spaces.inference drops them
AUGMENT_PARAMS = {
    "light": (0.03, 0.05, 0.05, 0.1),
    "medium": (0.06, 0.10, 0.10, 0.2),
    "strong": (0.10, 0.15, 0.20, 0.3),
}


def reflect(index, size: int):
    """Integer indices folded into [0, size) as "reflect" does: (d c b a | a b c d | d c b a)."""
    period = 2 * size
    folded = ops.mod(index, period)  # Python-style modulo: non-negative
    return ops.where(folded >= size, period - 1 - folded, folded)


def affine_sample(images, transforms):
    """Bilinear samples of `images` (B, H, W, C) at each output pixel's source under `transforms`.

    transforms: (B, 8) in Keras's format [a0, a1, a2, b0, b1, b2, c0, c1], mapping an output
    pixel (x, y) to the input point (a0 x + a1 y + a2, b0 x + b1 y + b2); c0 and c1 (projective
    terms) must be 0. Points outside the image are filled by reflection.
    """
    height, width, channels = images.shape[1], images.shape[2], images.shape[3]
    batch = ops.shape(images)[0]
    ys, xs = ops.meshgrid(ops.arange(height, dtype="float32"), ops.arange(width, dtype="float32"), indexing="ij")
    xs, ys = ops.reshape(xs, (1, -1)), ops.reshape(ys, (1, -1))
    t = [ops.expand_dims(transforms[:, i], 1) for i in range(6)]
    src_x, src_y = t[0] * xs + t[1] * ys + t[2], t[3] * xs + t[4] * ys + t[5]  # (B, H*W)
    x0, y0 = ops.floor(src_x), ops.floor(src_y)
    wx, wy = src_x - x0, src_y - y0
    x0, y0 = ops.cast(x0, "int32"), ops.cast(y0, "int32")
    flat = ops.reshape(images, (batch, height * width, channels))
    out = 0.0
    for dy, weight_y in ((0, 1.0 - wy), (1, wy)):
        for dx, weight_x in ((0, 1.0 - wx), (1, wx)):
            index = reflect(y0 + dy, height) * width + reflect(x0 + dx, width)
            index = ops.broadcast_to(ops.expand_dims(index, -1), (batch, height * width, channels))
            out = out + ops.take_along_axis(flat, index, axis=1) * ops.expand_dims(weight_y * weight_x, -1)
    return ops.reshape(out, (batch, height, width, channels))


@keras.saving.register_keras_serializable(package="fer")
class RandomAffine(keras.layers.Layer):
    """Random rotation, translation and zoom about the image centre, in one pass over the batch.

    rotation: a fraction of a full turn, drawn in [-rotation, rotation]; translation: a fraction
    of the height/width, each axis drawn in [-translation, translation]; zoom: the scale of the
    sampled area, drawn in [1 - zoom, 1 + zoom] (above 1 zooms out), as Keras's layers define them.
    """

    def __init__(self, rotation: float = 0.0, translation: float = 0.0, zoom: float = 0.0, seed=None, **kwargs):
        kwargs.setdefault("dtype", "float32")  # sample in float32 under mixed precision too
        super().__init__(**kwargs)
        self.rotation, self.translation, self.zoom, self.seed = rotation, translation, zoom, seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def random_transforms(self, batch, height: int, width: int):
        """(B, 8) transforms in Keras's format, mapping output pixels to input points."""
        def draw(limit):
            return keras.random.uniform((batch,), -limit, limit, seed=self.seed_generator)
        angle = draw(self.rotation) * 2.0 * math.pi
        scale = 1.0 + draw(self.zoom)
        dx, dy = draw(self.translation) * width, draw(self.translation) * height
        cos, sin = scale * ops.cos(angle), scale * ops.sin(angle)
        cx, cy = (width - 1) / 2.0, (height - 1) / 2.0
        zeros = ops.zeros_like(angle)
        return ops.stack([cos, -sin, cx - cos * cx + sin * cy - dx,
                          sin, cos, cy - sin * cx - cos * cy - dy, zeros, zeros], axis=1)

    def call(self, images, training=None):
        if not training:
            return images
        transforms = self.random_transforms(ops.shape(images)[0], images.shape[1], images.shape[2])
        return affine_sample(images, transforms)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "rotation": self.rotation, "translation": self.translation,
                "zoom": self.zoom, "seed": self.seed}


def augmentation(level: str) -> keras.Sequential:
    """The augmentation block for a level other than "off" (named augment_<level>)."""
    rotation, translation, zoom, contrast = AUGMENT_PARAMS[level]
    return keras.Sequential([
        keras.layers.RandomFlip("horizontal"),
        RandomAffine(rotation, translation, zoom),
        keras.layers.RandomContrast(contrast, value_range=(0, 1)),
    ], name=f"{AUGMENT_PREFIX}{level}")
