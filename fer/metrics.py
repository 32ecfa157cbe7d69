"""Class-wise metrics for FER: macro-F1 as a Keras metric, and per-class reports in NumPy.

Accuracy hides the rare classes (disgust is 1.5% of FER-2013), so macro-F1 is tracked every
epoch. As a Keras metric it accumulates a confusion matrix during Keras' own validation pass:
`val_macro_f1` costs no extra forward pass and is an objective keras-tuner can optimise.
"""
import keras
import numpy as np
from keras import ops

from fer.constants import CLASS_NAMES, NUM_CLASSES


def f1_from_confusion(cm):
    """Macro-F1 over the classes present in truth or predictions (scikit-learn's default)."""
    tp = ops.diagonal(cm)
    true_n, pred_n = ops.sum(cm, axis=1), ops.sum(cm, axis=0)
    f1 = ops.divide_no_nan(2.0 * tp, true_n + pred_n)
    present = ops.cast((true_n + pred_n) > 0, cm.dtype)
    return ops.divide_no_nan(ops.sum(f1 * present), ops.sum(present))


def is_soft(y_true, num_classes: int) -> bool:
    """Whether targets are class probabilities (N, K), e.g. mixup's, rather than labels (N,) or (N, 1)."""
    return len(y_true.shape) == 2 and y_true.shape[-1] == num_classes and num_classes > 1


@keras.saving.register_keras_serializable(package="fer")
class MacroF1(keras.metrics.Metric):
    """Macro-averaged F1 for integer labels (or soft targets, by their dominant class) and
    class-probability predictions."""

    def __init__(self, num_classes: int = NUM_CLASSES, name: str = "macro_f1", **kwargs):
        super().__init__(name=name, **kwargs)
        self.num_classes = num_classes
        self.confusion = self.add_variable(shape=(num_classes, num_classes), initializer="zeros",
                                           name="confusion", dtype="float32")

    def update_state(self, y_true, y_pred, sample_weight=None):
        if is_soft(y_true, self.num_classes):
            y_true = ops.argmax(y_true, axis=-1)  # mixup's soft targets
        true = ops.one_hot(ops.cast(ops.reshape(y_true, (-1,)), "int32"), self.num_classes, dtype="float32")
        pred = ops.one_hot(ops.argmax(y_pred, axis=-1), self.num_classes, dtype="float32")
        self.confusion.assign_add(ops.matmul(ops.transpose(true), pred))

    def result(self):
        return f1_from_confusion(self.confusion)

    def reset_state(self):
        self.confusion.assign(ops.zeros((self.num_classes, self.num_classes)))

    def get_config(self):
        return {**super().get_config(), "num_classes": self.num_classes}


def confusion_matrix(y_true, y_pred, num_classes: int = NUM_CLASSES) -> np.ndarray:
    cm = np.zeros((num_classes, num_classes), dtype=np.int64)
    np.add.at(cm, (np.asarray(y_true, int), np.asarray(y_pred, int)), 1)
    return cm


def macro_f1(y_true, y_pred, num_classes: int = NUM_CLASSES) -> float:
    return float(ops.convert_to_numpy(f1_from_confusion(
        ops.convert_to_tensor(confusion_matrix(y_true, y_pred, num_classes), "float32"))))


def class_report(y_true, y_pred, class_names=CLASS_NAMES) -> dict:
    """Accuracy, macro- and weighted-F1, per-class precision/recall/F1/support, confusion matrix.

    Definitions follow scikit-learn's `classification_report` (a class never predicted has
    precision 0), so the numbers can be checked against it.
    """
    cm = confusion_matrix(y_true, y_pred, len(class_names))
    tp = np.diag(cm).astype(float)
    support, predicted = cm.sum(axis=1), cm.sum(axis=0)
    precision = np.divide(tp, predicted, out=np.zeros_like(tp), where=predicted > 0)
    recall = np.divide(tp, support, out=np.zeros_like(tp), where=support > 0)
    denom = precision + recall
    f1 = np.divide(2 * precision * recall, denom, out=np.zeros_like(tp), where=denom > 0)
    total = max(int(support.sum()), 1)
    present = (support + predicted) > 0
    return {
        "images": int(support.sum()),
        "accuracy": float(tp.sum() / total),
        "macro_f1": float(f1[present].mean()) if present.any() else 0.0,
        "weighted_f1": float((f1 * support).sum() / total),
        "per_class": [{"class": name, "precision": float(p), "recall": float(r), "f1": float(f), "support": int(s)}
                      for name, p, r, f, s in zip(class_names, precision, recall, f1, support)],
        "confusion_matrix": cm.tolist(),
    }


def strongest_and_weakest(report: dict, n: int = 2) -> tuple[list[str], list[str]]:
    """The classes with the highest and lowest F1 (ties broken by recall), for the report's summary."""
    rows = sorted((r for r in report["per_class"] if r["support"]), key=lambda r: (r["f1"], r["recall"]))
    return [r["class"] for r in rows[::-1][:n]], [r["class"] for r in rows[:n]]
