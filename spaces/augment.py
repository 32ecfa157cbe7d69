"""Augmentation inside the model: flips, one random affine (rotation, translation, zoom), contrast.

Rotation, translation and zoom are one `RandomAffine` layer rather than Keras's RandomRotation,
RandomTranslation and RandomZoom. Keras's torch backend applies each of those with a Python loop
over the images of a batch (`affine_transform` calls `map_coordinates` once per image), slower
than a small cnn's whole training step (bench/results/NOTES.md, bench_search.py augment).
`RandomAffine` samples the whole batch at once with `keras.ops`, so it is
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


class SeededAugmentation(keras.layers.Layer):
    """What the augmentation layers share: float32 sampling under mixed precision too, and a seed
    with its generator (saved in the config, so a rebuilt layer draws the same)."""

    def __init__(self, seed=None, **kwargs):
        kwargs.setdefault("dtype", "float32")
        super().__init__(**kwargs)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def get_config(self):
        return {**super().get_config(), "seed": self.seed}


@keras.saving.register_keras_serializable(package="fer")
class RandomAffine(SeededAugmentation):
    """Random rotation, translation and zoom about the image centre, in one pass over the batch.

    rotation: a fraction of a full turn, drawn in [-rotation, rotation]; translation: a fraction
    of the height/width, each axis drawn in [-translation, translation]; zoom: the scale of the
    sampled area, drawn in [1 - zoom, 1 + zoom] (above 1 zooms out), as Keras's layers define them.
    """

    def __init__(self, rotation: float = 0.0, translation: float = 0.0, zoom: float = 0.0, seed=None, **kwargs):
        super().__init__(seed=seed, **kwargs)
        self.rotation, self.translation, self.zoom = rotation, translation, zoom

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
        return {**super().get_config(), "rotation": self.rotation, "translation": self.translation, "zoom": self.zoom}


def augmentation(level: str, random_flip: bool = True) -> keras.Sequential:
    """The augmentation block for a level other than "off" (named augment_<level>); `random_flip`
    False leaves mirroring to the batches (search.flips)."""
    rotation, translation, zoom, contrast = AUGMENT_PARAMS[level]
    return keras.Sequential([
        *([keras.layers.RandomFlip("horizontal")] if random_flip else []),
        RandomAffine(rotation, translation, zoom),
        keras.layers.RandomContrast(contrast, value_range=(0, 1)),
    ], name=f"{AUGMENT_PREFIX}{level}")


def window_origins(batch, limit_y: int, limit_x: int, seed_generator):
    """Random integer (y0, x0) per image, each in [0, limit]."""
    def draw(limit):
        u = keras.random.uniform((batch,), 0.0, float(limit + 1), seed=seed_generator)
        return ops.minimum(ops.cast(ops.floor(u), "int32"), limit)
    return draw(limit_y), draw(limit_x)


@keras.saving.register_keras_serializable(package="fer")
class RandomCropWindow(SeededAugmentation):
    """A `size`x`size` window of each image: at a random place in training, the centre at inference.

    The model then sees crops of one size in training, at inference and in ten-crop TTA (which
    hands it windows of this size; `fer.tta`). Keras's RandomCrop resizes the whole image at
    inference instead, which is not what it trained on. The saved inference model swaps this
    layer for Keras's CenterCrop (`spaces.inference`), which cuts the same centre window."""

    def __init__(self, size: int, seed=None, **kwargs):
        super().__init__(seed=seed, **kwargs)
        self.size = size

    def call(self, images, training=None):
        height, width, channels = images.shape[1], images.shape[2], images.shape[3]
        if not training:
            top, left = (height - self.size) // 2, (width - self.size) // 2
            return images[:, top:top + self.size, left:left + self.size, :]
        batch = ops.shape(images)[0]
        y0, x0 = window_origins(batch, height - self.size, width - self.size, self.seed_generator)
        steps = ops.arange(self.size, dtype="int32")
        rows = ops.expand_dims(y0, 1) + steps  # (B, size)
        cols = ops.expand_dims(x0, 1) + steps
        index = ops.reshape(ops.expand_dims(rows, 2) * width + ops.expand_dims(cols, 1), (batch, -1, 1))
        flat = ops.reshape(images, (batch, height * width, channels))
        picked = ops.take_along_axis(flat, ops.broadcast_to(index, (batch, self.size * self.size, channels)), axis=1)
        return ops.reshape(picked, (batch, self.size, self.size, channels))

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.size, self.size, input_shape[3])

    def get_config(self):
        return {**super().get_config(), "size": self.size}


@keras.saving.register_keras_serializable(package="fer")
class RandomErasing(SeededAugmentation):
    """Random erasing (Zhong et al.): with probability `rate`, a rectangle of each image (2-25% of
    its area, aspect 0.5-2) is filled with uniform noise. Training only; one pass over the batch."""

    def __init__(self, rate: float, seed=None, **kwargs):
        super().__init__(seed=seed, **kwargs)
        self.rate = rate

    def call(self, images, training=None):
        if not training or not self.rate:
            return images
        height, width = images.shape[1], images.shape[2]
        batch = ops.shape(images)[0]
        def uniform(low, high, shape=(batch,)):
            return keras.random.uniform(shape, low, high, seed=self.seed_generator)
        area = uniform(0.02, 0.25) * height * width
        aspect = ops.exp(uniform(math.log(0.5), math.log(2.0)))
        h = ops.minimum(ops.sqrt(area * aspect), float(height))
        w = ops.minimum(ops.sqrt(area / aspect), float(width))
        top, left = uniform(0.0, 1.0) * (height - h), uniform(0.0, 1.0) * (width - w)
        ys = ops.reshape(ops.arange(height, dtype="float32"), (1, height, 1, 1))
        xs = ops.reshape(ops.arange(width, dtype="float32"), (1, 1, width, 1))
        def per_image(v):
            return ops.reshape(v, (-1, 1, 1, 1))
        inside = ((ys >= per_image(top)) & (ys < per_image(top + h))
                  & (xs >= per_image(left)) & (xs < per_image(left + w))
                  & per_image(uniform(0.0, 1.0) < self.rate))
        noise = uniform(0.0, 1.0, ops.shape(images))
        return ops.where(inside, ops.cast(noise, images.dtype), images)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "rate": self.rate}
