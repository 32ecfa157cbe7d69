"""Synthetic FER-like demo data: drawn 48x48 grayscale faces, no download needed.

Each class has its own expression, drawn from a few features a CNN can learn: mouth curve,
width and opening, brow height and slope, eye openness (and nose wrinkles for disgust). Pose
(shift, scale, rotation), lighting, contrast and noise are jittered, and every feature is
perturbed per face, so classes overlap a little, as real ones do. Class frequencies follow
FER-2013's, with disgust kept rare. Deterministic for a seed. This is NOT FER-2013: it exists so
the whole pipeline can run end to end on a fresh machine.
"""
import numpy as np

from fer.constants import CLASS_NAMES, IMAGE_SIZE
from fer.raw import RawData

# Per-class expression: eye half-height, brow raise (negative = up), brow slope (positive =
# inner ends down, a frown), mouth curve (positive = smile), mouth width, mouth opening,
# mouth tilt (asymmetry), nose wrinkle.
EXPRESSIONS = {
    "angry":    dict(eye=0.045, brow=0.06, slope=0.55, curve=-0.4, width=0.22, open=0.00, tilt=0.0, wrinkle=0),
    "disgust":  dict(eye=0.035, brow=0.04, slope=0.30, curve=-0.2, width=0.26, open=0.02, tilt=0.5, wrinkle=1),
    "fear":     dict(eye=0.110, brow=-0.06, slope=-0.35, curve=-0.3, width=0.27, open=0.06, tilt=0.0, wrinkle=0),
    "happy":    dict(eye=0.050, brow=0.00, slope=0.00, curve=1.00, width=0.32, open=0.02, tilt=0.0, wrinkle=0),
    "sad":      dict(eye=0.050, brow=-0.01, slope=-0.50, curve=-0.9, width=0.24, open=0.00, tilt=0.0, wrinkle=0),
    "surprise": dict(eye=0.130, brow=-0.11, slope=0.00, curve=0.00, width=0.15, open=0.14, tilt=0.0, wrinkle=0),
    "neutral":  dict(eye=0.070, brow=0.00, slope=0.00, curve=0.00, width=0.25, open=0.00, tilt=0.0, wrinkle=0),
}
# FER-2013 training frequencies, with disgust floored so the demo still has some.
CLASS_FREQ = np.array([3995, 1200, 4097, 7215, 4830, 3171, 4965], dtype=float)
DEMO_SIZES = {"train": 2400, "val": 500, "test": 500}
FEATURE_JITTER = 0.18  # relative per-face perturbation of every feature

_GRID = np.linspace(-1, 1, IMAGE_SIZE)
_XX, _YY = np.meshgrid(_GRID, _GRID)


def draw_face(expr: dict, rng: np.random.Generator) -> np.ndarray:
    """One 48x48 uint8 face with the given expression, under random pose and lighting."""
    j = {k: v * (1 + FEATURE_JITTER * rng.standard_normal()) + 0.02 * rng.standard_normal() * (k in ("brow", "curve", "slope"))
         for k, v in expr.items()}
    angle = np.deg2rad(rng.uniform(-12, 12))
    scale = rng.uniform(0.85, 1.1)
    cx, cy = rng.uniform(-0.08, 0.08, size=2)
    dx, dy = _XX - cx, _YY - cy
    u = (dx * np.cos(angle) + dy * np.sin(angle)) / scale
    v = (-dx * np.sin(angle) + dy * np.cos(angle)) / scale

    skin, dark = rng.uniform(130, 210), rng.uniform(15, 60)
    light = 1 + rng.uniform(-0.25, 0.25) * _XX + rng.uniform(-0.15, 0.15) * _YY
    img = np.full(u.shape, rng.uniform(20, 100)) + rng.uniform(-20, 20) * _YY
    face = (u / 0.72) ** 2 + (v / 0.92) ** 2 < 1
    img[face] = skin * light[face]

    au = np.abs(u)
    eyes = ((au - 0.3) / 0.13) ** 2 + ((v + 0.18) / max(j["eye"], 0.015)) ** 2 < 1
    brow_v = -0.36 + j["brow"] + j["slope"] * 0.5 * (0.45 - au)
    brows = (np.abs(v - brow_v) < 0.045) & (au > 0.12) & (au < 0.5)
    w = max(j["width"], 0.08)
    mouth_v = 0.48 + 0.12 * j["curve"] * (1 - (u / w) ** 2) - 0.12 * j["curve"] * 0.5 + 0.1 * j["tilt"] * u / w
    mouth = (np.abs(v - mouth_v) < 0.04) & (au < w)
    if j["open"] > 0.015:
        mouth |= (u / (w * 0.8)) ** 2 + ((v - 0.5) / j["open"]) ** 2 < 1
    nose = (np.abs(u) < 0.04) & (v > -0.05) & (v < 0.22)
    features = eyes | brows | mouth
    if expr["wrinkle"]:
        features |= (np.abs(v - 0.1 + 0.3 * au) < 0.025) & (au > 0.06) & (au < 0.2)
    img[features] = dark
    img[nose & face] *= 0.8
    img += rng.normal(0, rng.uniform(3, 12), size=img.shape)
    return np.clip(img, 0, 255).astype(np.uint8)


def make_demo(seed: int = 0, sizes: dict[str, int] | None = None) -> RawData:
    """The demo dataset, already split (it has its own official split, like FER-2013)."""
    sizes = sizes or DEMO_SIZES
    rng = np.random.default_rng(seed)
    freq = CLASS_FREQ / CLASS_FREQ.sum()
    xs, ys, splits = [], [], []
    for split, n in sizes.items():
        counts = np.maximum(1, np.round(freq * n).astype(int))
        labels = rng.permutation(np.repeat(np.arange(len(CLASS_NAMES)), counts))
        for label in labels:
            xs.append(draw_face(EXPRESSIONS[CLASS_NAMES[label]], rng))
        ys.append(labels)
        splits += [split] * len(labels)
    return RawData(x=np.stack(xs)[..., None], y=np.concatenate(ys).astype(np.uint8),
                   split=np.array(splits), kind="demo")
