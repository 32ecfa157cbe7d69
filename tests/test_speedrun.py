"""The CIFAR-10 speedrun's ingredients in the shared recipe (spaces.speedrun): a frozen whitening
layer, EMA of the weights, alternating flips, a linear decay, label smoothing 0.2; each off unless
pinned."""
import keras
import keras_tuner as kt
import numpy as np
import pytest

from search.budget import TimeBudget
from search.flips import AlternatingFlips, FlipBatches
from search.report.retrain import save_inference_model
from search.schedule import MixupBatches, fit_inputs
from search.space_info import check_pins, declared_hyperparameters
from search.training import Fitting, fit
from spaces import SpaceOptions, get_space
from spaces.recipe import make_optimizer
from spaces.speedrun import OFF
from spaces.whitening import WHITENING, fit_whitening

from test_recipe import rates

FITTING = Fitting(batch_size=4, objective="val_accuracy", direction="max", patience=3, seed=0)
COSINE = {"lr_schedule": "cosine"}  # no early stopping: every epoch runs
SMALL_CNN = {"conv_blocks": 2, "filters": 16, "convs_per_block": 1, "dense_units": 0, "augment": "off"}


def built(space="cnn", **pins):
    hp = kt.HyperParameters()
    for name, value in pins.items():
        hp.Fixed(name, value)
    return get_space(space).build(hp, SpaceOptions(weights=None))


def smooth_faces(n=12, seed=0):
    """Faces whose neighbouring pixels are strongly correlated (blurred noise on a gradient): their
    2x2 patches are far from white."""
    rng = np.random.default_rng(seed)
    noise = rng.normal(size=(n, 50, 50, 1))
    blurred = (noise[:, :-2, :-2] + noise[:, 1:-1, 1:-1] + noise[:, 2:, 2:] + noise[:, 1:-1, :-2]) / 4
    ramp = np.linspace(0, 1, 48)[None, :, None, None]
    return np.clip(128 + 40 * blurred + 60 * ramp, 0, 255).astype(np.uint8), np.arange(n) % 7


def channel_covariance(features: np.ndarray) -> np.ndarray:
    rows = features.reshape(-1, features.shape[-1]).astype("float64")
    return np.cov(rows, rowvar=False)


# -- off by default ---------------------------------------------------------------------------------

def test_nothing_changes_unless_pinned():
    """A fresh build registers none of them (so a search's draws keep their seeds), has no whitening
    layer, keeps the augmentation's random flip and an optimizer without averaging."""
    hp = kt.HyperParameters()
    model = get_space("cnn").build(hp, SpaceOptions(weights=None))
    assert not set(OFF) & {p.name for p in hp.space}
    assert WHITENING not in [layer.name for layer in model.layers]
    augment = model.get_layer("augment_light")
    assert [type(layer).__name__ for layer in augment.layers][0] == "RandomFlip"
    assert not model.optimizer.use_ema
    faces = np.zeros((4, 48, 48, 1), "uint8")
    assert fit_inputs(hp.values, faces, np.arange(4), 2, None, 7)["x"] is faces  # the arrays as they are


def test_pins_are_checked_against_the_space_and_listed():
    check_pins("cnn", {"patch_whitening": 2, "weight_ema": 0.99, "flip_mode": "alternating",
                       "lr_schedule": "linear", "label_smoothing": 0.2}, "--fix")
    for pins, words in [({"patch_whitening": 5}, "patch_whitening takes one of 0, 2, 3"),
                        ({"weight_ema": 1.0}, "weight_ema takes a number from 0 to below 1"),
                        ({"flip_mode": "always"}, "flip_mode takes random or alternating"),
                        ({"lr_schedule": "step"}, "lr_schedule takes one of plateau, cosine, linear")]:
        with pytest.raises(Exception, match=words):
            check_pins("cnn", pins, "--fix")
    with pytest.raises(Exception, match="the mobilenet space has no hyperparameter 'patch_whitening'"):
        check_pins("mobilenet", {"patch_whitening": 2}, "--fix")  # its pretrained stem takes no whitened input
    assert [p.name for p in declared_hyperparameters("cnn")][-3:] == ["patch_whitening", "weight_ema", "flip_mode"]


def test_label_smoothing_02_reaches_the_loss():
    assert built(**SMALL_CNN, label_smoothing=0.2).loss.label_smoothing == 0.2


# -- the frozen whitening layer ---------------------------------------------------------------------

def test_whitening_whitens_the_patches_it_was_fitted_on_and_stays_frozen():
    x, y = smooth_faces()
    model = built(**SMALL_CNN, patch_whitening=2)
    layer = model.get_layer(WHITENING)
    probe = keras.Model(model.inputs, [layer.input, layer.output])
    assert fit_whitening(model, x) == 1
    inputs, outputs = (keras.ops.convert_to_numpy(t) for t in probe(x))
    assert outputs.shape == (12, 47, 47, 4)  # 2x2 patches of 48x48 faces, 4 directions
    raw = channel_covariance(np.lib.stride_tricks.sliding_window_view(inputs[..., 0], (2, 2), axis=(1, 2)).reshape(
        12, 47, 47, 4))
    assert np.abs(raw - np.diag(np.diag(raw))).max() > 0.5 * np.diag(raw).max()  # strongly correlated before
    np.testing.assert_allclose(channel_covariance(outputs), np.eye(4), atol=2e-3)
    np.testing.assert_allclose(outputs.reshape(-1, 4).mean(axis=0), 0.0, atol=1e-4)
    trainable = {id(v) for v in model.trainable_weights}
    assert not layer.trainable and not any(id(v) in trainable for v in layer.weights)
    kernel, bias = (w.copy() for w in layer.get_weights())
    others = [w.copy() for w in model.get_layer(index=model.layers.index(layer) + 1).get_weights()]
    model.train_on_batch(x, y)
    np.testing.assert_array_equal(layer.get_weights()[0], kernel)
    np.testing.assert_array_equal(layer.get_weights()[1], bias)
    assert any(not np.array_equal(a, b) for a, b in zip(others, model.get_layer(
        index=model.layers.index(layer) + 1).get_weights()))  # the layer after it did learn


def test_the_training_core_fits_the_whitening_and_the_saved_model_keeps_it(tmp_path):
    x, y = smooth_faces()
    model = built(**SMALL_CNN, patch_whitening=2)
    layer = model.get_layer(WHITENING)
    fit(model, {}, x, y, FITTING, epochs=1)
    kernel = layer.get_weights()[0].copy()
    fit_whitening(model, x)  # the same faces: the same filters (a refit changes nothing)
    np.testing.assert_allclose(layer.get_weights()[0], kernel, rtol=1e-6)
    assert np.abs(kernel).max() > 1.0  # fitted (Keras's init is below 1), not the initial filters
    paths = {ext: str(tmp_path / f"m.{ext}") for ext in ("h5", "keras")}
    save_inference_model(model, paths)
    loaded = keras.models.load_model(paths["keras"])
    np.testing.assert_array_equal(loaded.get_layer(WHITENING).get_weights()[0], kernel)
    assert not loaded.get_layer(WHITENING).trainable


# -- EMA of the weights -----------------------------------------------------------------------------

def ema_model(ema: float):
    keras.utils.set_random_seed(0)
    inputs = keras.Input((48, 48, 1), dtype="uint8")
    x = keras.layers.GlobalAveragePooling2D()(keras.layers.Conv2D(2, 3)(keras.layers.Rescaling(1 / 255)(inputs)))
    model = keras.Model(inputs, keras.layers.Dense(7, activation="softmax")(x))
    model.compile(optimizer=make_optimizer("sgd", 0.5, 0.0, ema), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    return model


class RawWeights(keras.callbacks.Callback):
    """The weights after every training step (within an epoch the model trains on the raw ones)."""

    def __init__(self):
        super().__init__()
        self.steps, self.epoch_ends = [], []

    def on_train_batch_end(self, batch, logs=None):
        self.steps.append([w.copy() for w in self.model.get_weights()])

    def on_epoch_end(self, epoch, logs=None):
        self.epoch_ends.append(len(self.steps))


def hand_average(steps: list, momentum: float, upto: int) -> list:
    """a = w after the first step, then a = m a + (1 - m) w after each of the next."""
    average = [w.copy() for w in steps[0]]
    for weights in steps[1:upto]:
        average = [momentum * a + (1 - momentum) * w for a, w in zip(average, weights)]
    return average


def test_ema_is_the_hand_computed_average_and_what_is_validated_checkpointed_and_saved(tmp_path):
    x, y = smooth_faces(12)
    xv, yv = smooth_faces(8, seed=1)
    model, raw = ema_model(0.5), RawWeights()
    history = fit(model, COSINE, x, y, FITTING, validation=(xv, yv), checkpoint=tmp_path / "best.weights.h5",
                  callbacks=[raw], epochs=3, shuffle=False).history.history
    assert len(raw.steps) == 9  # 3 epochs of 3 steps
    final = hand_average(raw.steps, 0.5, 9)
    assert any(not np.allclose(a, w) for a, w in zip(final, raw.steps[-1]))  # the average is not the last step
    for got, want in zip(model.get_weights(), final):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
    assert model.evaluate(xv, yv, verbose=0, return_dict=True)["loss"] == pytest.approx(history["val_loss"][-1],
                                                                                          rel=1e-5)
    best = int(np.argmax(history["val_accuracy"]))  # save_best_only keeps the first of equal scores
    check = ema_model(0.5)
    check.load_weights(tmp_path / "best.weights.h5")
    for got, want in zip(check.get_weights(), hand_average(raw.steps, 0.5, raw.epoch_ends[best])):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
    paths = {ext: str(tmp_path / f"m.{ext}") for ext in ("h5", "keras")}
    save_inference_model(model, paths)
    for got, want in zip(keras.models.load_model(paths["keras"]).get_weights(), final):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


def test_showing_the_average_leaves_the_training_trajectory_alone():
    x, y = smooth_faces(12)
    runs = []
    for ema in (0.0, 0.5):
        raw = RawWeights()
        fit(ema_model(ema), COSINE, x, y, FITTING, validation=smooth_faces(8, 1), callbacks=[raw], epochs=2,
            shuffle=False)
        runs.append(raw.steps)
    for plain, averaged in zip(*runs):
        for a, b in zip(plain, averaged):
            np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_a_fit_cut_by_the_budget_ends_with_the_average():
    """Keras's SwapEMAWeights would leave the raw weights here (it restores only at the planned last epoch)."""
    class OneEpochLeft(TimeBudget):
        def fits(self, seconds):
            return False
    x, y = smooth_faces(12)
    model, raw = ema_model(0.5), RawWeights()
    result = fit(model, COSINE, x, y, FITTING, validation=smooth_faces(8, 1), budget=OneEpochLeft(60, 1e12),
                 callbacks=[raw], epochs=3, shuffle=False)
    assert result.cut_by_budget and len(raw.steps) == 3
    for got, want in zip(model.get_weights(), hand_average(raw.steps, 0.5, 3)):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


def test_a_pinned_weight_ema_reaches_the_optimizer():
    model = built(**SMALL_CNN, weight_ema=0.99)
    assert model.optimizer.use_ema and model.optimizer.ema_momentum == 0.99


# -- alternating flips ------------------------------------------------------------------------------

def marked_faces(n: int) -> np.ndarray:
    """Face i holds i + 1 in its top-left pixel and 0 elsewhere: mirrored, the mark is top-right."""
    x = np.zeros((n, 48, 48, 1), np.uint8)
    x[:, 0, 0, 0] = np.arange(1, n + 1)
    return x


def seen(batch_faces: np.ndarray) -> dict:
    """{face index: mirrored?} of a batch of marked faces."""
    left, right = batch_faces[:, 0, 0, 0], batch_faces[:, 0, -1, 0]
    return {int(max(a, b)) - 1: bool(b) for a, b in zip(left, right)}


def test_each_face_is_mirrored_on_alternate_epochs_starting_from_a_random_half():
    n = 10
    batches = FlipBatches(marked_faces(n), np.arange(n) % 7, batch_size=4, seed=3)
    epochs = []
    for _ in range(4):
        flipped = {}
        for i in range(len(batches)):
            flipped.update(seen(batches[i][0]))
        assert sorted(flipped) == list(range(n))  # every face once per epoch
        epochs.append(flipped)
        batches.on_epoch_end()
    assert sum(epochs[0].values()) == n // 2
    for face in range(n):
        assert [e[face] for e in epochs] == [epochs[0][face], not epochs[0][face]] * 2
    assert not np.array_equal(batches.flips.first, FlipBatches(marked_faces(n), np.arange(n), 4, seed=4).flips.first)


def test_the_core_trains_on_alternating_flips_and_the_model_drops_its_random_flip(monkeypatch):
    model = built(**{**SMALL_CNN, "augment": "light"}, flip_mode="alternating")
    assert "RandomFlip" not in [type(layer).__name__ for layer in model.get_layer("augment_light").layers]
    x, y = marked_faces(8), np.arange(8) % 7
    fetched = []
    original = FlipBatches.__getitem__
    monkeypatch.setattr(FlipBatches, "__getitem__", lambda self, i: fetched.append(self.epoch) or original(self, i))
    data = fit_inputs({"flip_mode": "alternating", "class_weight": "sqrt"}, x, y, 4, {c: 1.0 for c in range(7)}, 7)
    assert isinstance(data["x"], FlipBatches) and len(data["x"][0]) == 3  # faces, labels, class weights
    fetched.clear()
    fit(model, {"flip_mode": "alternating"}, x, y, FITTING, epochs=3)
    assert {0, 1, 2} <= set(fetched) and fetched == sorted(fetched)  # Keras moves the epoch on between epochs


def test_mixup_batches_take_the_same_flips():
    x = marked_faces(6)
    flips = AlternatingFlips(6, seed=0)
    batches = MixupBatches(x, np.arange(6) % 7, batch_size=1, alpha=0.2, num_classes=7, flips=flips)
    for epoch in range(2):
        for i in range(6):  # a batch of one blends a face with itself: the face as the flips left it
            face = batches.order[i]
            assert seen(batches[i][0]) == {int(face): bool(flips.mirrored(np.array([face]), epoch)[0])}
        batches.on_epoch_end()
    assert isinstance(fit_inputs({"mixup": 0.2, "flip_mode": "alternating"}, x, np.arange(6), 2, None, 7)["x"].flips,
                      AlternatingFlips)


# -- the linear schedule ----------------------------------------------------------------------------

def test_linear_warms_up_then_falls_in_a_straight_line_to_zero():
    got = rates("linear", epochs=5, steps=10, base=0.1)  # 50 steps, warm-up 5 (a tenth)
    # step s: 0.1 * min(1, (s + 1) / 5) * (1 - (s + 1 - 5) / 45), the second factor clipped to [0, 1]
    expected = {0: 0.02, 3: 0.08, 4: 0.1, 13: 0.08, 31: 0.04, 40: 0.02, 49: 0.0}
    assert {s: got[s] for s in expected} == pytest.approx(expected, abs=1e-7)


def test_linear_under_a_budget_ends_with_the_epochs_that_fit(monkeypatch):
    from search import budget as time_budget
    clock = [1000.0]
    monkeypatch.setattr(time_budget, "now", lambda: clock[0])
    got = rates("linear", 10, steps=50, budget=time_budget.TimeBudget.starting_now(45.0), clock=clock)
    assert got[4 * 50 - 1] < 1e-3 * 0.1 and np.all(np.diff(got[49:4 * 50]) <= 1e-9)  # 4 of 10 epochs fit
