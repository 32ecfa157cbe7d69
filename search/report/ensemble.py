"""The `ensemble` row of a report: the mean of the retrained winners' probabilities.

Ensembles are where FER-2013's best results come from (Pramerdorfer & Kampel 2016: 75.2% for
8 nets against 72.7% for the best single one). The ensemble is scored like any model: on
validation for selection, once on test for the report, with and without TTA.
"""
from pathlib import Path

import numpy as np

from fer.constants import ENSEMBLE_NAME
from fer.metrics import class_report

ENSEMBLE = ENSEMBLE_NAME


def mean_probs(members: list[np.ndarray]) -> np.ndarray:
    return np.mean(np.stack(members), axis=0).astype("float32")


def val_scores(probs: np.ndarray, y: np.ndarray) -> dict:
    """Loss (cross-entropy), accuracy and macro-F1 of class probabilities on the validation split."""
    report = class_report(y, probs.argmax(axis=1))
    picked = np.clip(probs[np.arange(len(y)), np.asarray(y, int)], 1e-7, 1.0)
    return {"loss": float(-np.log(picked).mean()), "accuracy": report["accuracy"], "macro_f1": report["macro_f1"]}


def ensemble_entry(models: list[dict], results: list[dict], y_val: np.ndarray, y_test: np.ndarray) -> tuple[dict, dict]:
    """The ensemble's record (like a model's) and its probabilities {"probs", "probs_tta"?, "val_probs"}.

    `results` are the members' evaluate() results, in the order of `models`.
    """
    from search.report.selection import unmeasured_val
    out = {"probs": mean_probs([r["probs"] for r in results])}
    val = unmeasured_val()  # members retrained on train+val: nothing held out for the ensemble either
    if all("val_probs" in r for r in results):
        out["val_probs"] = mean_probs([r["val_probs"] for r in results])
        val = val_scores(out["val_probs"], y_val)
    entry = {"name": ENSEMBLE, "members": [m["name"] for m in models], "val": val, "search_objective": None,
             "test": class_report(y_test, out["probs"].argmax(axis=1)),
             "params": int(sum(m["params"] for m in models)), "seconds": float(sum(m["seconds"] for m in models)),
             "inference_ms": float(sum(m["inference_ms"] for m in models)), "hyperparameters": {},
             "history": {}, "epochs": 0, "best_epoch": 0}
    if all("probs_tta" in r for r in results):
        out["probs_tta"] = mean_probs([r["probs_tta"] for r in results])
        entry["test_tta"] = class_report(y_test, out["probs_tta"].argmax(axis=1))
    return entry, out


def save_ensemble_model(models: list[dict], models_dir: Path) -> dict:
    """The ensemble as one Keras model (the members' saved inference models averaged by a standard
    `Average` layer), saved as ensemble.keras and ensemble.h5 beside them, so `fer.predict`,
    `--export` and plain `keras.models.load_model` use it like any winner. Returns its paths."""
    import keras

    from search.report.retrain import save_atomic
    members = []
    for i, m in enumerate(models):
        member = keras.models.load_model(m["paths"]["keras"], compile=False)
        members.append(keras.Model(member.inputs[0], member.outputs[0], name=f"member{i}_{member.name}"))
    inputs = keras.Input(tuple(members[0].inputs[0].shape[1:]), dtype=members[0].inputs[0].dtype, name="image")
    outputs = keras.layers.Average(dtype="float32", name="predictions")([member(inputs) for member in members])
    ensemble = keras.Model(inputs, outputs, name=ENSEMBLE)
    paths = {ext: str(Path(models_dir) / f"{ENSEMBLE}.{ext}") for ext in ("h5", "keras")}
    for ext in ("h5", "keras"):
        save_atomic(ensemble, Path(paths[ext]))
    return paths
