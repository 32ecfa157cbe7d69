"""The files of a report folder, named once, and how its JSON files are written."""
import json
from pathlib import Path

from fer.constants import REPORT_METRICS_FILE

METRICS_FILE = REPORT_METRICS_FILE
PREDICTIONS_FILE = "predictions.npz"
PER_CLASS_FILE = "per_class.csv"
REPORT_CONFIG_FILE = "report_config.json"
REPORT_ARGS = ("top", "epochs", "train_on", "tta", "time_budget", "data", "precision", "retrain_fix",
               "tta_budget", "recipe")  # the options written to report_config.json ("recipe": those the search's recipe set)


def write_json(path: Path, data) -> None:
    path.write_text(json.dumps(data, indent=2) + "\n")
