"""Saved winners are inference models: no training-only layers, same predictions, load anywhere."""
import json
import os
import subprocess
import sys
import textwrap

import keras
import keras_tuner as kt
import numpy as np
import pytest

from search.report.retrain import save_inference_model
from spaces import SPACES, SpaceOptions, get_space
from spaces.augment import AUGMENT_PREFIX
from spaces.inference import nonstandard_layers

pytestmark = pytest.mark.graph_mode  # Keras's functions traced as users run them (tests/conftest.py)

SMALL = {"mobilenet": {"input_size": 48, "alpha": 0.35}}  # the cheapest backbone; the others at defaults


def all_layers(model) -> list:
    found = []
    for layer in model.layers:
        found.append(layer)
        if isinstance(layer, keras.Model):
            found += all_layers(layer)
    return found


def predict(model, faces) -> np.ndarray:
    return keras.ops.convert_to_numpy(model(faces, training=False))  # eager: no tracing for one small batch


def trained(space: str) -> keras.Model:
    """A space's model with augmentation, random crops and erasing on, its batch-norm statistics moved as training moves them.

    Random moving statistics stand in for an epoch of training (seconds of fitting per space):
    they make inference differ from training mode, which is what the inference model must keep.
    """
    hp = kt.HyperParameters()
    hp.Fixed("augment", "medium")
    hp.Fixed("crop_size", 44)  # a random crop in training, Keras's CenterCrop in the saved model
    hp.Fixed("random_erasing", 0.5)
    for name, value in SMALL.get(space, {}).items():
        hp.Fixed(name, value)
    keras.utils.set_random_seed(0)
    model = get_space(space).build(hp, SpaceOptions(weights=None))
    rng = np.random.default_rng(0)
    for layer in all_layers(model):
        if isinstance(layer, keras.layers.BatchNormalization):
            layer.moving_mean.assign(rng.normal(0.0, 0.2, layer.moving_mean.shape))
            layer.moving_variance.assign(rng.uniform(0.5, 2.0, layer.moving_variance.shape))
    return model


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """Each space's trained model, its inference model's predictions, and the two saved files."""
    folder = tmp_path_factory.mktemp("inference")
    faces = np.random.default_rng(1).integers(0, 256, (12, 48, 48, 1), dtype=np.uint8)
    np.save(folder / "faces.npy", faces)
    out = {}
    for space in SPACES:
        model = trained(space)
        paths = {ext: str(folder / f"{space}.{ext}") for ext in ("h5", "keras")}
        inference = save_inference_model(model, paths)
        out[space] = {"model": model, "inference": inference, "paths": paths,
                      "expected": predict(model, faces)}
    return folder, faces, out


@pytest.mark.parametrize("space", list(SPACES))
def test_inference_model_drops_augmentation_and_predicts_the_same(saved, space):
    _, faces, out = saved
    model, inference = out[space]["model"], out[space]["inference"]
    assert any(layer.name.startswith(AUGMENT_PREFIX) for layer in all_layers(model))
    assert nonstandard_layers(model) != []  # RandomAffine: the trained model needs this project
    assert not any(layer.name.startswith(AUGMENT_PREFIX) for layer in all_layers(inference))
    assert nonstandard_layers(inference) == [] and not inference.compiled
    crops = [layer for layer in all_layers(inference) if isinstance(layer, keras.layers.CenterCrop)]
    assert [(c.height, c.width) for c in crops] == [(44, 44)]
    assert inference.count_params() == model.count_params()
    assert np.abs(predict(inference, faces) - out[space]["expected"]).max() < 1e-5


LOAD_WITHOUT_PROJECT = textwrap.dedent("""
    import importlib, json, sys
    import numpy as np
    for name in ("fer", "spaces", "search"):
        sys.modules[name] = None  # as if this project were not installed (it is, editable, here)
    for name in ("fer", "spaces", "search"):
        try:
            importlib.import_module(name)
            sys.exit(f"{name} is importable")
        except ImportError:
            pass
    import keras
    faces = np.load("faces.npy")
    out = {}
    for path in json.loads(sys.argv[1]):
        out[path] = keras.ops.convert_to_numpy(keras.models.load_model(path)(faces, training=False))
    np.savez("loaded.npz", **{str(i): out[p] for i, p in enumerate(json.loads(sys.argv[1]))})
""")


def test_saved_winners_load_in_a_python_without_this_project(saved):
    folder, _, out = saved
    files = [out[space]["paths"][ext] for space in SPACES for ext in ("h5", "keras")]
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    done = subprocess.run([sys.executable, "-I", "-c", LOAD_WITHOUT_PROJECT, json.dumps(files)], cwd=folder,
                          env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    loaded = np.load(folder / "loaded.npz")
    for i, path in enumerate(files):
        space = os.path.basename(path).split(".")[0]
        np.testing.assert_allclose(loaded[str(i)], out[space]["expected"], atol=1e-5, err_msg=path)
