"""Grad-CAM: which part of the face drove a prediction (Selvaraju et al., 2017).

The heat map is the ReLU of the last spatial feature map weighted by the mean gradient of the
class score over it. Gradients are backend-specific, so this module dispatches on the Keras
backend (TensorFlow and PyTorch); on other backends `gradcam` raises `NotImplementedError` and
the report leaves the figure out with that reason.
"""
import keras
import numpy as np
from PIL import Image


def feature_layer(model: keras.Model) -> keras.layers.Layer:
    """The last layer whose output is still a spatial map (batch, h, w, channels) with h > 1."""
    last = None
    for layer in model.layers[1:]:
        shape = getattr(layer, "output", None) is not None and tuple(layer.output.shape)
        if shape and len(shape) == 4 and (shape[1] or 0) > 1:
            last = layer
    if last is None:
        raise ValueError(f"{model.name}: no spatial feature map to explain")
    return last


def _gradients(grad_model, x, classes):
    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf
        with tf.GradientTape() as tape:
            fmap, probs = grad_model([x], training=False)
            score = tf.reduce_sum(tf.gather(probs, classes, axis=1, batch_dims=1))
        return fmap.numpy(), tape.gradient(score, fmap).numpy()
    if backend == "torch":
        import torch
        fmap, probs = grad_model([torch.as_tensor(x)], training=False)
        score = probs.gather(1, torch.as_tensor(classes).long().to(probs.device)[:, None]).sum()
        grads = torch.autograd.grad(score, fmap)[0]
        return fmap.detach().float().cpu().numpy(), grads.float().cpu().numpy()
    raise NotImplementedError(f"Grad-CAM is implemented for the tensorflow and torch backends, not {backend}")


def gradcam(model: keras.Model, x: np.ndarray, classes: np.ndarray) -> np.ndarray:
    """Heat maps in [0, 1] at the input's height and width, one per image, for the given classes."""
    layer = feature_layer(model)
    grad_model = keras.Model(model.inputs, [layer.output, model.output])
    fmap, grads = _gradients(grad_model, x, np.asarray(classes, dtype="int32"))
    fmap, grads = fmap.astype("float32"), grads.astype("float32")
    weights = grads.mean(axis=(1, 2), keepdims=True)
    cams = np.maximum((weights * fmap).sum(axis=-1), 0.0)
    out = np.zeros(x.shape[:3], dtype="float32")
    for i, cam in enumerate(cams):
        peak = cam.max()
        cam = cam / peak if peak > 0 else cam
        out[i] = np.asarray(Image.fromarray(cam).resize((x.shape[2], x.shape[1]), Image.BILINEAR))
    return np.clip(out, 0.0, 1.0)
