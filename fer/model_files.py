"""A saved model to classify faces with: a file, or the best winner of a reported search.

`--run tuner_runs/<name>` reads two JSON files directly (fer imports nothing from search/):
the search's config.json (that the folder is a search), then reports/<name>/metrics.json,
whose "best" names the winner and whose "paths" say where search.report saved it. Reports are
named after the run's folder (a copied folder has its own), as search.report writes them.
"""
import json
import os
from pathlib import Path

from fer.constants import ENSEMBLE_NAME, IMAGE_SHAPE, MODELS_DIR, NUM_CLASSES, REPORT_METRICS_FILE, REPORTS_DIR, RUN_CONFIG_FILE
from fer.errors import UserError

MODEL_SUFFIXES = (".keras", ".h5")


def read_json(path: Path, hint: str) -> dict:
    if not path.is_file():
        raise UserError(f"{path}: not found; {hint}")
    try:
        return json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise UserError(f"{path}: not valid JSON ({e}); {hint}") from None


def run_name(run) -> str:
    """The name of a run's report and winners, reports/<name>/ and models/<name>/: its folder's name
    (tuner_runs/<name>, also when given as `.`), whatever project name its config.json records."""
    return Path(os.path.abspath(run)).name


def best_model_path(run) -> Path:
    """The .keras (else .h5) file of a search's best retrained winner, from its report.

    The project's root is the folder above tuner_runs/, so this works from any directory.
    """
    run = Path(run)
    root = run.parent.parent
    read_json(run / RUN_CONFIG_FILE, "--run takes a search folder, tuner_runs/<project>")
    project = run_name(run)
    report_hint = f"report on the search first: python -m search.report --run {run}"
    metrics_path = root / REPORTS_DIR / project / REPORT_METRICS_FILE
    metrics = read_json(metrics_path, report_hint)
    best = metrics.get("best")
    entry = next((m for m in metrics.get("models", []) if m.get("name") == best), None)
    if entry is None:
        raise UserError(f"{metrics_path}: names no best model; {report_hint}")
    paths = entry.get("paths", {})
    candidates = [root / paths[ext] for ext in ("keras", "h5") if ext in paths]  # as saved: relative to the root
    candidates += [root / MODELS_DIR / project / f"{best}{suffix}" for suffix in MODEL_SUFFIXES]
    for path in candidates:
        if path.is_file():
            return path
    raise UserError(f"{candidates[0]}: the best model of {metrics_path} is missing; {report_hint}")


def ensemble_model_path(report) -> Path:
    """The .keras (else .h5) file of a report's ensemble, reports/<project>/ (its metrics.json names it)."""
    report = Path(report)
    metrics_path = report / REPORT_METRICS_FILE
    metrics = read_json(metrics_path, "--ensemble takes a report folder, reports/<project>")
    entry = next((m for m in metrics.get("models", []) if m.get("name") == ENSEMBLE_NAME), None)
    if entry is None or not entry.get("paths"):
        raise UserError(f"{metrics_path}: this report has no saved ensemble (it needs --top 2 or more)")
    root = report.parent.parent  # paths are saved relative to the project's root
    for ext in ("keras", "h5"):
        for path in (Path(entry["paths"].get(ext, "")), root / entry["paths"].get(ext, "")):
            if ext in entry["paths"] and path.is_file():
                return path
    raise UserError(f"{entry['paths'].get('keras')}: the ensemble of {metrics_path} is missing; report again")


def load_model(path):
    """A saved model that takes (N, 48, 48, 1) uint8 faces and gives 7 probabilities, uncompiled."""
    import keras
    path = Path(path)
    if not path.is_file():
        raise UserError(f"{path}: no such model file")
    if path.suffix not in MODEL_SUFFIXES:
        raise UserError(f"{path}: not a Keras model file (expected {' or '.join(MODEL_SUFFIXES)})")
    try:
        model = keras.models.load_model(path, compile=False)
    except Exception as e:  # noqa: BLE001 - whatever Keras raises, the user's remedy is the same
        reason = " ".join(str(e).split())[:200]
        raise UserError(f"{path}: cannot be loaded ({type(e).__name__}: {reason}); a model saved by an older "
                        f"search.report needs this project's layers: re-run search.report to save it again") from None
    if tuple(model.input_shape[1:]) != IMAGE_SHAPE or model.output_shape[-1] != NUM_CLASSES:
        raise UserError(f"{path}: takes {model.input_shape[1:]} and gives {model.output_shape[-1]} values; "
                        f"a FER model takes {IMAGE_SHAPE} faces and gives {NUM_CLASSES} probabilities")
    return model
