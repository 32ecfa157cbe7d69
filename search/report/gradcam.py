"""Grad-CAM: which part of the face drove a prediction (Selvaraju et al., 2017).

The heat map is the ReLU of a spatial feature map weighted by the mean gradient of the class
score over it. The map explained is the last one that depends on learned weights, looked for
inside nested models too: a backbone such as MobileNetV2 ends in global pooling, so in the outer
model the last spatial map is the input rescaling, upstream of every weight, whose heat map
would say nothing. The model is split at that map into `features` (input -> map) and `head`
(map -> probabilities), and the gradient is taken with respect to the map itself, so it exists
even when every weight before the map is frozen.

Gradients are backend-specific, so this module dispatches on the Keras backend (TensorFlow and
PyTorch); on other backends `gradcam` raises `NotImplementedError` and the report leaves the
figure out with that reason.
"""
import keras
import numpy as np
from PIL import Image


def _is_spatial(layer) -> bool:
    shape = tuple(layer.output.shape)
    return len(shape) == 4 and (shape[1] or 0) > 1


def _depends_on_weights(model: keras.Model, layer) -> bool:
    """Whether any layer between the model's input and this layer's output has weights."""
    return bool(keras.Model(model.input, layer.output).weights)


def feature_path(model: keras.Model) -> list[str]:
    """Layer names leading to the map to explain: [layer] in a flat model, [backbone, layer] when the
    map lies inside a nested model; raises ValueError when the model has no such map."""
    for layer in reversed(model.layers):
        if isinstance(layer, keras.layers.InputLayer):
            continue
        if isinstance(layer, keras.Model):
            try:
                return [layer.name, *feature_path(layer)]
            except ValueError:
                continue  # a nested block without a weighted spatial map (augmentation, say)
        elif _is_spatial(layer) and _depends_on_weights(model, layer):
            return [layer.name]
    raise ValueError(f"{model.name}: no spatial feature map that depends on learned weights")


def feature_layer(model: keras.Model) -> keras.layers.Layer:
    """The layer whose output Grad-CAM explains, however deeply nested."""
    layer = model
    for name in feature_path(model):
        layer = layer.get_layer(name)
    return layer


def split_at(model: keras.Model, path: list[str]) -> tuple[keras.Model, keras.Model]:
    """(features, head): the model cut at the map `path` names, sharing the model's layers.

    A nested model on the path is replaced, in a clone of the outer graph that reuses every layer,
    by its own two halves, so the map becomes a tensor of the outer graph.
    """
    if len(path) == 1:
        fmap = model.get_layer(path[0]).output
        return keras.Model(model.input, fmap), keras.Model(fmap, model.output)
    nested = model.get_layer(path[0])
    lower, upper = split_at(nested, path[1:])
    maps = []

    def call(layer, *args, **kwargs):
        if layer is not nested:
            return layer(*args, **kwargs)
        maps.append(lower(*args, **kwargs))
        return upper(maps[-1], **kwargs)

    clone = keras.models.clone_model(model, clone_function=lambda layer: layer, call_function=call)
    return keras.Model(clone.input, maps[0]), keras.Model(maps[0], clone.output)


def _gradients(features, head, x, classes):
    """The feature maps and the gradient of each image's class score with respect to its map."""
    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf
        fmap = tf.convert_to_tensor(features(x, training=False))
        with tf.GradientTape() as tape:
            tape.watch(fmap)
            probs = head(fmap, training=False)
            score = tf.reduce_sum(tf.gather(probs, classes, axis=1, batch_dims=1))
        return fmap.numpy(), tape.gradient(score, fmap).numpy()
    if backend == "torch":
        import torch
        fmap = features(torch.as_tensor(x), training=False).detach().requires_grad_(True)
        probs = head(fmap, training=False)
        score = probs.gather(1, torch.as_tensor(classes).long().to(probs.device)[:, None]).sum()
        grads = torch.autograd.grad(score, fmap)[0]
        return fmap.detach().float().cpu().numpy(), grads.float().cpu().numpy()
    raise NotImplementedError(f"Grad-CAM is implemented for the tensorflow and torch backends, not {backend}")


def gradcam(model: keras.Model, x: np.ndarray, classes: np.ndarray, crop: int | None = None) -> np.ndarray:
    """Heat maps in [0, 1] at the input's height and width, one per image, for the given classes.

    crop: the centre window a model that trained on random crops sees at inference; its maps cover
    that window, where they are placed (what lies outside it, the model never saw: 0)."""
    features, head = split_at(model, feature_path(model))
    fmap, grads = _gradients(features, head, x, np.asarray(classes, dtype="int32"))
    fmap, grads = fmap.astype("float32"), grads.astype("float32")
    weights = grads.mean(axis=(1, 2), keepdims=True)
    cams = np.maximum((weights * fmap).sum(axis=-1), 0.0)
    out = np.zeros(x.shape[:3], dtype="float32")
    height, width = (crop, crop) if crop else x.shape[1:3]
    top, left = (x.shape[1] - height) // 2, (x.shape[2] - width) // 2
    for i, cam in enumerate(cams):
        peak = cam.max()
        cam = cam / peak if peak > 0 else cam
        out[i, top:top + height, left:left + width] = np.asarray(Image.fromarray(cam).resize((width, height),
                                                                                              Image.BILINEAR))
    return np.clip(out, 0.0, 1.0)
