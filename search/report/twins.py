"""Test images with a byte-identical twin in train or val, and the scores without them.

FER-2013 holds hundreds of duplicate images across its splits (`python -m fer.audit` lists
them). A model that memorised a training image gets its test twin right for free, so every
report states how many test images have such a twin and scores each model also on the test
images without one: the gap shows how much memorisation flatters the test score. Images are
compared by the same pixel hash as `fer.audit`.
"""
import numpy as np

from fer.audit import image_digests
from fer.metrics import class_report


def twin_mask(data: dict) -> np.ndarray:
    """True for each test image with a byte-identical image in the train or val split."""
    seen = set(image_digests(data["train"][0])) | set(image_digests(data["val"][0]))
    return np.array([d in seen for d in image_digests(data["test"][0])], dtype=bool)


def scores_without_twins(y: np.ndarray, probs: np.ndarray, twins: np.ndarray) -> dict:
    """Accuracy and macro-F1 on the test images without a twin (None when every one has a twin)."""
    keep = ~np.asarray(twins, bool)
    if not keep.any():
        return {"n": 0, "accuracy": None, "macro_f1": None}
    report = class_report(np.asarray(y)[keep], np.asarray(probs)[keep].argmax(axis=1))
    return {"n": int(keep.sum()), "accuracy": report["accuracy"], "macro_f1": report["macro_f1"]}


def twins_sentence(twins: int, images: int) -> str:
    """What the page and the console say about the test split's twins."""
    return (f"{twins} of {images} test images have a byte-identical twin in train or val; the "
            f"'without twins' columns score the other {images - twins}.")
