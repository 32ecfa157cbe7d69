"""search.report on a tiny search over demo data: files, numbers (against scikit-learn), models."""
import csv
import json
import shutil
from pathlib import Path

import keras
import numpy as np
import pytest
from sklearn import metrics as skm

from fer.constants import CLASS_NAMES
from fer.dataset import Dataset
from search.report import cli as report_cli

MODEL_FIGURES = ("confusion_norm_{}.png", "confusion_{}.png", "curves_{}.png", "samples_{}.png",
                 "misclassified_{}.png", "gradcam_{}.png")
ENSEMBLE_FIGURES = ("confusion_norm_{}.png", "confusion_{}.png", "samples_{}.png", "misclassified_{}.png")
SHARED_FILES = ("metrics.json", "per_class.csv", "predictions.npz", "report_config.json", "index.html",
                "comparison.png", "per_class_f1.png", "objective_vs_hp.png", "importance.png")


def test_report_writes_every_listed_file(reported):
    out = reported / "reports" / "cnn"
    meta = json.loads((out / "metrics.json").read_text())
    names = [m["name"] for m in meta["models"] if m["name"] != "ensemble"]
    assert len(names) == 2 and names[0].startswith("rank1-trial") and names[1].startswith("rank2-trial")
    assert [m["name"] for m in meta["models"]][-1] == "ensemble"
    ensemble = meta["models"][-1]
    assert ensemble["members"] == names and ensemble["params"] == sum(m["params"] for m in meta["models"][:2])
    assert all(m["inference_ms"] > 0 for m in meta["models"])
    for pattern in ENSEMBLE_FIGURES:
        assert_figure(out / pattern.format("ensemble"))
    options = json.loads((out / "report_config.json").read_text())  # the fixture's --top 2 --epochs 2 --tta
    assert options["run"] == "tuner_runs/cnn"
    assert {k: options[k] for k in ("top", "epochs", "train_on", "tta")} == {"top": 2, "epochs": 2, "train_on": "train",
                                                                          "tta": "flip"}
    saved_probs = np.load(out / "predictions.npz")
    test_size = sum(c["support"] for c in meta["models"][0]["test"]["per_class"])
    assert saved_probs["y_true"].shape == (test_size,)
    for name in [m["name"] for m in meta["models"]]:
        for key in (f"probs_{name}", f"probs_tta_{name}"):
            assert saved_probs[key].shape == (test_size, len(CLASS_NAMES)), key
    for name in SHARED_FILES:
        if name.endswith(".png"):
            assert_figure(out / name)
        else:
            assert (out / name).is_file() and (out / name).stat().st_size > 0, name
    for name in names:
        for pattern in MODEL_FIGURES:
            assert_figure(out / pattern.format(name))
        for ext in ("h5", "keras", "json"):
            assert (reported / "models" / "cnn" / f"{name}.{ext}").is_file()
    saved = json.loads((reported / "models" / "cnn" / f"{names[0]}.json").read_text())
    assert saved["hyperparameters"] == meta["models"][0]["hyperparameters"]
    assert len(saved["history"]["loss"]) == saved["epochs"] <= 2
    assert not [p for p in (reported / "reports").iterdir() if p.name.startswith(".")]  # no temp folders left
    page = (out / "index.html").read_text()
    assert meta["summary"] in page and "strongest on" in meta["summary"] and "weakest on" in meta["summary"]
    assert page.count("<img ") == len(SHARED_FILES) - 5 + len(names) * len(MODEL_FIGURES) + len(ENSEMBLE_FIGURES)


def test_metrics_equal_scikit_learn_on_the_saved_predictions(reported):
    out = reported / "reports" / "cnn"
    meta = json.loads((out / "metrics.json").read_text())
    saved = np.load(out / "predictions.npz")
    y = saved["y_true"]
    labels = list(range(len(CLASS_NAMES)))
    for m in meta["models"]:
        for key, prefix in (("test", "probs_"), ("test_tta", "probs_tta_")):
            pred = saved[prefix + m["name"]].argmax(axis=1)
            got = m[key]
            assert got["accuracy"] == pytest.approx(skm.accuracy_score(y, pred))
            assert got["macro_f1"] == pytest.approx(skm.f1_score(y, pred, average="macro", labels=np.unique(np.r_[y, pred]),
                                                                 zero_division=0))
            assert got["weighted_f1"] == pytest.approx(skm.f1_score(y, pred, average="weighted", labels=labels,
                                                                    zero_division=0))
            p, r, f, s = skm.precision_recall_fscore_support(y, pred, labels=labels, zero_division=0)
            assert [c["precision"] for c in got["per_class"]] == pytest.approx(p)
            assert [c["recall"] for c in got["per_class"]] == pytest.approx(r)
            assert [c["f1"] for c in got["per_class"]] == pytest.approx(f)
            assert [c["support"] for c in got["per_class"]] == list(s)
            assert got["confusion_matrix"] == skm.confusion_matrix(y, pred, labels=labels).tolist()


def test_per_class_csv_has_one_row_per_class(reported):
    meta = json.loads((reported / "reports" / "cnn" / "metrics.json").read_text())
    with open(reported / "reports" / "cnn" / "per_class.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert [r["class"] for r in rows] == list(CLASS_NAMES)
    best = meta["models"][0]
    for r, c in zip(rows, best["test"]["per_class"]):
        assert float(r[f"{best['name']}_recall"]) == pytest.approx(c["recall"], abs=1e-4)
    for r, c in zip(rows, best["test_tta"]["per_class"]):
        assert float(r[f"{best['name']}_tta_f1"]) == pytest.approx(c["f1"], abs=1e-4)


def test_saved_models_reload_and_predict_identically(reported, tiny_demo):
    meta = json.loads((reported / "reports" / "cnn" / "metrics.json").read_text())
    x_test = np.asarray(Dataset.open(tiny_demo).split("test")[0])
    saved = np.load(reported / "reports" / "cnn" / "predictions.npz")
    for m in meta["models"][:-1]:  # the last is the ensemble
        expected = saved[f"probs_{m['name']}"]  # what the model predicted before it was saved
        for ext in ("h5", "keras"):
            model = keras.models.load_model(reported / "models" / "cnn" / f"{m['name']}.{ext}")
            np.testing.assert_allclose(model.predict(x_test, verbose=0), expected, atol=1e-5, err_msg=ext)


def test_compare_lists_every_run_best_first_by_validation(reported):
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(reported)
        assert report_cli.main(["--compare", "tuner_runs/cnn", "tuner_runs/base", "--top", "2", "--epochs", "2",
                                "--tta", "--out", "cmp", "--plain"]) == 0
    out = reported / "reports" / "cmp"
    meta = json.loads((out / "metrics.json").read_text())
    names = [row[0] for row in meta["rows"]]
    assert sorted(n.split("/")[0] for n in names) == ["base", "base", "cnn", "cnn"]
    val = [m["val"]["accuracy"] for m in meta["models"]]  # both runs searched on val_accuracy
    assert val == sorted(val, reverse=True) and meta["best"] == names[0] == meta["models"][0]["name"]
    assert (reported / "reports" / "base" / "metrics.json").is_file()  # the baseline run was reported on the way
    page = (out / "index.html").read_text()
    assert all(n in page for n in names) and "tuner_runs/base" in page and f"Best model {names[0]}" in page
    assert_figure(out / "comparison.png")


def assert_figure(path):
    """A real drawing: a PNG that opens, of a figure's size, not one flat colour."""
    from PIL import Image
    with Image.open(path) as image:
        assert image.format == "PNG" and min(image.size) >= 150, (path, image.size)
        low, high = image.convert("L").getextrema()
    assert high - low > 50, f"{path}: a blank image"


def _error(capsys, argv) -> str:
    assert report_cli.main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    return err


def test_bad_input_is_one_line_and_status_2(reported, tmp_path, monkeypatch, capsys, tiny_demo):
    monkeypatch.chdir(reported)
    before = sorted(p.name for p in (reported / "reports").iterdir())
    assert "no such run folder" in _error(capsys, ["--run", "tuner_runs/nope"])
    assert "distinct completed configurations" in _error(capsys, ["--run", "tuner_runs/cnn", "--top", "9"])
    failed = reported / "tuner_runs" / "failed"
    shutil.copytree(reported / "tuner_runs" / "cnn", failed)
    text = (failed / "leaderboard.csv").read_text().replace("COMPLETED", "FAILED")
    (failed / "leaderboard.csv").write_text(text)
    assert "no completed trial" in _error(capsys, ["--run", "tuner_runs/failed"])
    from fer.prepare import prepare
    other = prepare("demo", tmp_path / "other", seed=1, demo_sizes={"train": 70, "val": 35, "test": 35})
    err = _error(capsys, ["--run", "tuner_runs/cnn", "--data", str(other)])
    assert "meta.json" in err and "does not match" in err
    assert sorted(p.name for p in (reported / "reports").iterdir()) == before  # nothing written
    assert Path(tiny_demo).is_dir()


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed (.ci/run installs it)")
def test_index_renders_in_headless_chromium_with_all_images_and_no_network(reported):
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is in the dev extra")
    page_path = reported / "reports" / "cnn" / "index.html"
    shot = reported / "reports" / "cnn-screenshot.png"
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1200, "height": 900})
        requests = []
        page.on("request", lambda r: requests.append(r.url))
        page.goto(page_path.as_uri(), wait_until="load")
        images = page.evaluate("() => Array.from(document.images).map(i => [i.complete, i.naturalWidth])")
        page.screenshot(path=str(shot), full_page=True)
        browser.close()
    assert len(images) == page_path.read_text().count("<img ") > 10
    assert all(complete and width > 100 for complete, width in images), images  # no broken image
    external = [u for u in requests if not u.startswith(("file:", "data:"))]
    assert external == [], external
    from PIL import Image
    with Image.open(shot) as im:
        assert im.width == 1200 and im.height > 3000  # the whole page, figures included
        assert len(np.unique(np.asarray(im.convert("L")))) > 20  # not a blank page


def test_train_on_train_and_val_uses_the_trials_best_epochs_and_says_val_is_trained_on(reported, tmp_path,
                                                                                       capsys):
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(reported)
        assert report_cli.main(["--run", "tuner_runs/base", "--top", "1", "--train-on", "train+val", "--plain",
                                "--reports-dir", str(tmp_path / "r"), "--models-dir", str(tmp_path / "m")]) == 0
    meta = json.loads((tmp_path / "r" / "base" / "metrics.json").read_text())
    model = meta["models"][0]
    trial = json.loads((reported / "tuner_runs" / "base" / f"trial_{model['trial_id']}" / "trial.json").read_text())
    assert model["train_on"] == "train+val" and model["epochs"] == int(trial["best_step"] or 0) + 1
    assert "val_loss" not in model["history"]  # nothing held out to validate on while training
    assert len(model["history"]["learning_rate"]) == model["epochs"]  # the LR schedule ran
    assert (tmp_path / "m" / "base" / f"{model['name']}.h5").is_file()
    # the validation columns would measure training data: empty, and said so, everywhere
    assert model["val"] == {"loss": None, "accuracy": None, "macro_f1": None, "note": "trained on val"}
    assert meta["best_by"]["score"] == pytest.approx(model["search_objective"])
    row = next(r for r in capsys.readouterr().out.splitlines() if r.startswith(f"| {model['name']}"))
    assert row.count("trained on val") == 3
    page = (tmp_path / "r" / "base" / "index.html").read_text()
    assert page.count("<td>trained on val</td>") == 0 and page.count("trained on val</b></td>") == 3


def test_the_ensemble_is_the_mean_of_its_members(reported):
    saved = np.load(reported / "reports" / "cnn" / "predictions.npz")
    meta = json.loads((reported / "reports" / "cnn" / "metrics.json").read_text())
    members = meta["models"][-1]["members"]
    for prefix in ("probs_", "probs_tta_"):
        mean = np.mean([saved[prefix + name] for name in members], axis=0)
        np.testing.assert_allclose(saved[prefix + "ensemble"], mean, atol=1e-6)
        assert np.allclose(saved[prefix + "ensemble"].sum(axis=1), 1.0, atol=1e-4)


def test_the_ensemble_is_saved_as_one_model_that_predicts_the_mean(reported, tiny_demo):
    meta = json.loads((reported / "reports" / "cnn" / "metrics.json").read_text())
    ensemble = meta["models"][-1]
    assert ensemble["name"] == "ensemble" and set(ensemble["paths"]) == {"h5", "keras"}
    x_test = np.asarray(Dataset.open(tiny_demo).split("test")[0])
    expected = np.load(reported / "reports" / "cnn" / "predictions.npz")["probs_ensemble"]
    for ext in ("h5", "keras"):
        model = keras.models.load_model(reported / ensemble["paths"][ext], compile=False)
        np.testing.assert_allclose(model.predict(x_test, verbose=0), expected, atol=1e-5, err_msg=ext)


def test_fer_predict_ensemble_classifies_with_the_reports_ensemble(reported, tiny_demo, tmp_path, monkeypatch):
    from fer import predict as predict_cli
    monkeypatch.chdir(reported)
    out = tmp_path / "faces.json"
    assert predict_cli.main(["--ensemble", "reports/cnn", str(tiny_demo), "--out", str(out)]) == 0
    faces = json.loads(out.read_text())["faces"]
    expected = np.load(reported / "reports" / "cnn" / "predictions.npz")["probs_ensemble"]
    got = np.array([[f["probabilities"][c] for c in CLASS_NAMES] for f in faces])
    np.testing.assert_allclose(got, expected, atol=1e-5)


def test_report_takes_a_project_name_and_refuses_float16_without_a_gpu(reported, monkeypatch, capsys):
    monkeypatch.chdir(reported)
    err = _error(capsys, ["--project", "base", "--precision", "mixed_float16", "--top", "1", "--plain"])
    assert err.endswith("--precision mixed_float16: float16 training needs a CUDA GPU and there is none here; "
                        "pass --precision float32 (or mixed_bfloat16)")
    err = _error(capsys, ["--project", "base", "--data", "demo", "--top", "1", "--plain"])
    assert "data/demo/meta.json: does not match the data the search used" in err  # demo, prepared on first use
