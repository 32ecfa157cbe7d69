"""Transfer learning's fit (search.transfer): a frozen phase, then fine-tuning the top layers at a lower
rate, one schedule; the frozen backbone's cached features (search.feature_cache); BatchNorm kept on
its statistics or re-estimated on the faces (search.batch_norm). MobileNetV2 at 32 px, alpha 0.35,
random init, on a few dozen random faces."""
import json

import keras
import keras_tuner as kt
import numpy as np
import pytest
from keras_tuner.src.engine.tuner_utils import SaveBestEpoch  # keras-tuner's best-epoch checkpoint of a trial

from conftest import search_args
from search import batch_norm, feature_cache, transfer
from search.training import Fitting, fit
from spaces import SpaceOptions, get_space
from spaces.inference import inference_model

OPTIONS = SpaceOptions(weights=None)
SMALL = {"input_size": 32, "alpha": 0.35, "augment": "off"}
FITTING = Fitting(batch_size=8, objective="val_accuracy", direction="max", patience=3)


def faces(n, seed):
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, (n, 48, 48, 1), dtype=np.uint8), np.arange(n) % 7


def built(**values):
    """The mobilenet space's model at these values (and SMALL), with its hyperparameters' values."""
    keras.utils.set_random_seed(0)
    hp = kt.HyperParameters()
    for name, value in {**SMALL, **values}.items():
        hp.Fixed(name, value)
    return get_space("mobilenet").build(hp, OPTIONS), dict(hp.values)


class Snapshots(keras.callbacks.Callback):
    """Each epoch's weights of the model it is given, and what it was told."""

    def __init__(self):
        super().__init__()
        self.weights, self.events, self.models = [], [], []

    def on_train_begin(self, logs=None):
        self.events.append("begin")

    def on_epoch_end(self, epoch, logs=None):
        self.weights.append({w.path: keras.ops.convert_to_numpy(w).copy() for w in self.model.weights})
        self.events.append((epoch, self.params["epochs"]))
        self.models.append(self.model)

    def on_train_end(self, logs=None):
        self.events.append("end")


def changed(before: dict, after: dict) -> set:
    return {path for path in before if not np.array_equal(before[path], after[path])}


def test_a_fit_splits_its_epochs_into_a_frozen_phase_and_fine_tuning():
    assert [transfer.frozen_epochs(0.25, n) for n in (1, 2, 3, 4, 8)] == [0, 1, 1, 1, 2]
    assert [transfer.frozen_epochs(0.5, n) for n in (1, 2, 3, 4)] == [0, 1, 2, 2]  # fine-tuning keeps one
    assert transfer.frozen_epochs(0.0, 10) == 0
    P = transfer.Phase
    values = {"frozen_phase": 0.5, "finetune_lr_factor": 0.3}
    assert transfer.phases(values, 0, 4, True) == [P(True, 2, 1.0), P(False, 4, 0.3)]
    assert transfer.phases(values, 2, 6, True) == [P(True, 4, 1.0), P(False, 6, 0.3)]  # a Hyperband continuation
    assert transfer.phases(values, 0, 4, False) == [P(True, 4, 1.0)]  # nothing of the backbone trains
    assert transfer.phases({}, 0, 4, True) == [P(False, 4, 1.0)]  # a trial saved before the phases


@pytest.mark.parametrize("cached", [True, False], ids=["cached", "uncached"])
def test_the_phases_train_the_layers_they_should_and_callbacks_see_one_fit(cached, tmp_path):
    schedule = "cosine" if cached else "plateau"
    model, values = built(unfreeze_layers=10, frozen_phase=0.5, finetune_lr_factor=0.3, lr_schedule=schedule)
    parts = transfer.Parts.of(model)
    top = {w.path for w in parts.backbone.trainable_weights}
    assert top and all(not isinstance(layer, keras.layers.BatchNormalization) or not layer.trainable_weights
                       for layer in parts.backbone.layers)
    start = {w.path: keras.ops.convert_to_numpy(w).copy() for w in model.weights}
    spy, best = Snapshots(), tmp_path / "best.weights.h5"
    saver = SaveBestEpoch(kt.Objective("val_loss", "min"), str(best))
    fitting = Fitting(**{**FITTING.__dict__, "feature_cache": str(tmp_path / "cache") if cached else None})
    result = fit(model, values, *faces(32, 0), fitting, validation=faces(16, 1), callbacks=[saver, spy], epochs=2)

    backbone = {w.path for w in parts.backbone.weights}
    head = {w.path for w in model.layers[-2].weights}  # predictions_logits
    assert changed(start, spy.weights[0]) == head  # phase 1: the head only
    assert changed(spy.weights[0], spy.weights[1]) == head | top  # phase 2: and the top 10 layers
    assert not changed(start, spy.weights[1]) & (backbone - top)  # BatchNorm's statistics too
    assert spy.events == ["begin", (0, 2), (1, 2), "end"] and spy.models == [model, model]
    assert result.history.epoch == [0, 1] and len(result.history.history["val_accuracy"]) == 2
    assert list((tmp_path / "cache").glob("*.npy")) if cached else not (tmp_path / "cache").exists()
    rates = result.history.history["learning_rate"]
    if cached:  # one cosine over both epochs: half-way down after the first, not restarted
        assert 0.4 * 3e-4 < rates[0] < 0.8 * 3e-4 and rates[1] == pytest.approx(0.0, abs=1e-9)
    else:  # plateau: the fine-tuning phase at the rate times finetune_lr_factor
        assert rates[1] == pytest.approx(3e-4 * 0.3)
    kept = int(np.argmin(result.history.history["val_loss"]))
    fresh, _ = built(unfreeze_layers=10)
    fresh.load_weights(best)  # keras-tuner's checkpoint is the full model's best epoch
    assert not changed(spy.weights[kept], {w.path: keras.ops.convert_to_numpy(w) for w in fresh.weights})


def test_the_cache_returns_the_backbones_own_outputs_and_is_rebuilt_when_they_change(tmp_path):
    model, _ = built(unfreeze_layers=0)
    parts = transfer.Parts.of(model)
    x, _ = faces(24, 0)
    batch_norm.reestimate(parts.path_in, parts.backbone, x)  # features of order one (random init's are ~1e-12)
    own = keras.ops.convert_to_numpy(parts.backbone(parts.path_in([x], training=False), training=False))
    assert np.abs(own).mean() > 0.01
    first, hit = feature_cache.features(parts.extractor, parts.backbone, x, tmp_path)
    assert not hit and first.shape == (24, 1280) and np.abs(first - own).max() < 1e-5
    again, hit = feature_cache.features(parts.extractor, parts.backbone, x, tmp_path)
    assert hit and isinstance(again, np.memmap) and np.array_equal(again, first)
    assert len(list(tmp_path.glob("*.npy"))) == 1
    assert not feature_cache.features(parts.extractor, parts.backbone, faces(24, 5)[0], tmp_path)[1]  # data
    conv = parts.backbone.get_layer("Conv1").kernel
    conv.assign(conv * 1.01)
    moved, hit = feature_cache.features(parts.extractor, parts.backbone, x, tmp_path)  # weights
    assert not hit and np.abs(moved - first).max() > 1e-3
    other = transfer.Parts.of(built(unfreeze_layers=0, input_size=48)[0])
    assert not feature_cache.features(other.extractor, other.backbone, x, tmp_path)[1]  # input size
    assert len(list(tmp_path.glob("*.npy"))) == 4
    broken = next(tmp_path.glob("*.npy"))
    broken.write_bytes(b"not an array")  # a damaged file is computed again, not trusted
    assert feature_cache.load(broken, 24) is None


@pytest.mark.parametrize("mode", ["adapt", "frozen"])
def test_the_batch_norm_mode_is_what_the_saved_model_uses(mode, tmp_path):
    model, values = built(unfreeze_layers=0, batch_norm_mode=mode)
    parts = transfer.Parts.of(model)
    x, y = faces(16, 0)
    conv1 = keras.Model(parts.backbone.input, parts.backbone.get_layer("Conv1").output)
    inputs = keras.ops.convert_to_numpy(conv1(parts.path_in([x], training=False)))
    fit(model, values, x, y, FITTING, validation=faces(8, 1), epochs=1)
    bn = parts.backbone.get_layer("bn_Conv1")
    mean, var = (keras.ops.convert_to_numpy(v) for v in (bn.moving_mean, bn.moving_variance))
    if mode == "adapt":  # the faces' statistics (one batch of 16: its mean and variance)
        np.testing.assert_allclose(mean, inputs.mean(axis=(0, 1, 2)), rtol=1e-4, atol=1e-6)
        np.testing.assert_allclose(var, inputs.var(axis=(0, 1, 2)), rtol=1e-3, atol=1e-6)
        assert not bn.trainable and bn.momentum == 0.999  # put back: inference mode in training
    else:  # random init's own: zero mean, unit variance
        assert np.array_equal(mean, np.zeros_like(mean)) and np.array_equal(var, np.ones_like(var))
    inference_model(model).save(tmp_path / "m.keras")
    saved = keras.models.load_model(tmp_path / "m.keras")
    saved_bn = next(layer for layer in saved.layers if isinstance(layer, keras.Model)).get_layer("bn_Conv1")
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(saved_bn.moving_mean), mean)
    np.testing.assert_array_equal(saved.predict(x, verbose=0), model.predict(x, verbose=0))


def test_adapt_uses_a_fixed_sample_of_the_faces():
    assert np.array_equal(batch_norm.sample(10_000), batch_norm.sample(10_000))
    assert len(batch_norm.sample(10_000)) == batch_norm.FACES and len(batch_norm.sample(40)) == 40


def test_trials_saved_before_the_phases_rebuild_without_them_and_fit_in_one_phase():
    saved = kt.HyperParameters()  # a trial's saved space: whole, without frozen_phase
    saved.Choice("input_size", [32, 48], default=32)
    saved.Choice("unfreeze_layers", [0, 20], default=20)
    saved.Fixed("alpha", 0.35)
    model = get_space("mobilenet").build(saved, OPTIONS)
    assert not {"frozen_phase", "finetune_lr_factor", "batch_norm_mode"} & {p.name for p in saved.space}
    assert transfer.plan(model, saved.values, 0, 3, "/nowhere") is None  # one plain fit, as it was trained
    fresh = kt.HyperParameters()
    get_space("mobilenet").build(fresh, OPTIONS)
    assert {k: fresh.values[k] for k in ("frozen_phase", "finetune_lr_factor", "batch_norm_mode")} == {
        "frozen_phase": 0.25, "finetune_lr_factor": 0.3, "batch_norm_mode": "frozen"}


def test_a_search_trains_both_phases_and_caches_the_frozen_one(workdir, tiny_demo):
    from search.run import main
    pins = [f"--fix={k}={v}" for k, v in {**SMALL, "input_size": 48, "unfreeze_layers": 10, "frozen_phase": 0.5,
                                          "crop_size": 48, "random_erasing": 0.0, "mixup": 0.0}.items()]
    assert main(search_args(tiny_demo, "mn", "--space", "mobilenet", "--weights", "none", "--tuner", "random",
                            "--max-trials", 1, "--max-epochs", 2, *pins)) == 0
    trial = next((workdir / "tuner_runs" / "mn").glob("trial_*"))
    assert json.loads((trial / "trial.json").read_text())["status"] == "COMPLETED"
    assert json.loads((trial / "fer_trial.json").read_text())["epochs"] == 2  # the tuner's hooks saw both
    assert (trial / "checkpoint.weights.h5").is_file()
    assert len(list((workdir / "tuner_runs" / ".feature_cache").glob("*.npy"))) == 2  # train and val
