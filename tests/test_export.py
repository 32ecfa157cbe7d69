"""Using a reported search's winner: --export (SavedModel, TFLite) and fer.predict --run."""
import json

import keras
import numpy as np
import pytest

from fer import predict as predict_cli
from fer.dataset import Dataset
from search import run as run_cli
from search.report import cli as report_cli
from search.report.export import SAVED_MODEL_DIR, TFLITE_FILE
from tests.conftest import search_args

pytestmark = pytest.mark.graph_mode  # Keras's functions traced as users run them (tests/conftest.py)

needs_tf = pytest.mark.skipif(keras.backend.backend() != "tensorflow", reason="export needs the TensorFlow backend")


@pytest.fixture(scope="module")
def exported(tmp_path_factory, tiny_demo):
    """A one-trial search and its report with both exports; the folder it ran in."""
    root = tmp_path_factory.mktemp("export")
    commands = [(run_cli, search_args(tiny_demo, "base", "--space", "baseline", "--tuner", "random",
                                      "--max-trials", 1, "--max-epochs", 1)),
                (report_cli, ["--run", "tuner_runs/base", "--top", "1", "--epochs", "1", "--plain",
                              "--export", "tflite", "saved_model"])]
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(root)
        for command, argv in commands:
            assert command.main(argv) == 0, argv
    meta = json.loads((root / "reports" / "base" / "metrics.json").read_text())
    return root, meta


def tflite_predict(path, faces: np.ndarray) -> np.ndarray:
    import tensorflow as tf
    interpreter = tf.lite.Interpreter(model_path=str(path))
    given, answer = interpreter.get_input_details()[0], interpreter.get_output_details()[0]
    interpreter.resize_tensor_input(given["index"], faces.shape)
    interpreter.allocate_tensors()
    interpreter.set_tensor(given["index"], faces)
    interpreter.invoke()
    return interpreter.get_tensor(answer["index"])


@needs_tf
@pytest.mark.filterwarnings("ignore::UserWarning:tensorflow.lite.python.interpreter")  # LiteRT is its successor
def test_exported_models_predict_what_keras_predicts(exported, tiny_demo):
    import tensorflow as tf
    root, meta = exported
    faces = np.asarray(Dataset.open(tiny_demo).split("test")[0][:20])
    best = next(m for m in meta["models"] if m["name"] == meta["best"])
    expected = keras.models.load_model(root / best["paths"]["keras"]).predict(faces, verbose=0)
    assert expected.shape == (20, 7)
    np.testing.assert_allclose(tflite_predict(root / "models" / "base" / TFLITE_FILE, faces), expected, atol=1e-5)
    saved_model = tf.saved_model.load(str(root / "models" / "base" / SAVED_MODEL_DIR))
    np.testing.assert_allclose(np.asarray(saved_model.serve(faces)), expected, atol=1e-5)
    assert not [p.name for p in (root / "models" / "base").iterdir() if p.name.startswith(".")]  # no temp left


def test_predict_run_uses_the_reported_winner_as_the_quickstart_does(exported, tiny_demo, monkeypatch, capsys):
    root, meta = exported
    monkeypatch.chdir(root)
    assert predict_cli.main(["--run", "tuner_runs/base", str(tiny_demo), "--out", "test.json"]) == 0
    shown = capsys.readouterr().out.strip().splitlines()
    saved = json.loads((root / "test.json").read_text())
    test_size = len(Dataset.open(tiny_demo).split("test")[0])
    assert len(shown) == 1 + test_size and len(saved["faces"]) == test_size
    assert saved["model"] == f"models/base/{meta['best']}.keras"


def test_export_needs_tensorflow_and_says_so_before_training(monkeypatch, tmp_path, capsys):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr("search.tf_memory.on_tensorflow", lambda: False)
    assert report_cli.main(["--run", "tuner_runs/none", "--export", "tflite", "--plain"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--export tflite needs the TensorFlow backend" in err[0]
    assert list(tmp_path.iterdir()) == []
