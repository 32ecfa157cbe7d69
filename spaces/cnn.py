"""`cnn`: a VGG-style CNN with tunable depth, width and head, up to the published FER-2013 VGG shape.

Blocks of `convs_per_block` 3x3 convolutions (optionally batch-normalised), max-pooling and
dropout (when pinned); filters double per block from `filters` up to 512, so 4 blocks from 64 are the
64-128-256-512 network of the best published single models. The head flattens into a dense
layer, or global-average-pools (`pooling`), with `dense_units` 0 meaning no hidden dense layer.
Batch normalisation is on unless pinned off (`--fix batch_norm=false`): random trials without it
mostly ended their first round at the majority class (bench/results/NOTES.md, random_points).
`lean_first_block` (drawn when `convs_per_block` is 2-3) gives the first, full-resolution block
one convolution, the CPU's cheaper shape (NOTES.md, cpu_speed); off by default, which also
rebuilds searches that predate it.

Dropout is taken only when pinned: `--fix dropout=0.2` before the logits (as the published FER-2013
VGG, usef-kh/fer models/vgg.py, has it after its fully connected layers), `--fix block_dropout=...`
after every block as well. A first round cannot judge it: points that learn look as if they
learned nothing with it (NOTES.md, dropout_first_round). Trials of searches from before
`block_dropout` applied `dropout` after every block as well as in the head; they are rebuilt, and
resumed, that way (`SPACE.legacy`).
"""
import keras
import keras_tuner as kt

from fer.errors import UserError

from spaces.common import PinRange, SpaceOptions, class_weighting_choice, classifier_head, inputs_scaled
from spaces.interface import LegacyRebuild, Space
from spaces.recipe import QUICK_FIX as RECIPE_QUICK_FIX
from spaces.recipe import compile_with_recipe, conditional
from spaces.speedrun import resized, whitened

MAX_FILTERS = 512
KEY_HPS = ("conv_blocks", "filters", "batch_norm", "optimizer", "learning_rate", "sgd_learning_rate", "augment")  # leaderboard columns
# --quick: the plain recipe, and the first block's width and convolutions held (32, 2 convs; depth still searched)
QUICK_FIX = {**RECIPE_QUICK_FIX, "filters": 32, "convs_per_block": 2, "lean_first_block": False}
# Declared as Fixed (a search does not draw them): the values --fix may give them (module doc)
PINNED_ONLY = {"batch_norm": (True, False), "dropout": PinRange(0.0, 1.0), "block_dropout": PinRange(0.0, 1.0)}
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


def saved_before_block_dropout(hp) -> bool:
    """A trial of a search from before `block_dropout` existed (its `dropout` then followed every
    block as well as the head). Such a trial's saved space is whole but lacks `block_dropout`, and
    so does every trial of such a search resumed, so `block_dropout` never enters its oracle's
    space. The first build of a new search holds at most the --fix pins (Fixed)."""
    names = {p.name for p in hp.space}
    saved_trial = any(not isinstance(p, kt.engine.hyperparameters.Fixed) for p in hp.space)
    return saved_trial and "dropout" in hp.values and "block_dropout" not in names


def build(hp, options: SpaceOptions | None = None) -> keras.Model:
    return network(hp, options or SpaceOptions(), lambda: hp.Fixed("block_dropout", 0.0))


def build_before_block_dropout(hp, options: SpaceOptions | None = None) -> keras.Model:
    """Such a trial as it was trained: its `dropout` after every block too, `block_dropout` undeclared."""
    return network(hp, options or SpaceOptions(), lambda: float(hp.values["dropout"]))


def network(hp, options: SpaceOptions, block_dropout_of) -> keras.Model:
    """The cnn of `hp`; `block_dropout_of()` gives the dropout after every block (declaring it or not)."""
    inputs, x = inputs_scaled(hp, options, augment_default="light")
    x, progressive = resized(hp, x)  # smaller faces in the first epochs only when pinned (spaces.progressive)
    x = whitened(hp, x)  # a frozen first layer only when pinned (spaces.speedrun)
    class_weighting_choice(hp)
    # At most 4 blocks, the published VGG's stages: a 5th leaves 1-2 pixels of a 40-48 px face.
    blocks = hp.Int("conv_blocks", 2, 4, default=3)
    filters = hp.Choice("filters", [16, 32, 64], default=32)
    convs = hp.Int("convs_per_block", 1, 3, default=2)
    batch_norm = hp.Fixed("batch_norm", True)  # off only when pinned: --fix batch_norm=false (module doc)
    block_dropout = block_dropout_of()  # both dropouts only when pinned (module doc)
    dropout = hp.Fixed("dropout", 0.0)
    # with one convolution per block it changes nothing, so it is drawn only with 2-3
    lean_first = conditional(hp, "lean_first_block", "convs_per_block", [2, 3],
                             lambda: hp.Boolean("lean_first_block", default=False))
    for b in range(blocks):
        block_convs = 1 if b == 0 and lean_first else convs
        x = conv_block(x, min(filters * 2 ** b, MAX_FILTERS), block_convs, batch_norm, block_dropout)
    pooling = hp.Choice("pooling", ["flatten", "gap"], default="flatten")
    if progressive and pooling == "flatten":
        raise UserError(f"progressive_resize={progressive} needs pooling=gap: a flatten head takes faces of one side "
                        "only (add --fix pooling=gap)")
    x = keras.layers.Flatten()(x) if pooling == "flatten" else keras.layers.GlobalAveragePooling2D()(x)
    units = hp.Choice("dense_units", [0, 64, 128, 256, 512], default=256)
    if units:
        x = keras.layers.Dense(units, activation="relu", kernel_initializer="he_normal")(x)
    outputs = classifier_head(x, options.num_classes, dropout)
    return compile_with_recipe(keras.Model(inputs, outputs, name="cnn"), hp, whitening=True)


SPACE = Space("cnn", build, __doc__, key_hps=KEY_HPS, quick_fix=QUICK_FIX, pinned_only=PINNED_ONLY, legacy=(
    LegacyRebuild("trials saved before block_dropout existed", saved_before_block_dropout,
                  build_before_block_dropout),))
