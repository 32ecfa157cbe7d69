"""`cnn`: a VGG-style CNN with tunable depth, width and head, up to the published FER-2013 VGG shape.

Blocks of `convs_per_block` 3x3 convolutions (optionally batch-normalised), max-pooling and
dropout; filters double per block from `filters` up to 512, so 4 blocks from 64 are the
64-128-256-512 network of the best published single models. The head flattens into a dense
layer, or global-average-pools (`pooling`), with `dense_units` 0 meaning no hidden dense layer.
Batch normalisation is on unless pinned off (`--fix batch_norm=false`): in a random search on
the real data (bench/bench_random_points.py) most trials without it were still at the majority
class after the first 2-epoch round, so a search does not spend its trials on it. Without it the
convolutions start He-initialised behind the recipe's warm-up; whether that trains faster depends
on the machine (`bench/bench_cpu_speed.py`). Dropout follows every block, hence at most 0.3.
`lean_first_block` (drawn when `convs_per_block` is 2-3) gives the first block one convolution: at full
resolution that block's second convolution is the costliest layer of the default model on the
CPU (its op profile in the README), so this is the CPU's cheaper shape; off by default, which
is also how searches from before it existed are rebuilt.
"""
import keras

from spaces.common import SpaceOptions, class_weighting_choice, classifier_head, inputs_scaled
from spaces.recipe import QUICK_FIX as RECIPE_QUICK_FIX
from spaces.recipe import compile_with_recipe, conditional

MAX_FILTERS = 512
KEY_HPS = ("conv_blocks", "filters", "batch_norm", "optimizer", "learning_rate", "sgd_learning_rate", "augment")  # leaderboard columns
# --quick: the plain recipe, and the first block's width and convolutions held (32, 2 convs; depth still searched)
QUICK_FIX = {**RECIPE_QUICK_FIX, "filters": 32, "convs_per_block": 2, "lean_first_block": False}
# Moving statistics settle within tens of steps (Keras default 0.99 needs hundreds): short
# trials on small data are judged on a model whose inference statistics are already usable.
BN_MOMENTUM = 0.9


def conv_block(x, width: int, convs: int, batch_norm: bool, dropout: float):
    for _ in range(convs):
        x = keras.layers.Conv2D(width, 3, padding="same", use_bias=not batch_norm,
                                kernel_initializer="he_normal")(x)
        if batch_norm:
            x = keras.layers.BatchNormalization(momentum=BN_MOMENTUM)(x)
        x = keras.layers.Activation("relu")(x)
    x = keras.layers.MaxPooling2D(padding="same")(x)
    return keras.layers.Dropout(dropout)(x) if dropout > 0 else x


def build(hp, options: SpaceOptions | None = None) -> keras.Model:
    options = options or SpaceOptions()
    inputs, x = inputs_scaled(hp, options, augment_default="light")
    class_weighting_choice(hp)
    # At most 4 blocks, the published VGG's stages: a 5th leaves 1-2 pixels of a 40-48 px face,
    # and the one 5-block random point of the CPU benchmark stayed at the majority rate.
    blocks = hp.Int("conv_blocks", 2, 4, default=3)
    filters = hp.Choice("filters", [16, 32, 64], default=32)
    convs = hp.Int("convs_per_block", 1, 3, default=2)
    batch_norm = hp.Fixed("batch_norm", True)  # off only when pinned: --fix batch_norm=false (module doc)
    dropout = hp.Float("dropout", 0.0, 0.3, step=0.05, default=0.25)
    # with one convolution per block it changes nothing, so it is drawn only with 2-3
    lean_first = conditional(hp, "lean_first_block", "convs_per_block", [2, 3],
                             lambda: hp.Boolean("lean_first_block", default=False))
    for b in range(blocks):
        block_convs = 1 if b == 0 and lean_first else convs
        x = conv_block(x, min(filters * 2 ** b, MAX_FILTERS), block_convs, batch_norm, dropout)
    pooling = hp.Choice("pooling", ["flatten", "gap"], default="flatten")
    x = keras.layers.Flatten()(x) if pooling == "flatten" else keras.layers.GlobalAveragePooling2D()(x)
    units = hp.Choice("dense_units", [0, 64, 128, 256, 512], default=256)
    if units:
        x = keras.layers.Dense(units, activation="relu", kernel_initializer="he_normal")(x)
    outputs = classifier_head(x, options.num_classes, dropout)
    return compile_with_recipe(keras.Model(inputs, outputs, name="cnn"), hp)
