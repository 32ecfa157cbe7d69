"""`search.report --export saved_model tflite`: the best winner for serving and for mobile.

The best model (metrics.json's "best", saved as an inference model by retrain.py) is read back
from its .keras file and written beside it in models/<project>/: `best_saved_model/` by
`model.export(format="tf_saved_model")`, and `best.tflite` converted from that SavedModel by
TensorFlow Lite. Both need TensorFlow, so any other Keras backend is refused before training.
Each is written under a temporary name and renamed when complete.
"""
import os
import tempfile
from pathlib import Path

from fer.errors import UserError

EXPORT_FORMATS = ("saved_model", "tflite")
SAVED_MODEL_DIR = "best_saved_model"
TFLITE_FILE = "best.tflite"


def check_export(formats) -> None:
    """Refuse --export on a backend other than TensorFlow (one line, before any training)."""
    from search.tf_memory import on_tensorflow
    if formats and not on_tensorflow():
        import keras
        raise UserError(f"--export {' '.join(formats)} needs the TensorFlow backend (KERAS_BACKEND=tensorflow); "
                        f"this run uses {keras.backend.backend()}")


def best_entry(meta: dict) -> dict:
    return next(m for m in meta["models"] if m["name"] == meta["best"])


def export_saved_model(model, dest: Path) -> Path:
    from fer.cache import atomic_dir
    with atomic_dir(dest) as tmp:
        model.export(str(tmp), format="tf_saved_model", verbose=False)
    return dest


def export_tflite(saved_model: Path, dest: Path) -> Path:
    import tensorflow as tf
    data = tf.lite.TFLiteConverter.from_saved_model(str(saved_model)).convert()
    tmp = dest.with_name(f".{dest.name}.tmp-{os.getpid()}")
    tmp.write_bytes(data)
    os.replace(tmp, dest)
    return dest


def export_best(meta: dict, models_dir, formats) -> list[Path]:
    """Write the requested formats of the report's best model; returns what was written."""
    import keras
    check_export(formats)
    folder = Path(models_dir) / meta["project"]
    model = keras.models.load_model(best_entry(meta)["paths"]["keras"], compile=False)
    written = []
    if "saved_model" in formats:
        written.append(export_saved_model(model, folder / SAVED_MODEL_DIR))
    if "tflite" in formats:
        if written:
            written.append(export_tflite(written[0], folder / TFLITE_FILE))
        else:
            with tempfile.TemporaryDirectory(dir=folder) as tmp:
                written.append(export_tflite(export_saved_model(model, Path(tmp) / SAVED_MODEL_DIR),
                                             folder / TFLITE_FILE))
    return written
