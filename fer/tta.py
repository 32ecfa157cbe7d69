"""Test-time augmentation: average a model's probabilities over views of each face.

`flip` averages the face and its mirror. `ten-crop` (as FER-2013's best single networks are
scored) averages the four corner crops and the centre crop of `crop` pixels and the mirror of
each, every crop resized back to the model's 48x48 input. Views are made in NumPy, so the same
code serves the report and `fer.predict`, whatever the Keras backend.
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


def ten_crop_views(x: np.ndarray, crop: int = DEFAULT_CROP) -> list[np.ndarray]:
    """The ten views of each image: 4 corners and the centre, each also mirrored, at x's size."""
    h, w = x.shape[1], x.shape[2]
    if not 0 < crop <= min(h, w):
        raise ValueError(f"crop {crop} does not fit images of {h}x{w}")
    top, left = (h - crop) // 2, (w - crop) // 2
    corners = [(0, 0), (0, w - crop), (h - crop, 0), (h - crop, w - crop), (top, left)]
    views = []
    for y0, x0 in corners:
        view = x[:, y0:y0 + crop, x0:x0 + crop]
        view = view if crop == h and crop == w else resize(view, h)
        views += [view, view[:, :, ::-1]]
    return views


def views(x: np.ndarray, mode: str, crop: int = DEFAULT_CROP) -> list[np.ndarray]:
    """The views `mode` averages over (the image alone for `none`)."""
    if mode == "none":
        return [x]
    if mode == "flip":
        return [x, x[:, :, ::-1]]
    if mode == "ten-crop":
        return ten_crop_views(x, crop)
    raise ValueError(f"unknown TTA mode {mode!r} (expected one of {', '.join(TTA_MODES)})")


def predict_tta(predict, x: np.ndarray, mode: str, crop: int = DEFAULT_CROP) -> np.ndarray:
    """Mean class probabilities over the views; `predict` maps a batch of faces to probabilities."""
    total = None
    shown = views(x, mode, crop)
    for view in shown:
        probs = np.asarray(predict(np.ascontiguousarray(view)), dtype="float64")
        total = probs if total is None else total + probs
    return (total / len(shown)).astype("float32")
