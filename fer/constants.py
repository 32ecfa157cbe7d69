"""The FER-2013 facts every other module reads: classes, splits, file names and default paths.

One fact, one place: nothing else in the project spells a class name, a split name or a
cache file name.
"""
from pathlib import Path

CLASS_NAMES = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")
NUM_CLASSES = len(CLASS_NAMES)

IMAGE_SIZE = 48
IMAGE_SHAPE = (IMAGE_SIZE, IMAGE_SIZE, 1)
PIXELS_PER_IMAGE = IMAGE_SIZE * IMAGE_SIZE

# Our split names, in order, and the Kaggle names that map onto them (the official protocol:
# select on PublicTest, report on PrivateTest once).
SPLITS = ("train", "val", "test")
USAGE_TO_SPLIT = {"Training": "train", "PublicTest": "val", "PrivateTest": "test"}

META_FILE = "meta.json"
AUDIT_FILE = "audit.json"
SAMPLES_PLOT = "samples.png"
COUNTS_PLOT = "class_counts.png"


def x_file(split: str) -> str:
    return f"x_{split}.npy"


def y_file(split: str) -> str:
    return f"y_{split}.npy"


def array_files() -> list[str]:
    return [name for split in SPLITS for name in (x_file(split), y_file(split))]


# Output folders, relative to the directory the commands run in (git-ignored).
DATA_ROOT = Path("data")
DEFAULT_DATA_DIR = DATA_ROOT / "fer2013"
DEMO_DATA_DIR = DATA_ROOT / "demo"
TUNER_RUNS_DIR = Path("tuner_runs")
MODELS_DIR = Path("models")
REPORTS_DIR = Path("reports")
# The JSON files `fer.predict --run` reads to find a search's best winner: a search folder's
# config (written by search.run) and a report's metrics (written by search.report).
RUN_CONFIG_FILE = "config.json"
REPORT_METRICS_FILE = "metrics.json"

DEMO_SOURCE = "demo"
DEMO_NOTICE = "synthetic demo data (drawn faces), not FER-2013"

ENSEMBLE_NAME = "ensemble"  # a report's row, and saved model, for the mean of its winners
