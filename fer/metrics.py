"""Class-wise metrics for FER: macro-F1 as a Keras metric, and per-class reports in NumPy.

Accuracy hides the rare classes (disgust is 1.5% of FER-2013), so macro-F1 is tracked every
epoch. As a Keras metric it accumulates a confusion matrix during Keras' own validation pass:
`val_macro_f1` costs no extra forward pass and is an objective keras-tuner can optimise.
"""
import keras
import numpy as np
from keras import ops

from fer.constants import NUM_CLASSES


def f1_from_confusion(cm):
    """Macro-F1 over the classes present in truth or predictions (scikit-learn's default)."""
    tp = ops.diagonal(cm)
    true_n, pred_n = ops.sum(cm, axis=1), ops.sum(cm, axis=0)
    f1 = ops.divide_no_nan(2.0 * tp, true_n + pred_n)
    present = ops.cast((true_n + pred_n) > 0, cm.dtype)
    return ops.divide_no_nan(ops.sum(f1 * present), ops.sum(present))


@keras.saving.register_keras_serializable(package="fer")
class MacroF1(keras.metrics.Metric):
    """Macro-averaged F1 for sparse integer labels and class-probability predictions."""

    def __init__(self, num_classes: int = NUM_CLASSES, name: str = "macro_f1", **kwargs):
        super().__init__(name=name, **kwargs)
        self.num_classes = num_classes
        self.confusion = self.add_variable(shape=(num_classes, num_classes), initializer="zeros",
                                           name="confusion", dtype="float32")

    def update_state(self, y_true, y_pred, sample_weight=None):
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
