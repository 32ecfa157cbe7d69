"""Test-time augmentation: average a model's probabilities over views of each face.

`flip` averages the face and its mirror. `ten-crop` (as FER-2013's best single networks are
scored) averages the four corner crops and the centre crop of `crop` pixels and the mirror of
each. A model that trained on random crops (`crop_size`) cuts its own centre window at
inference, so for it the windows are its crop size and are padded back to 48x48 around the
centre: its centre crop then sees exactly each window, at the scale it trained on. For any other
model each window is resized back to its 48x48 input. Views are made in NumPy, so the same code
serves the report and `fer.predict`, whatever the Keras backend.
"""
import numpy as np

TTA_MODES = ("none", "flip", "ten-crop")
DEFAULT_CROP = 44  # of 48: the crop the published VGG recipe trains and tests on


def resize_matrix(src: int, dst: int) -> np.ndarray:
    """(dst, src) weights of bilinear resizing with half-pixel centres (PIL's and TF's convention)."""
    centres = (np.arange(dst) + 0.5) * src / dst - 0.5
    lo = np.clip(np.floor(centres).astype(int), 0, src - 1)
    hi = np.clip(lo + 1, 0, src - 1)
    frac = np.clip(centres - np.floor(centres), 0.0, 1.0)
    frac = np.where(centres < 0, 0.0, frac)
    m = np.zeros((dst, src))
    np.add.at(m, (np.arange(dst), lo), 1.0 - frac)
    np.add.at(m, (np.arange(dst), hi), frac)
    return m


def resize(images: np.ndarray, size: int) -> np.ndarray:
    """(N, h, w, C) images to (N, size, size, C), bilinear, rounded back to the input's dtype."""
    ry, rx = resize_matrix(images.shape[1], size), resize_matrix(images.shape[2], size)
    out = np.einsum("yh,nhwc,xw->nyxc", ry, images.astype("float32"), rx, optimize=True)
    if np.issubdtype(images.dtype, np.integer):
        info = np.iinfo(images.dtype)
        out = np.clip(np.rint(out), info.min, info.max)
    return out.astype(images.dtype)


def pad_to_centre(view: np.ndarray, h: int, w: int) -> np.ndarray:
    """A window padded (edge pixels repeated) to h x w so that a centre crop of its size, cut at
    ((h - size) // 2, (w - size) // 2) as Keras's CenterCrop cuts, returns it exactly."""
    top, left = (h - view.shape[1]) // 2, (w - view.shape[2]) // 2
    pads = ((0, 0), (top, h - view.shape[1] - top), (left, w - view.shape[2] - left), (0, 0))
    return np.pad(view, pads[:view.ndim], mode="edge")


def ten_crop_views(x: np.ndarray, crop: int = DEFAULT_CROP, model_crops: bool = False) -> list[np.ndarray]:
    """The ten views of each image: 4 corners and the centre, each also mirrored, at x's size:
    resized, or padded around the centre when the model cuts its own centre `crop` window."""
    h, w = x.shape[1], x.shape[2]
    if not 0 < crop <= min(h, w):
        raise ValueError(f"crop {crop} does not fit images of {h}x{w}")
    top, left = (h - crop) // 2, (w - crop) // 2
    corners = [(0, 0), (0, w - crop), (h - crop, 0), (h - crop, w - crop), (top, left)]
    views = []
    for y0, x0 in corners:
        view = x[:, y0:y0 + crop, x0:x0 + crop]
        if crop != h or crop != w:
            view = pad_to_centre(view, h, w) if model_crops else resize(view, h)
        views += [view, view[:, :, ::-1]]
    return views


def views(x: np.ndarray, mode: str, crop: int = DEFAULT_CROP, model_crops: bool = False) -> list[np.ndarray]:
    """The views `mode` averages over (the image alone for `none`)."""
    if mode == "none":
        return [x]
    if mode == "flip":
        return [x, x[:, :, ::-1]]
    if mode == "ten-crop":
        return ten_crop_views(x, crop, model_crops)
    raise ValueError(f"unknown TTA mode {mode!r} (expected one of {', '.join(TTA_MODES)})")


def model_crop_size(model) -> int | None:
    """The side of the centre window a saved model cuts from its input (Keras's CenterCrop, which
    our inference models put where training cropped at random), nested models included; None
    when it cuts none."""
    for layer in model.layers:
        if type(layer).__name__ == "CenterCrop":
            return int(layer.height)
        if hasattr(layer, "layers"):
            found = model_crop_size(layer)
            if found:
                return found
    return None


def tta_parts(model, mode: str = "ten-crop") -> list[tuple]:
    """[(predict, model_crop)] to average: the model itself, or, for ten-crop of an ensemble (an
    `Average` of member models, as search.report saves it) whose members cut windows of different
    sizes, each member with its own window: one set of padded views cannot fit two centre crops."""
    members = [layer for layer in model.layers if hasattr(layer, "layers")]
    if mode == "ten-crop" and type(model.layers[-1]).__name__ == "Average" and len(
            {model_crop_size(m) for m in members}) > 1:
        return [(m.predict_on_batch, model_crop_size(m)) for m in members]
    return [(model.predict_on_batch, model_crop_size(model))]


def predict_tta(predict, x: np.ndarray, mode: str, crop: int = DEFAULT_CROP,
                model_crop: int | None = None) -> np.ndarray:
    """Mean class probabilities over the views; `predict` maps a batch of faces to probabilities.

    crop: ten-crop's window, resized back to the input, for a model that cuts no window itself;
    model_crop: the window size of a model that trained on random crops and cuts its own centre
    window at inference (its views are windows of that size, padded; `crop` is then unused)."""
    total = None
    shown = views(x, mode, model_crop or crop, model_crops=model_crop is not None)
    for view in shown:
        probs = np.asarray(predict(np.ascontiguousarray(view)), dtype="float64")
        total = probs if total is None else total + probs
    return (total / len(shown)).astype("float32")
