"""A search's project folder as both commands see it: its config.json and the data it searched on.

`search.run` writes the folder and `search.report` reads it back; what they share lives here,
so neither command imports the other.
"""
import os
from pathlib import Path

from fer.constants import DEMO_SOURCE, META_FILE
from fer.errors import UserError
from fer.model_files import run_name
from search.config import CONFIG_FILE, RunConfig


def open_data(spec: str):
    """A prepared data folder, or the demo data (prepared on first use) for `demo`."""
    from fer.dataset import Dataset
    from fer.prepare import ensure_demo
    return Dataset.open(ensure_demo() if spec == DEMO_SOURCE else spec)


def open_search_data(config: RunConfig, override: str | None, hint: str):
    """The data a search used (config.json), refusing a folder whose arrays hash differently."""
    path = override or config.resolved.get("data_path")
    if path == DEMO_SOURCE:
        from fer.prepare import ensure_demo
        path = str(ensure_demo())
    if not path or not Path(path, META_FILE).is_file():
        raise UserError(f"{Path(path or '?') / META_FILE}: not found; {hint}")
    ds = open_data(path)
    expected = config.resolved.get("data_meta")
    if expected and ds.meta.get("sha256") != expected:
        differ = sorted(k for k in expected if ds.meta.get("sha256", {}).get(k) != expected[k])
        raise UserError(f"{Path(path) / META_FILE}: does not match the data the search used "
                        f"({', '.join(differ)} differ); {hint}")
    return ds


def train_and_val(ds) -> tuple:
    """The train and validation arrays in memory (the test split is never loaded by a search)."""
    (x_train, y_train), (x_val, y_val) = ((x[:], y[:]) for x, y in (ds.split("train"), ds.split("val")))
    return x_train, y_train, x_val, y_val


def load_project(folder: Path) -> RunConfig:
    """The config of the search in `folder`, with runs_dir and project pointing where the folder is now."""
    folder = Path(folder)
    if folder.name != run_name(folder):  # `.` or `..`: the folder by its own name
        folder = Path(os.path.abspath(folder))
    if not folder.is_dir():
        raise UserError(f"{folder}: no such run folder")
    if not (folder / CONFIG_FILE).is_file():
        raise UserError(f"{folder}: not a search folder (no {CONFIG_FILE}); give tuner_runs/<project>")
    config = RunConfig.load(folder)
    config.runs_dir = str(folder.parent)  # the folder may have moved since the search,
    config.project = run_name(folder)  # or been copied: its outputs are named after the folder, not the original
    return config


def space_options(config: RunConfig):
    """What a space's `build` needs besides hp (spaces.SpaceOptions); backbone weights matter to mobilenet only."""
    from spaces import SpaceOptions
    return SpaceOptions(weights=config.weights if config.space == "mobilenet" else None)


def run_columns(config: RunConfig) -> dict:
    """Leaderboard columns the same for every trial of a run: backbone weights and precision policy."""
    return {"weights": config.resolved.get("weights", ""), "precision": config.resolved["precision"]["policy"]}


def retraining_precision(config: RunConfig, requested: str | None) -> str:
    """The dtype policy to retrain with: the one asked for, else the search's; mixed_float16 only on a CUDA GPU."""
    from search.precision import has_cuda_gpu
    policy = requested or config.resolved.get("precision", {}).get("policy", "float32")
    if policy == "mixed_float16" and not has_cuda_gpu():
        how = "--precision mixed_float16" if requested else "the search used mixed_float16 (on a GPU)"
        raise UserError(f"{how}: float16 training needs a CUDA GPU and there is none here; "
                        "pass --precision float32 (or mixed_bfloat16)")
    return policy
