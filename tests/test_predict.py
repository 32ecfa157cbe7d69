"""fer.predict: faces found in a photo, cropped faces, prepared data, the outputs and bad input."""
import csv
import json

import keras
import keras_tuner as kt
import numpy as np
import pytest
from PIL import Image

from fer import predict as predict_cli
from fer.constants import CLASS_NAMES, IMAGE_SHAPE
from fer.dataset import Dataset
from fer.errors import UserError
from fer.predict_output import BOX_COLOUR, LABEL_COLOUR
from fer.model_files import best_model_path
from search.report.retrain import save_inference_model
from spaces import SpaceOptions, get_space
from tests.conftest import face, image_bytes
from tests.face_photos import two_face_photo


@pytest.fixture(scope="module")
def model_file(tmp_path_factory):
    """The baseline space's default model, saved as search.report saves a winner."""
    folder = tmp_path_factory.mktemp("model")
    keras.utils.set_random_seed(0)
    model = get_space("baseline").build(kt.HyperParameters(), SpaceOptions())
    paths = {"h5": str(folder / "m.h5"), "keras": str(folder / "m.keras")}
    save_inference_model(model, paths)
    return folder / "m.keras"


@pytest.fixture(scope="module")
def model(model_file):
    return keras.models.load_model(model_file, compile=False)


@pytest.fixture(scope="module")
def photo(tmp_path_factory):
    gray, boxes, _ = two_face_photo()
    path = tmp_path_factory.mktemp("photo") / "two.png"
    Image.fromarray(gray).save(path)
    return path, boxes


def run(capsys, *argv) -> tuple[int, str, list[str]]:
    status = predict_cli.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return status, out, err.strip().splitlines()


def read_csv(path) -> list[dict]:
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def test_two_faces_found_boxed_labelled_and_written(model_file, photo, tmp_path, capsys):
    path, boxes = photo
    status, out, err = run(capsys, "--model", model_file, path, "--out", tmp_path / "faces.csv",
                           "--annotate", tmp_path / "ann")
    assert status == 0 and err == []
    rows = read_csv(tmp_path / "faces.csv")
    assert [(int(r["x"]), int(r["y"]), int(r["w"]), int(r["h"])) for r in rows] == boxes
    for r in rows:
        probs = np.array([float(r[name]) for name in CLASS_NAMES])
        assert probs.sum() == pytest.approx(1.0, abs=1e-4) and (probs >= 0).all()
        assert r["emotion"] == CLASS_NAMES[int(probs.argmax())]
        assert f"{r['x']},{r['y']} {r['w']}x{r['h']}" in out
    assert len(out.strip().splitlines()) == 1 + len(boxes)
    before = np.asarray(Image.open(path).convert("RGB")).astype(int)
    after = np.asarray(Image.open(tmp_path / "ann" / "two.png").convert("RGB")).astype(int)
    assert after.shape == before.shape
    for x, y, w, h in boxes:
        edges = [after[y + h // 2, x], after[y + h // 2, x + w - 1], after[y, x + w // 2], after[y + h - 1, x + w // 2]]
        assert all(tuple(px) == BOX_COLOUR for px in edges)  # the box's four sides are drawn
        label = after[max(0, y - 20):y, x:x + 60].reshape(-1, 3)
        assert {BOX_COLOUR, LABEL_COLOUR} <= set(map(tuple, label))  # a label: its band and its text
        inside = (slice(y + h // 3, y + 2 * h // 3), slice(x + w // 3, x + 2 * w // 3))
        assert (after[inside] == before[inside]).all()  # the face itself is left as it was
    assert (after[-3:, :20] == before[-3:, :20]).all()


def test_cropped_faces_in_a_folder_are_classified_as_they_are(model_file, model, tmp_path, capsys):
    faces = np.stack([face(seed) for seed in range(5)])
    for i, f in enumerate(faces):
        (tmp_path / "in" / f"sub{i % 2}").mkdir(parents=True, exist_ok=True)
        (tmp_path / "in" / f"sub{i % 2}" / f"f{i}.png").write_bytes(image_bytes(f))
    (tmp_path / "in" / "notes.txt").write_text("not a face, and not an image file name either")
    status, _, err = run(capsys, "--model", model_file, tmp_path / "in", "--faces", "none",
                         "--out", tmp_path / "faces.json")
    assert status == 0 and err == []
    saved = json.loads((tmp_path / "faces.json").read_text())
    assert saved["classes"] == list(CLASS_NAMES) and saved["failed"] == [] and saved["faces_mode"] == "none"
    order = [int(r["file"].rsplit("f", 1)[1][:-4]) for r in saved["faces"]]
    assert sorted(order) == list(range(5)) and all(r["box"] == [0, 0, 48, 48] for r in saved["faces"])
    got = np.array([[r["probabilities"][c] for c in CLASS_NAMES] for r in saved["faces"]])
    expected = model.predict(faces[order].reshape(-1, *IMAGE_SHAPE), verbose=0)
    np.testing.assert_allclose(got, expected, atol=1e-5)


def test_a_prepared_data_folder_is_classified_split_by_split_with_tta(model_file, model, tiny_demo, tmp_path,
                                                                       capsys):
    x_val = np.asarray(Dataset.open(tiny_demo).split("val")[0])
    status, out, _ = run(capsys, "--model", model_file, tiny_demo, "--split", "val", "--tta", "flip",
                         "--batch-size", 16, "--out", tmp_path / "val.csv")
    assert status == 0 and len(out.strip().splitlines()) == 1 + len(x_val)
    rows = read_csv(tmp_path / "val.csv")
    assert [int(r["face"]) for r in rows] == list(range(len(x_val))) and rows[0]["file"].endswith("x_val.npy")
    got = np.array([[float(r[c]) for c in CLASS_NAMES] for r in rows])
    expected = (model.predict(x_val, verbose=0) + model.predict(x_val[:, :, ::-1], verbose=0)) / 2
    np.testing.assert_allclose(got, expected, atol=1e-5)


def test_bad_inputs_are_one_line_each_and_the_rest_goes_on(model_file, photo, tmp_path, capsys):
    path, boxes = photo
    (tmp_path / "notes.txt").write_text("hello")
    (tmp_path / "fake.jpg").write_bytes(b"\xff\xd8 truncated")
    (tmp_path / "empty").mkdir()
    (tmp_path / "blank.png").write_bytes(image_bytes(np.full((200, 200), 90, np.uint8)))
    bad = [tmp_path / "notes.txt", tmp_path / "fake.jpg", tmp_path / "empty", tmp_path / "blank.png",
           tmp_path / "missing.jpg"]
    status, _, err = run(capsys, "--model", model_file, path, *bad, "--out", tmp_path / "faces.csv")
    assert status == 1 and len(err) == len(bad)
    said = {file.name: [line for line in err if line.startswith(f"python -m fer.predict: {file}: ")] for file in bad}
    assert all(len(lines) == 1 for lines in said.values()), err
    assert "not an image" in said["notes.txt"][0] and "no image files" in said["empty"][0]
    assert "no face found" in said["blank.png"][0] and "no such file" in said["missing.jpg"][0]
    assert len(read_csv(tmp_path / "faces.csv")) == len(boxes)
    status, out, err = run(capsys, "--model", model_file, *bad[:4])
    assert status == 2 and out == "" and len(err) == 5 and "no face to classify" in err[-1]


def test_bad_requests_are_one_line_and_status_2(model_file, tmp_path, capsys):
    (tmp_path / "runs" / "p").mkdir(parents=True)
    (tmp_path / "runs" / "p" / "config.json").write_text(json.dumps({"project": "p"}))
    cases = [(["--model", tmp_path / "none.keras", tmp_path], "none.keras: no such model file"),
             (["--model", model_file, tmp_path, "--out", tmp_path / "x.txt"], "x.txt: --out writes .csv or .json"),
             (["--run", tmp_path / "runs" / "p", tmp_path], "python -m search.report --run"),
             (["--run", tmp_path, tmp_path], "config.json: not found")]
    for argv, expected in cases:
        status, out, err = run(capsys, *argv)
        assert status == 2 and out == "" and len(err) == 1 and expected in err[0], err


def test_run_means_the_reports_best_winner(model_file, tmp_path, monkeypatch):
    """The report of tuner_runs/proj is reports/proj/, named after the folder (as search.report names it),
    also when config.json records another project (a copied folder)."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "tuner_runs" / "proj").mkdir(parents=True)
    (tmp_path / "tuner_runs" / "proj" / "config.json").write_text(json.dumps({"project": "copied-from"}))
    (tmp_path / "reports" / "proj").mkdir(parents=True)
    models = [{"name": f"rank{r}-trial0{r}", "paths": {"keras": f"models/proj/rank{r}-trial0{r}.keras"}}
              for r in (1, 2)]
    (tmp_path / "reports" / "proj" / "metrics.json").write_text(json.dumps({"best": "rank2-trial02", "models": models}))
    (tmp_path / "models" / "proj").mkdir(parents=True)
    for m in models:
        (tmp_path / m["paths"]["keras"]).write_bytes(model_file.read_bytes())
    assert best_model_path("tuner_runs/proj").as_posix() == "models/proj/rank2-trial02.keras"
    monkeypatch.chdir(tmp_path / "reports")  # from elsewhere: found under the run's project root
    assert best_model_path(tmp_path / "tuner_runs" / "proj") == tmp_path / "models" / "proj" / "rank2-trial02.keras"
    (tmp_path / "models" / "proj" / "rank2-trial02.keras").unlink()
    with pytest.raises(UserError, match="rank2-trial02.keras: the best model of .* is missing"):
        best_model_path(tmp_path / "tuner_runs" / "proj")


def cropping_model(crop: int, seed: int, name: str) -> keras.Model:
    """A tiny inference model that cuts its own centre window, as a crop_size winner's does."""
    inputs = keras.Input(IMAGE_SHAPE, name="image")
    x = keras.layers.CenterCrop(crop, crop)(keras.layers.Rescaling(1 / 255.0)(inputs))
    x = keras.layers.Dense(7, kernel_initializer=keras.initializers.RandomNormal(stddev=0.3, seed=seed))(
        keras.layers.Flatten()(x))
    return keras.Model(inputs, keras.layers.Softmax()(x), name=name)


def test_ten_crop_of_an_ensemble_gives_each_member_windows_of_its_own_crop():
    from fer.tta import predict_tta, tta_parts
    members = [cropping_model(44, 1, "m44"), cropping_model(40, 2, "m40")]
    inputs = keras.Input(IMAGE_SHAPE, name="image")
    ensemble = keras.Model(inputs, keras.layers.Average(name="predictions")([m(inputs) for m in members]))
    faces = np.random.default_rng(0).integers(0, 256, size=(6, *IMAGE_SHAPE), dtype=np.uint8)
    got = predict_cli.classify(ensemble, faces, "ten-crop", batch_size=4)
    expected = np.mean([predict_tta(m.predict_on_batch, faces, "ten-crop", model_crop=c)
                        for m, c in zip(members, (44, 40))], axis=0)
    np.testing.assert_allclose(got, expected, atol=1e-5)
    first_members_crop = predict_tta(ensemble.predict_on_batch, faces, "ten-crop", model_crop=44)
    assert np.abs(got - first_members_crop).max() > 1e-3  # what one set of 44-px windows gave before
    same = keras.Model(inputs, keras.layers.Average()([m(inputs) for m in [members[0], cropping_model(44, 3, "b")]]))
    np.testing.assert_allclose(predict_cli.classify(same, faces, "ten-crop", batch_size=4),
                               predict_tta(same.predict_on_batch, faces, "ten-crop", model_crop=44), atol=1e-5)
    assert [len(tta_parts(m, mode)) for m, mode in ((ensemble, "ten-crop"), (ensemble, "flip"), (same, "ten-crop"))] == [
        2, 1, 1]  # members apart only where their windows differ
