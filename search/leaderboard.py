"""The leaderboard: one row per trial, from keras-tuner's own records plus our timings.

`leaderboard.csv` is rewritten (atomically) after every trial, so it is always complete and
matches the oracle; the console draws the same rows.
"""
import csv
import io
import json
import math
from pathlib import Path

from fer.cache import atomic_write_text
from search.config import LEADERBOARD_FILE, PROGRESS_FILE, TRIAL_INFO_FILE

BASE_COLUMNS = ["trial_id", "status", "objective", "val_accuracy", "val_macro_f1", "val_loss",
                "epochs", "seconds", "cut_by_budget", "weights", "precision", "bracket", "round", "reason"]
TUNER_PREFIX = "tuner/"


def _best(trial, name: str):
    try:
        value = trial.metrics.get_best_value(name) if trial.metrics.exists(name) else None
    except (ValueError, KeyError):
        value = None
    return None if value is None or (isinstance(value, float) and math.isnan(value)) else float(value)


def reason_of(trial) -> str:
    """The last line of a failed trial's traceback: what went wrong, in one line."""
    message = (getattr(trial, "message", None) or "").strip()
    return message.splitlines()[-1] if message else ""


def searched_values(values: dict) -> dict:
    """A trial's hyperparameters without keras-tuner's own bookkeeping (`tuner/epochs` and the like)."""
    return {k: v for k, v in values.items() if not k.startswith(TUNER_PREFIX)}


def trial_dir(project_dir: Path, trial_id: str) -> Path:
    """keras-tuner's folder of a trial (trial.json, checkpoints); our per-trial files live there too."""
    return Path(project_dir) / f"trial_{trial_id}"


def trial_rows(oracle, info: dict) -> list[dict]:
    rows = []
    for trial_id, trial in sorted(oracle.trials.items()):
        values = trial.hyperparameters.values
        extra = info.get(trial_id, {})
        row = {
            "trial_id": trial_id,
            "status": trial.status,
            "objective": None if trial.score is None else float(trial.score),
            "val_accuracy": _best(trial, "val_accuracy"),
            "val_macro_f1": _best(trial, "val_macro_f1"),
            "val_loss": _best(trial, "val_loss"),
            "epochs": extra.get("epochs"),
            "seconds": extra.get("seconds"),
            "cut_by_budget": "yes" if extra.get("cut_by_budget") else "",
            "weights": extra.get("weights", ""),
            "precision": extra.get("precision", ""),
            "bracket": values.get(f"{TUNER_PREFIX}bracket", ""),
            "round": values.get(f"{TUNER_PREFIX}round", ""),
            "reason": reason_of(trial) if trial.status in ("FAILED", "INVALID") else "",
        }
        row.update(searched_values(values))
        rows.append(row)
    return rows


def ranked(rows: list[dict], direction: str) -> list[dict]:
    """Completed trials, best first."""
    done = [r for r in rows if r["status"] == "COMPLETED" and r["objective"] is not None]
    return sorted(done, key=lambda r: r["objective"], reverse=direction == "max")


def hp_columns(rows: list[dict]) -> list[str]:
    cols = []
    for r in rows:
        cols += [k for k in r if k not in BASE_COLUMNS and k not in cols]
    return cols


def to_csv(rows: list[dict]) -> str:
    cols = BASE_COLUMNS + hp_columns(rows)
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=cols, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for r in rows:
        writer.writerow({k: ("" if r.get(k) is None else r.get(k)) for k in cols})
    return buf.getvalue()


def write(project_dir: Path, rows: list[dict]) -> Path:
    path = Path(project_dir) / LEADERBOARD_FILE
    atomic_write_text(path, to_csv(rows))
    return path


def read_csv(project_dir: Path) -> list[dict]:
    with open(Path(project_dir) / LEADERBOARD_FILE, newline="") as f:
        return list(csv.DictReader(f))


def info_path(project_dir: Path, trial_id: str) -> Path:
    """Our record of a trial (timings, epochs, weights, precision), next to keras-tuner's trial.json.

    One file per trial, written by the process that ran it, so distributed workers never write
    the same file; the chief (or the only process) merges them into leaderboard.csv.
    """
    return trial_dir(project_dir, trial_id) / TRIAL_INFO_FILE


def load_info(project_dir: Path) -> dict:
    return {p.parent.name[len("trial_"):]: json.loads(p.read_text())
            for p in sorted(Path(project_dir).glob(f"trial_*/{TRIAL_INFO_FILE}"))}


def save_trial_info(project_dir: Path, trial_id: str, info: dict) -> None:
    atomic_write_text(info_path(project_dir, trial_id), json.dumps(info, indent=2) + "\n")


def save_progress(project_dir: Path, trial_id: str, progress: dict) -> None:
    """A worker's latest epoch of a running trial (keras-tuner tells the oracle only at the end)."""
    atomic_write_text(trial_dir(project_dir, trial_id) / PROGRESS_FILE, json.dumps(progress) + "\n")


def load_progress(project_dir: Path, trial_id: str) -> dict | None:
    try:
        return json.loads((trial_dir(project_dir, trial_id) / PROGRESS_FILE).read_text())
    except (OSError, ValueError):
        return None
