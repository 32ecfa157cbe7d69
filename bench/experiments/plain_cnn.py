"""A plain Keras CNN, no harness, with the cnn space's default shape: what N epochs at batch 32 reach
on a prepared data folder. bench/experiments/plain_vs_harness.sh runs it beside the same model searched by the
harness, to tell a slow first round of the data from one of the harness.

Usage: python bench/experiments/plain_cnn.py DATA [EPOCHS]   (DATA: a folder of x_/y_ train and val .npy files)
"""
import sys
import time

import keras
import numpy as np


def load(folder: str, split: str):
    x = np.load(f"{folder}/x_{split}.npy").reshape(-1, 48, 48, 1).astype("float32") / 255
    return x, np.load(f"{folder}/y_{split}.npy")


def vgg_style(blocks: int = 3, filters: int = 32, convs: int = 2, dense: int = 256, dropout: float = 0.25):
    inputs = keras.Input((48, 48, 1))
    x = inputs
    for b in range(blocks):
        for _ in range(convs):
            x = keras.layers.Conv2D(filters * 2 ** b, 3, padding="same", use_bias=False, kernel_initializer="he_normal")(x)
            x = keras.layers.BatchNormalization(momentum=0.9)(x)
            x = keras.layers.Activation("relu")(x)
        x = keras.layers.MaxPooling2D()(x)
        x = keras.layers.Dropout(dropout)(x)
    x = keras.layers.Flatten()(x)
    x = keras.layers.Dense(dense, activation="relu", kernel_initializer="he_normal")(x)
    x = keras.layers.Dropout(dropout)(x)
    return keras.Model(inputs, keras.layers.Dense(7, activation="softmax")(x))


if __name__ == "__main__":
    folder, epochs = sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 2
    (x, y), validation = load(folder, "train"), load(folder, "val")
    keras.utils.set_random_seed(0)
    model = vgg_style()
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    start = time.time()
    model.fit(x, y, batch_size=32, epochs=epochs, validation_data=validation, verbose=2)
    print(f"plain: {time.time() - start:.0f} s")
