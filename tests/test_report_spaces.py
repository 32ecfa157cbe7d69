"""Every registered space, today's and tomorrow's, gets a complete report: a tiny search (two
trials of one epoch, random init for mobilenet) on tiny data with planted twins across splits,
then `search.report`, with every figure, Grad-CAM included, and the duplicate-aware scores."""
import json

import keras
import numpy as np
import pytest
from sklearn import metrics as skm

from fer.constants import SPLITS, USAGE_TO_SPLIT
from fer.dataset import Dataset
from search import run as run_cli
from search.report import cli as report_cli
from search.report.gradcam import feature_path
from spaces import SPACES
from tests.conftest import search_args, write_csv

# Hyperparameters pinned where a space's random sample could be slow on 2 cores; the rest is sampled.
CHEAP = {"cnn": {"conv_blocks": 2, "filters": 16, "convs_per_block": 1, "dense_units": 64},
         "mobilenet": {"input_size": 48, "alpha": 0.35, "unfreeze_layers": 0},
         "resnet": {"blocks": "1-1-1", "width": 16}}
TWINS = {"train": [0, 3, 6, 9], "val": [1, 4]}  # test image i is replaced by a copy of these, in order
MODEL_FIGURES = ("confusion_norm_{}.png", "confusion_{}.png", "curves_{}.png", "samples_{}.png",
                 "misclassified_{}.png", "gradcam_{}.png")
SHARED_FIGURES = ("comparison.png", "per_class_f1.png", "objective_vs_hp.png")


@pytest.fixture(scope="session")
def tiny_twins(tiny_demo, tmp_path_factory):
    """The tiny demo data as an official-split CSV whose first six test images are copies of train
    and val images (a twin each), prepared like a Kaggle download."""
    from fer.prepare import prepare
    ds = Dataset.open(tiny_demo)
    arrays = {s: [np.array(a) for a in ds.split(s)] for s in SPLITS}
    planted = [(s, i) for s, idx in TWINS.items() for i in idx]
    for t, (s, i) in enumerate(planted):
        arrays["test"][0][t] = arrays[s][0][i]
    usage = {split: name for name, split in USAGE_TO_SPLIT.items()}
    rows = [(int(y), x, usage[s]) for s in SPLITS for x, y in zip(*arrays[s])]
    folder = tmp_path_factory.mktemp("twins")
    return prepare(str(write_csv(folder / "fer2013.csv", rows)), folder / "data")


def fixed_args(values: dict) -> list[str]:
    """search.run's --fix flags that hold these hyperparameters (cheap models for a fast test)."""
    return [arg for name, value in values.items() for arg in ("--fix", f"{name}={value}")]


def twin_indices(data) -> np.ndarray:
    """Test images with a byte-identical train or val image, found here without fer.audit's hash."""
    ds = Dataset.open(data)
    seen = {bytes(np.asarray(x).tobytes()) for s in ("train", "val") for x in ds.split(s)[0]}
    return np.array([np.asarray(x).tobytes() in seen for x in ds.split("test")[0]])


@pytest.mark.parametrize("space", SPACES)
def test_every_space_gets_a_complete_report(space, tiny_twins, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert run_cli.main(search_args(tiny_twins, space, "--space", space, "--tuner", "random", "--max-trials", 2,
                                    "--max-epochs", 1, "--weights", "none", *fixed_args(CHEAP.get(space, {})))) == 0
    assert report_cli.main(["--run", f"tuner_runs/{space}", "--top", "1", "--epochs", "1", "--plain"]) == 0
    out = tmp_path / "reports" / space
    meta = json.loads((out / "metrics.json").read_text())
    page = (out / "index.html").read_text()
    (model,) = meta["models"]
    name = model["name"]
    for figure in SHARED_FIGURES + tuple(p.format(name) for p in MODEL_FIGURES):
        assert (out / figure).stat().st_size > 1000, figure
    assert page.count("<img ") == len(SHARED_FIGURES) + len(MODEL_FIGURES)
    assert meta["figures_left_out"] == [] and "Figures left out" not in page
    saved = keras.models.load_model(tmp_path / "models" / space / f"{name}.keras")
    assert model["gradcam_layer"] == "/".join(feature_path(saved))  # the map explained, named on the page
    assert f"Grad-CAM heat maps of {model['gradcam_layer']}" in page
    # the duplicate-aware scores, checked against the twins planted and the saved predictions
    twins = twin_indices(tiny_twins)
    assert np.flatnonzero(twins).tolist() == list(range(6)) and meta["test_twins"] == 6
    assert f"6 of {len(twins)} test images have a byte-identical twin in train or val" in page
    y, pred = np.load(out / "predictions.npz")["y_true"], np.load(out / "predictions.npz")[f"probs_{name}"].argmax(1)
    got = model["test_without_twins"]
    assert got["n"] == len(twins) - 6
    assert got["accuracy"] == pytest.approx(skm.accuracy_score(y[~twins], pred[~twins]))
    assert f"{got['accuracy']:.4f}" in page and f"{got['macro_f1']:.4f}" in page
    # config.json records the space searched: every hyperparameter the trial had is in it
    config = json.loads((tmp_path / "tuner_runs" / space / "config.json").read_text())
    assert set(model["hyperparameters"]) <= {e["name"] for e in config["resolved"]["space_choices"]}
    assert meta["best"] == name and name in meta["summary"]
