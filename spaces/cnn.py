"""`cnn`: a VGG-style CNN with tunable depth and width, after the seed experiments' deeper CNN.

Blocks of `convs_per_block` 3x3 convolutions (optionally batch-normalised), max-pooling and
dropout; filters double per block from `filters` up to 256; then a dense layer and the head.
"""
import keras

from spaces.common import (OPTIMIZERS, SpaceOptions, class_weighting_choice, classifier_head,
                           compile_classifier, inputs_scaled, learning_rate)

MAX_FILTERS = 256
KEY_HPS = ("conv_blocks", "filters", "learning_rate", "augment")  # leaderboard columns
# Moving statistics settle within tens of steps (Keras default 0.99 needs hundreds): short
# trials on small data are judged on a model whose inference statistics are already usable.
BN_MOMENTUM = 0.9


def build(hp, options: SpaceOptions | None = None) -> keras.Model:
    options = options or SpaceOptions()
    inputs, x = inputs_scaled(hp, options, augment_default="light")
    class_weighting_choice(hp)
    blocks = hp.Int("conv_blocks", 2, 5, default=3)
    filters = hp.Choice("filters", [16, 32, 64], default=32)
    convs = hp.Int("convs_per_block", 1, 3, default=2)
    batch_norm = hp.Boolean("batch_norm", default=True)
    dropout = hp.Float("dropout", 0.0, 0.5, step=0.05, default=0.25)
    for b in range(blocks):
        width = min(filters * 2 ** b, MAX_FILTERS)
        for _ in range(convs):
            x = keras.layers.Conv2D(width, 3, padding="same", use_bias=not batch_norm)(x)
            if batch_norm:
                x = keras.layers.BatchNormalization(momentum=BN_MOMENTUM)(x)
            x = keras.layers.Activation("relu")(x)
        x = keras.layers.MaxPooling2D(padding="same")(x)
        if dropout > 0:
            x = keras.layers.Dropout(dropout)(x)
    x = keras.layers.Flatten()(x)
    x = keras.layers.Dense(hp.Choice("dense_units", [64, 128, 256, 512], default=256), activation="relu")(x)
    outputs = classifier_head(x, options.num_classes, dropout)
    model = keras.Model(inputs, outputs, name="cnn")
    return compile_classifier(model, hp.Choice("optimizer", OPTIMIZERS, default="adam"), learning_rate(hp))
