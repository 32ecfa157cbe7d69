"""`batch_norm_mode="adapt"`: a pretrained backbone's BatchNorm statistics re-estimated on the faces.

ImageNet's moving means and variances describe colour photos; FER's faces are grayscale crops far
from them. Before a fit, the backbone runs over a fixed sample of training faces with its
BatchNorm layers normalising by each batch, and each layer's moving statistics become the
average of its batches' (momentum k/(k+1) at batch k: a cumulative mean, as PyTorch's
`update_bn` does; Li et al. 2016, AdaBN). The layers are restored as they were (not trainable,
so they run in inference mode), and the fit then trains with, and the saved model keeps, the
faces' statistics. The sample is the same for every trial (a fixed seed), so a frozen backbone
re-estimated twice gives the same features (search.feature_cache).
"""
import keras
import numpy as np

FACES = 1024  # sampled from the training split: per-channel means over every position, a fraction of an epoch
BATCH = 64
SAMPLE_SEED = 0  # not the run's seed: the statistics depend on the backbone and the data only


def batch_norm_layers(backbone: keras.Model) -> list:
    return [layer for layer in backbone.layers if isinstance(layer, keras.layers.BatchNormalization)]


def sample(n: int, faces: int = FACES) -> np.ndarray:
    """Sorted indices of the fixed sample of `faces` out of n (all of them when fewer)."""
    return np.sort(np.random.default_rng(SAMPLE_SEED).permutation(n)[:faces])


def reestimate(path_in: keras.Model, backbone: keras.Model, x: np.ndarray, faces: int = FACES,
               batch: int = BATCH) -> int:
    """Set every BatchNorm layer of `backbone` to the statistics of the faces `x` reach it with:
    `path_in` maps faces to the backbone's input (in inference mode: no augmentation). Returns
    the number of faces used."""
    layers = batch_norm_layers(backbone)
    saved = [(layer.trainable, layer.momentum) for layer in layers]
    idx = sample(len(x), faces)
    try:
        for layer in layers:
            layer.trainable = True  # a frozen BatchNormalization ignores training=True
        for k, start in enumerate(range(0, len(idx), batch)):
            for layer in layers:
                layer.momentum = k / (k + 1)
            backbone(path_in([x[idx[start:start + batch]]], training=False), training=True)
    finally:
        for layer, (trainable, momentum) in zip(layers, saved):
            layer.trainable, layer.momentum = trainable, momentum
    return len(idx)
