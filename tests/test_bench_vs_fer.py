"""bench/bench_vs_fer_package.py's scoring on tiny synthetic faces, with two tiny hand-set models."""
import importlib.util
import zipfile
from pathlib import Path

import numpy as np
import pytest

from fer.constants import CLASS_NAMES, NUM_CLASSES

SCRIPT = Path(__file__).resolve().parents[1] / "bench" / "bench_vs_fer_package.py"
spec = importlib.util.spec_from_file_location("bench_vs_fer_package", SCRIPT)
bench = importlib.util.module_from_spec(spec)
spec.loader.exec_module(bench)

LABELS = np.array([3, 3, 3, 0, 0, 1, 5, 6])
BRIGHT = LABELS == 3  # the class-3 faces are bright (200), the others dark (50)


def faces() -> np.ndarray:
    x = np.full((len(LABELS), 48, 48, 1), 50, dtype=np.uint8)
    x[BRIGHT] = 200
    return x


def fer_like_model():
    """64x64x1 input in [-1, 1]: class 3 when the mean pixel is above 0, else class 0."""
    import keras
    inputs = keras.Input((64, 64, 1))
    dense = keras.layers.Dense(NUM_CLASSES, activation="softmax")
    outputs = dense(keras.layers.GlobalAveragePooling2D()(inputs))
    kernel = np.zeros((1, NUM_CLASSES), "float32")
    kernel[0, 3], kernel[0, 0] = 10.0, -10.0
    dense.set_weights([kernel, np.zeros(NUM_CLASSES, "float32")])
    return keras.Model(inputs, outputs)


def always_3_model():
    """48x48x1 uint8-style input: class 3 whatever the face."""
    import keras
    inputs = keras.Input((48, 48, 1))
    dense = keras.layers.Dense(NUM_CLASSES, activation="softmax")
    outputs = dense(keras.layers.GlobalAveragePooling2D()(inputs))
    dense.set_weights([np.zeros((1, NUM_CLASSES), "float32"), np.eye(NUM_CLASSES, dtype="float32")[3] * 5])
    return keras.Model(inputs, outputs)


def test_score_always_3_and_fer_like_scaling():
    ours = bench.score("ours", always_3_model().predict_on_batch, 14, faces(), LABELS, batch=3)
    assert ours["accuracy"] == pytest.approx(3 / 8)
    assert ours["recall"] == [0, 0, 0, 1, 0, 0, 0]
    f1_3 = 2 * (3 / 8) * 1 / (3 / 8 + 1)  # precision 3/8, recall 1; classes 0, 1, 3, 5, 6 present
    assert ours["macro_f1"] == pytest.approx(f1_3 / 5)
    assert ours["params"] == 14 and ours["ms"] > 0

    model = fer_like_model()  # with [0, 1] scaling (or none) every face would be class 3
    fer = bench.score("fer", bench.fer_predict(model), model.count_params(), faces(), LABELS, batch=3)
    assert fer["accuracy"] == pytest.approx(5 / 8)
    assert fer["recall"] == [1, 0, 0, 1, 0, 0, 0]
    assert "fer" in bench.table([fer, ours]).splitlines()[1]


def test_fer_labels_read_from_the_wheel(tmp_path):
    wheel = tmp_path / "fer-0-py3-none-any.whl"
    names = ", ".join(f'{i}: "{n}"' for i, n in reversed(list(enumerate(CLASS_NAMES))))
    with zipfile.ZipFile(wheel, "w") as zf:
        zf.writestr(bench.FER_SOURCE_IN_WHEEL, f"class FER:\n    def _get_labels():\n        return {{{names}}}\n\n"
                                               f"    def other(self):\n        return {{0: \"x\"}}\n")
    assert bench.fer_labels(wheel) == CLASS_NAMES
