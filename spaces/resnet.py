"""`resnet`: a CIFAR-style residual network, the other shape of FER-2013's best single networks.

A 3x3 stem without early max-pooling (a 48x48 face has no resolution to spare), then stages of
basic residual blocks (two 3x3 convolutions), widths doubling per stage from `width` and the
resolution halving from the second stage on, global average pooling and the head. `blocks`
names the blocks per stage: "2-2-2-2" at width 64 is ResNet-18 (11.2M parameters); "1-1-1" at
16 is the smallest.

Batch normalisation is on unless pinned off (`--fix batch_norm=false`), as in the cnn space. With it
off, each block's last convolution starts at zero, so every block starts as
the identity (SkipInit/Fixup's idea) and the network trains without normalisation, whose cost
on a CPU depends on the machine (bench/results/NOTES.md, cpu_speed).
"""
import keras

from spaces.common import SpaceOptions, class_weighting_choice, classifier_head, inputs_scaled
from spaces.interface import Space
from spaces.recipe import QUICK_FIX, compile_with_recipe
from spaces.speedrun import resized, whitened

BLOCKS = ("1-1-1", "2-2-2", "1-1-1-1", "2-2-2-2")  # blocks per stage; "2-2-2-2" is ResNet-18's
KEY_HPS = ("blocks", "width", "batch_norm", "optimizer", "learning_rate", "sgd_learning_rate", "augment")  # leaderboard columns
BN_MOMENTUM = 0.9  # as the cnn space's: short trials get usable inference statistics
PINNED_ONLY = {"batch_norm": (True, False)}  # declared as Fixed: off only when pinned (module doc)


def conv_bn(x, width: int, stride: int, batch_norm: bool, relu: bool, zero_init: bool = False):
    init = "zeros" if zero_init and not batch_norm else "he_normal"
    x = keras.layers.Conv2D(width, 3, strides=stride, padding="same", use_bias=not batch_norm,
                            kernel_initializer=init)(x)
    if batch_norm:
        x = keras.layers.BatchNormalization(momentum=BN_MOMENTUM)(x)
    return keras.layers.Activation("relu")(x) if relu else x


def basic_block(x, width: int, stride: int, batch_norm: bool):
    shortcut = x
    y = conv_bn(x, width, stride, batch_norm, relu=True)
    y = conv_bn(y, width, 1, batch_norm, relu=False, zero_init=True)
    if stride != 1 or x.shape[-1] != width:  # a 1x1 projection where the shape changes
        shortcut = keras.layers.Conv2D(width, 1, strides=stride, use_bias=not batch_norm)(x)
        if batch_norm:
            shortcut = keras.layers.BatchNormalization(momentum=BN_MOMENTUM)(shortcut)
    return keras.layers.Activation("relu")(keras.layers.Add()([shortcut, y]))


def build(hp, options: SpaceOptions | None = None) -> keras.Model:
    options = options or SpaceOptions()
    inputs, x = inputs_scaled(hp, options, augment_default="light")
    x, _ = resized(hp, x)  # smaller faces in the first epochs only when pinned (spaces.progressive)
    x = whitened(hp, x)  # a frozen first layer only when pinned (spaces.speedrun)
    class_weighting_choice(hp)
    blocks = [int(n) for n in hp.Choice("blocks", BLOCKS, default="1-1-1").split("-")]
    width = hp.Choice("width", [16, 32, 64], default=32)
    batch_norm = hp.Fixed("batch_norm", True)  # off only when pinned: --fix batch_norm=false (module doc)
    dropout = hp.Float("dropout", 0.0, 0.3, step=0.1, default=0.2)
    x = conv_bn(x, width, 1, batch_norm, relu=True)
    for stage, count in enumerate(blocks):
        for i in range(count):
            x = basic_block(x, width * 2 ** stage, 2 if stage > 0 and i == 0 else 1, batch_norm)
    x = keras.layers.GlobalAveragePooling2D()(x)
    outputs = classifier_head(x, options.num_classes, dropout)
    return compile_with_recipe(keras.Model(inputs, outputs, name="resnet"), hp, optimizer_default="sgd", whitening=True)


SPACE = Space("resnet", build, __doc__, key_hps=KEY_HPS, quick_fix=QUICK_FIX, pinned_only=PINNED_ONLY)
