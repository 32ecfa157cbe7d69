"""The reporter's share of issue 11: distinct winners, ten-crop TTA, the retraining time budget."""
import json

import keras
import numpy as np
import pytest
from PIL import Image

from fer.tta import predict_tta, resize, ten_crop_views
from search import budget as budget_module
from search.budget import TimeBudget
from search.training import BudgetStop
from search.report import cli as report_cli
from search.report.winners import distinct_configurations
from search import run as run_cli
from tests.conftest import search_args


def tiny_model() -> keras.Model:
    inputs = keras.Input((48, 48, 1), dtype="uint8")
    x = keras.layers.Rescaling(1 / 255.0)(inputs)
    x = keras.layers.Conv2D(2, 5, strides=4, activation="relu")(x)
    outputs = keras.layers.Dense(7, activation="softmax")(keras.layers.Flatten()(x))
    return keras.Model(inputs, outputs)


def test_resize_matches_pillow_bilinear_within_one_grey_level():
    x = np.random.default_rng(0).integers(0, 256, (4, 44, 44, 1), dtype=np.uint8)
    ours = resize(x, 48)[..., 0].astype(int)
    pil = np.stack([np.asarray(Image.fromarray(a[..., 0]).resize((48, 48), Image.BILINEAR)) for a in x]).astype(int)
    assert ours.shape == (4, 48, 48) and np.abs(ours - pil).max() <= 1


@pytest.mark.graph_mode  # the ten-crop model traced, as a report predicts with it
def test_ten_crop_tta_equals_a_hand_computed_average():
    keras.utils.set_random_seed(0)
    model = tiny_model()
    x = np.random.default_rng(1).integers(0, 256, (5, 48, 48, 1), dtype=np.uint8)
    predict = lambda batch: model.predict(batch, verbose=0)  # noqa: E731
    by_hand = []
    for top, left in ((0, 0), (0, 6), (6, 0), (6, 6), (3, 3)):  # crop 42 of 48: corners and centre
        crop = resize(x[:, top:top + 42, left:left + 42], 48)
        by_hand += [predict(crop), predict(crop[:, :, ::-1])]
    np.testing.assert_allclose(predict_tta(predict, x, "ten-crop", crop=42), np.mean(by_hand, axis=0), atol=1e-6)
    assert len(ten_crop_views(x, 42)) == 10
    flip = (predict(x) + predict(x[:, :, ::-1])) / 2
    np.testing.assert_allclose(predict_tta(predict, x, "flip"), flip, atol=1e-6)


def test_a_continuation_counts_once_among_distinct_configurations():
    rows = [{"trial_id": "5", "objective": "0.6", "lr": "0.01", "augment": "light"},  # continuation of 0
            {"trial_id": "0", "objective": "0.5", "lr": "0.01", "augment": "light"},
            {"trial_id": "2", "objective": "0.4", "lr": "0.001", "augment": "light"}]
    assert [r["trial_id"] for r in distinct_configurations(rows)] == ["5", "2"]


def test_top_2_of_a_hyperband_run_are_two_different_configurations(workdir, tiny_demo):
    assert run_cli.main(search_args(tiny_demo, "hb", "--space", "baseline", "--max-epochs", 3,
                                    "--max-trials", 4)) == 0  # 3 one-epoch trials, the best continued
    assert report_cli.main(["--run", "tuner_runs/hb", "--top", "2", "--epochs", "1", "--plain"]) == 0
    models = json.loads((workdir / "reports" / "hb" / "metrics.json").read_text())["models"]
    assert [m["name"] for m in models][-1] == "ensemble"
    first, second = models[0], models[1]
    assert first["hyperparameters"] != second["hyperparameters"]


def test_budget_stop_keeps_the_epoch_after_which_no_other_fits():
    class Spent:
        def fits(self, seconds):
            return False

        def observe_epoch(self, seconds):
            pass

    model = tiny_model()
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    x, y = np.zeros((8, 48, 48, 1), np.uint8), np.zeros(8, int)
    stop = BudgetStop(Spent())
    history = model.fit(x, y, epochs=3, verbose=0, callbacks=[stop]).history
    assert len(history["loss"]) == 1 and stop.cut


def test_the_retraining_budget_is_shared_over_the_winners_still_to_train(monkeypatch):
    now = {"t": 0.0}
    monkeypatch.setattr(budget_module, "now", lambda: now["t"])
    whole = TimeBudget.starting_now(300)
    assert whole.share(3).seconds == pytest.approx(100)
    now["t"] = 60.0  # the first winner finished early: the two left share the remaining 240 s
    assert whole.share(2).seconds == pytest.approx(120) and whole.share(2).deadline == pytest.approx(180)
    now["t"] = 400.0
    assert whole.share(1).seconds == 0 and whole.share(1).spent()


def test_retrain_fix_changes_the_winners_values_unless_the_budget_cannot_afford_it(workdir, tiny_demo, capsys,
                                                                                    monkeypatch):
    from search.report import report_budget
    assert run_cli.main(search_args(tiny_demo, "rf", "--space", "baseline", "--tuner", "random", "--max-trials", 1,
                                    "--max-epochs", 1)) == 0
    assert report_cli.main(["--run", "tuner_runs/rf", "--top", "1", "--epochs", "1", "--plain",
                            "--retrain-fix", "dropout=0.3"]) == 0
    winner = json.loads(next((workdir / "models/rf").glob("rank1-*.json")).read_text())
    assert winner["hyperparameters"]["dropout"] == 0.3
    config = json.loads((workdir / "reports/rf/report_config.json").read_text())
    assert config["retrain_fix"] == {"dropout": 0.3}
    capsys.readouterr()
    monkeypatch.setattr(report_budget, "MIN_EPOCHS_AT_RETRAIN_FIX", 10 ** 6)  # a share no tiny epoch count fills
    assert report_cli.main(["--run", "tuner_runs/rf", "--top", "1", "--epochs", "1", "--plain", "--overwrite",
                            "--retrain-fix", "dropout=0.3", "--time-budget", "60s"]) == 0
    assert "fewer than 1000000 fit each winner's" in capsys.readouterr().out
    winner = json.loads(next((workdir / "models/rf").glob("rank1-*.json")).read_text())
    trial = json.loads(next((workdir / "tuner_runs/rf").glob("trial_*/trial.json")).read_text())
    assert winner["hyperparameters"]["dropout"] == trial["hyperparameters"]["values"]["dropout"]  # the trial's own
    for bad, words in (("dropout=0.9", "not a value dropout takes"), ("input_size=96", "no hyperparameter input_size")):
        assert report_cli.main(["--run", "tuner_runs/rf", "--top", "1", "--plain", "--overwrite",
                                "--retrain-fix", bad]) == 2
        assert words in capsys.readouterr().err


def test_the_report_judges_tta_against_the_budget_it_is_told_to(monkeypatch):
    """Run by the one command, the report judges TTA by the plan's whole budget, as the plan did."""
    from search.report import report_budget as rb
    from search.report.report_config import ReportConfig
    monkeypatch.setattr(rb, "winner_image_seconds", lambda *a, **k: 0.01)  # 10 ms an image
    data = {split: (None, np.zeros(n)) for split, n in (("train", 100), ("val", 1000), ("test", 1000))}
    lines = []
    console = type("C", (), {"line": lambda self, text: lines.append(text)})()
    # ten-crop: 2x1000 val + 11x1000 test passes at 10 ms = 130 s, +5 s per model +5 s shared = 140 s
    alone = ReportConfig(tta="ten-crop", time_budget="1000s")  # 140 s > a tenth of 1000 s; flip's 60 s fits
    options, budget = rb.report_budget(None, [{}], data, alone, console, started=budget_module.now())
    assert options.tta == "flip" and "over 10% of the 16m40s budget" in lines[0]
    told = ReportConfig(tta="ten-crop", time_budget="1000s", tta_budget="2000s")  # a tenth of 2000 s: 200 s
    options, budget = rb.report_budget(None, [{}], data, told, console, started=budget_module.now())
    assert options.tta == "ten-crop"
    assert budget.seconds == pytest.approx(1000 * 0.98 - 140, abs=1)  # the evaluation still reserved from its own
    short = ReportConfig(tta="ten-crop", time_budget="100s", tta_budget="2000s")  # ten-crop's 140 s, flip's 60 s
    options, budget = rb.report_budget(None, [{}], data, short, console, started=budget_module.now())
    assert options.tta == "flip"  # the plan's choice stepped down to what the report's own 98 s can score
