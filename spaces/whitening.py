"""A frozen patch-whitening first layer, as in the CIFAR-10 speedrun (Jordan, arXiv 2404.00498).

A `side` x `side` convolution (no padding) whose filters are the eigenvectors of the covariance of
the training faces' patches, each divided by sqrt(eigenvalue + eps), with the bias that subtracts the
mean patch: on the faces it was fitted on, its outputs are uncorrelated, of mean zero and variance
near one, so the first trainable layer starts from well-conditioned inputs. It is never trained.

It is a plain Keras Conv2D with trainable=False, so a saved model loads anywhere. Its weights are
fitted before training by `fit_whitening`, which the training core calls on every model it fits
(a model without the layer is left alone). Taken with `--fix patch_whitening=2` (or 3) by the spaces
trained from scratch; 0, the default, leaves the network as it was (`spaces.speedrun`).
"""
import keras
import numpy as np

WHITENING = "patch_whitening"  # the hyperparameter, and the layer's name
PATCH_SIDES = (2, 3)  # what --fix may give (the speedrun's is 2); 0: no layer
# eps as a fraction of the mean eigenvalue: the speedrun's 5e-4 on pixels of unit variance, so
# directions of almost no variance (flat patches' high frequencies) are not blown up into noise
EPS_FRACTION = 5e-4
FIT_FACES = 5000  # faces the patches are taken from, as the speedrun's 5000 training images
CHUNK = 250  # faces per pass when summing the patches' moments


def whitening_layer(side: int, channels: int) -> keras.layers.Conv2D:
    """The layer, unfitted: side*side*channels filters, one per direction of patch space."""
    return keras.layers.Conv2D(side * side * channels, side, padding="valid", trainable=False, name=WHITENING)


def patches(images: np.ndarray, side: int) -> np.ndarray:
    """Every side x side patch of (N, H, W, C) images as rows (kh, kw, c), Conv2D's kernel order."""
    windows = np.lib.stride_tricks.sliding_window_view(images, (side, side), axis=(1, 2))  # N, H', W', C, kh, kw
    return windows.transpose(0, 1, 2, 4, 5, 3).reshape(-1, side * side * images.shape[-1])


def patch_moments(images: np.ndarray, side: int) -> tuple[np.ndarray, np.ndarray]:
    """The mean patch and the patches' covariance, summed in float64 a chunk of faces at a time."""
    total, outer, count = 0.0, 0.0, 0
    for start in range(0, len(images), CHUNK):
        rows = patches(images[start:start + CHUNK], side).astype("float64")
        total, outer, count = total + rows.sum(axis=0), outer + rows.T @ rows, count + len(rows)
    mean = total / count
    return mean, outer / count - np.outer(mean, mean)


def whitening_weights(images: np.ndarray, side: int) -> tuple[np.ndarray, np.ndarray]:
    """(kernel (side, side, C, side*side*C), bias) whitening the patches of `images`; filters in
    order of falling eigenvalue."""
    mean, covariance = patch_moments(images, side)
    eigenvalues, eigenvectors = np.linalg.eigh(covariance)  # rising
    eigenvalues, eigenvectors = eigenvalues[::-1].clip(min=0.0), eigenvectors[:, ::-1]
    eps = EPS_FRACTION * max(float(eigenvalues.mean()), np.finfo("float32").tiny)
    matrix = eigenvectors / np.sqrt(eigenvalues + eps)  # patch row @ matrix: whitened
    kernel = matrix.reshape(side, side, images.shape[-1], -1)
    return kernel.astype("float32"), (-mean @ matrix).astype("float32")


def fit_whitening(model: keras.Model, x: np.ndarray, seed: int = 0) -> int:
    """Fit every whitening layer of `model` on up to FIT_FACES of the training faces `x` (a seeded
    sample, so a refit gives the same weights), as they reach the layer at inference (scaled, the
    centre crop, no augmentation). Returns how many layers were fitted."""
    layers = [layer for layer in model.layers if layer.name == WHITENING]
    if not layers:
        return 0
    rng = np.random.default_rng(seed)
    sample = np.sort(rng.choice(len(x), size=min(FIT_FACES, len(x)), replace=False))
    for layer in layers:
        inputs = keras.Model(model.inputs, layer.input).predict(x[sample], batch_size=CHUNK, verbose=0)
        layer.set_weights(list(whitening_weights(np.asarray(inputs, "float32"), layer.kernel_size[0])))
    return len(layers)
