"""The report's building blocks: the class report, the importance estimate, Grad-CAM."""
import keras
import keras_tuner as kt
import numpy as np
import pytest
from sklearn import metrics as skm

from fer.constants import CLASS_NAMES
from search.report.gradcam import feature_layer, feature_path, gradcam, split_at
from fer.metrics import class_report, strongest_and_weakest
from search.report.importance import importance
from spaces import SpaceOptions, get_space, mobilenet


def test_class_report_matches_scikit_learn_with_a_class_never_predicted():
    rng = np.random.default_rng(3)
    y = rng.integers(0, 7, 300)
    pred = np.where(rng.random(300) < 0.6, y, rng.integers(0, 7, 300))
    pred[pred == 1] = 0  # disgust never predicted: precision 0, as scikit-learn with zero_division=0
    got = class_report(y, pred)
    labels = list(range(7))
    assert got["accuracy"] == pytest.approx(skm.accuracy_score(y, pred))
    assert got["macro_f1"] == pytest.approx(skm.f1_score(y, pred, average="macro", zero_division=0))
    assert got["weighted_f1"] == pytest.approx(skm.f1_score(y, pred, average="weighted", zero_division=0))
    p, r, f, s = skm.precision_recall_fscore_support(y, pred, labels=labels, zero_division=0)
    assert [c["precision"] for c in got["per_class"]] == pytest.approx(p)
    assert [c["f1"] for c in got["per_class"]] == pytest.approx(f)
    assert got["per_class"][1]["precision"] == 0.0
    strong, weak = strongest_and_weakest(got)
    f1 = dict(zip(CLASS_NAMES, f))
    assert strong[0] == max(f1, key=f1.get) and weak[0] == min(f1, key=f1.get)


def test_importance_finds_the_hyperparameter_that_drives_the_objective():
    rng = np.random.default_rng(0)
    rows = []
    for _ in range(24):
        lr = float(10 ** rng.uniform(-4, -2))
        rows.append({"learning_rate": lr, "augment": str(rng.choice(["off", "light", "strong"])),
                     "dropout": float(rng.uniform(0, 0.5)), "objective": -abs(np.log10(lr) + 3)})
    got = importance(rows, ["learning_rate", "augment", "dropout"])
    assert list(got)[0] == "learning_rate" and got["learning_rate"] > 0.6
    assert sum(got.values()) == pytest.approx(1.0)
    assert importance(rows[:3], ["learning_rate"]) is None  # too few trials to say


def test_a_conditional_rate_stays_one_numeric_column_for_the_importance_forest():
    from search.report.importance import encode
    rows = [{"optimizer": "sgd", "sgd_learning_rate": 0.01, "learning_rate": ""},
            {"optimizer": "adam", "sgd_learning_rate": "", "learning_rate": 0.001},
            {"optimizer": "sgd", "sgd_learning_rate": 0.03, "learning_rate": ""}]
    encoded, numeric = encode(rows, ["optimizer", "sgd_learning_rate", "learning_rate"])
    assert numeric == ["sgd_learning_rate", "learning_rate"]
    assert sorted(encoded.columns) == ["learning_rate", "optimizer=adam", "optimizer=sgd", "sgd_learning_rate"]
    assert list(encoded["sgd_learning_rate"]) == pytest.approx([0.01, 0.01 - 0.02 - 1.0, 0.03])  # inactive: below


def test_gradcam_maps_are_input_sized_and_normalised():
    keras.utils.set_random_seed(0)
    hp = kt.HyperParameters()
    hp.Fixed("conv_blocks", 2)
    model = get_space("cnn").build(hp, SpaceOptions(weights=None))
    assert len(feature_layer(model).output.shape) == 4
    x = np.random.default_rng(0).integers(0, 256, (5, 48, 48, 1), dtype=np.uint8)
    maps = gradcam(model, x, np.array([0, 1, 2, 3, 4]))
    assert maps.shape == (5, 48, 48) and maps.dtype == np.float32
    assert maps.min() >= 0 and maps.max() <= 1 and maps.max() > 0.5  # each map is scaled to its peak


def test_gradcam_of_a_cropping_model_covers_the_window_it_sees():
    keras.utils.set_random_seed(0)
    hp = kt.HyperParameters()
    for name, value in (("conv_blocks", 2), ("crop_size", 40)):
        hp.Fixed(name, value)
    model = get_space("cnn").build(hp, SpaceOptions(weights=None))
    x = np.random.default_rng(0).integers(0, 256, (3, 48, 48, 1), dtype=np.uint8)
    maps = gradcam(model, x, model.predict(x, verbose=0).argmax(axis=1), crop=40)
    assert maps.shape == (3, 48, 48)
    assert not maps[:, :4].any() and not maps[:, -4:].any() and not maps[:, :, :4].any() and not maps[:, :, -4:].any()
    assert maps[:, 4:44, 4:44].max() > 0.9  # the maps lie in the centre 40-px window the model sees


def test_gradcam_on_mobilenet_explains_the_backbones_last_feature_map_even_when_frozen():
    """The outer model's last spatial map is the input rescaling, upstream of every weight; Grad-CAM
    must look inside the backbone, and take its gradient even with every backbone layer frozen."""
    keras.utils.set_random_seed(0)
    hp = kt.HyperParameters()
    for name, value in (("input_size", 48), ("unfreeze_layers", 0), ("augment", "light"), ("alpha", 0.35)):
        hp.Fixed(name, value)
    model = mobilenet.build(hp, SpaceOptions(weights=None))
    backbone = next(l for l in model.layers if l.name.startswith("mobilenetv2"))
    assert not backbone.trainable_weights  # frozen: no gradient reaches the map through a weight
    assert feature_path(model) == [backbone.name, "out_relu"]
    assert feature_layer(model) is backbone.get_layer("out_relu")
    x = np.random.default_rng(0).integers(0, 256, (4, 48, 48, 1), dtype=np.uint8)
    features, head = split_at(model, feature_path(model))
    assert tuple(features.output.shape) == (None, 2, 2, backbone.get_layer("out_relu").output.shape[-1])
    np.testing.assert_allclose(head(features(x, training=False), training=False), model.predict(x, verbose=0),
                               atol=1e-5)  # the split model is the model
    maps = gradcam(model, x, np.array([0, 1, 2, 3]))
    assert maps.shape == (4, 48, 48) and np.isfinite(maps).all()
    assert maps.min() >= 0 and maps.max() <= 1 and maps.max() > 0.5


def test_a_trial_of_an_earlier_space_is_named_with_what_no_longer_fits():
    from search.report.compat import stale_values
    declared = kt.HyperParameters()
    get_space("cnn").build(declared, SpaceOptions(weights=None))
    assert stale_values(declared, dict(declared.values)) == []  # today's defaults fit
    sgd = {**declared.values, "optimizer": "sgd", "sgd_learning_rate": 0.01}
    sgd.pop("learning_rate")
    assert stale_values(declared, sgd) == []
    # a trial drawn when the space still drew balanced weights rebuilds: the space takes it pinned
    assert stale_values(declared, {**declared.values, "class_weight": "balanced"}) == []
    assert stale_values(declared, {**declared.values, "class_weight": "balance"}) != []
    old = stale_values(declared, {"optimizer": "rmsprop", "learning_rate": 0.005, "filters": 32})
    assert old[0] == "optimizer=rmsprop is not among ['adam', 'adamw', 'sgd']"
    assert "learning_rate is used only with optimizer in ['adam', 'adamw'], the trial has optimizer=rmsprop" in old
    assert stale_values(declared, {"optimizer": "sgd", "learning_rate": 0.01}) == [
        "learning_rate is used only with optimizer in ['adam', 'adamw'], the trial has optimizer=sgd"]
    # what the search held with --fix is the trial's, wherever it lies (a rate beside another optimizer, a width off the list)
    held = {"optimizer": "adam", "learning_rate": 3e-4, "weight_decay": 5e-4, "filters": 128}
    assert stale_values(declared, held, held={"weight_decay", "filters"}) == []
    assert len(stale_values(declared, held)) == 2
