"""The shared training recipe: schedule, label smoothing, weight decay, mixup, crops and erasing."""
import keras
import keras_tuner as kt
import numpy as np
import pytest
from keras import ops

from fer.tta import predict_tta, ten_crop_views
from search.schedule import MixupBatches, WarmupCosine, fit_inputs
from spaces import SpaceOptions, get_space
from spaces.augment import RandomCropWindow, RandomErasing
from spaces.recipe import SmoothedCrossentropy, label_accuracy

pytestmark = pytest.mark.graph_mode  # Keras's functions traced as users run them (tests/conftest.py)


def rates(schedule: str, epochs: int, steps: int, base: float = 0.1, initial_epoch: int = 0, budget=None,
          clock=None, pace=lambda epoch: 10.0) -> list:
    """The learning rate WarmupCosine sets at each step of a fit of `epochs` x `steps`; with a
    `budget`, `clock` (a one-item list, the budget's now) moves pace(epoch) seconds per epoch."""
    model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.SGD(base), loss="mse")
    callback = WarmupCosine(schedule, budget)
    callback.set_model(model)
    callback.set_params({"epochs": epochs, "steps": steps})
    callback.on_train_begin()
    seen = []
    for epoch in range(initial_epoch, epochs):
        callback.on_epoch_begin(epoch)
        for batch in range(steps):
            callback.on_train_batch_begin(batch)
            seen.append(float(ops.convert_to_numpy(model.optimizer.learning_rate)))
        if clock is not None:
            clock[0] += pace(epoch)
        callback.on_epoch_end(epoch, {})
    return seen


def test_a_cosine_under_a_time_budget_decays_within_the_epochs_that_fit(monkeypatch):
    from search import budget as time_budget
    clock = [1000.0]
    monkeypatch.setattr(time_budget, "now", lambda: clock[0])
    budget = time_budget.TimeBudget.starting_now(45.0)  # 10 s epochs: 4 fit of the 10 planned
    got = rates("cosine", 10, steps=50, budget=budget, clock=clock)
    assert got[:50] == pytest.approx(rates("cosine", 10, steps=50)[:50])  # the first epoch as planned
    assert got[4 * 50 - 1] < 1e-3 * 0.1  # the decay ends with the 4th epoch, where the budget stops the fit
    assert np.all(np.diff(got[49:4 * 50]) <= 1e-9)
    assert rates("cosine", 10, steps=50, budget=time_budget.TimeBudget.starting_now(1e6), clock=clock) == \
        pytest.approx(rates("cosine", 10, steps=50))  # a budget that holds the whole fit changes nothing
    # a first epoch slowed by tracing (20 s, then 5 s each): 3 epochs seemed to fit, then 9 do
    slow_start = rates("cosine", 10, steps=50, budget=time_budget.TimeBudget.starting_now(60.0), clock=clock,
                       pace=lambda epoch: 20.0 if epoch == 0 else 5.0)
    assert min(slow_start[3 * 50:8 * 50]) > 1e-3 * 0.1  # still learning after the third epoch
    assert slow_start[9 * 50 - 1] < 1e-3 * 0.1  # and decayed by the ninth, where the budget ends the fit


@pytest.mark.parametrize("epochs", [2, 20])
def test_cosine_warms_up_to_the_chosen_rate_then_decays_to_near_zero(epochs):
    got = rates("cosine", epochs, steps=50)
    warmup = min(50, int(0.1 * epochs * 50))  # a tenth of the fit, at most an epoch
    np.testing.assert_allclose(got[:warmup], 0.1 * np.arange(1, warmup + 1) / warmup * np.array(
        [0.5 * (1 + np.cos(np.pi * max(0, s + 1 - warmup) / (epochs * 50 - warmup))) for s in range(warmup)]), rtol=1e-5)
    assert got[warmup - 1] == pytest.approx(0.1, rel=1e-5)  # warm-up ends at the chosen rate
    assert np.all(np.diff(got[warmup - 1:]) <= 1e-9)  # then only decreases
    assert got[-1] < 1e-3 * 0.1 and got[len(got) // 2 + warmup // 2] == pytest.approx(0.05, rel=0.05)


def test_a_continuation_gets_a_whole_schedule_over_its_own_epochs():
    continued = rates("cosine", 6, steps=50, initial_epoch=2)  # Hyperband: epochs 2-5 of a 6-epoch trial
    assert continued == pytest.approx(rates("cosine", 4, steps=50))


def test_plateau_warms_up_then_leaves_the_rate_alone():
    got = rates("plateau", 3, steps=20)
    assert got[0] == pytest.approx(0.1 / 6) and got[5] == pytest.approx(0.1)
    assert got[6:] == [pytest.approx(0.1)] * (len(got) - 6)


def built(space: str, **pinned) -> keras.Model:
    hp = kt.HyperParameters()
    for name, value in pinned.items():
        hp.Fixed(name, value)
    return get_space(space).build(hp, SpaceOptions(weights=None))


def test_label_smoothing_weight_decay_and_sgd_reach_the_compiled_model():
    model = built("cnn", optimizer="sgd", sgd_learning_rate=0.012, weight_decay=3e-4, label_smoothing=0.1,
                  conv_blocks=2, filters=16)
    assert isinstance(model.optimizer, keras.optimizers.SGD) and model.optimizer.nesterov
    assert model.optimizer.weight_decay == pytest.approx(3e-4)
    assert float(ops.convert_to_numpy(model.optimizer.learning_rate)) == pytest.approx(0.012)  # not the default 0.01
    assert model.loss.label_smoothing == pytest.approx(0.1)
    adam = built("cnn", optimizer="adam", learning_rate=2e-3, conv_blocks=2, filters=16)
    assert type(adam.optimizer) is keras.optimizers.Adam and not adam.optimizer.weight_decay
    adamw = built("cnn", optimizer="adamw", adamw_weight_decay=0.02, conv_blocks=2).optimizer
    assert isinstance(adamw, keras.optimizers.AdamW) and adamw.weight_decay == pytest.approx(0.02)


def test_smoothed_crossentropy_matches_keras_on_labels_and_soft_targets():
    probs = np.random.default_rng(0).dirichlet(np.ones(7), size=6).astype("float32")
    labels = np.array([0, 1, 2, 3, 4, 6])
    onehot = np.eye(7, dtype="float32")[labels]
    expected = keras.losses.CategoricalCrossentropy(label_smoothing=0.1)(onehot, probs)
    loss = SmoothedCrossentropy(7, 0.1)
    assert float(loss(labels, probs)) == pytest.approx(float(expected), rel=1e-5)
    assert float(loss(onehot, probs)) == pytest.approx(float(expected), rel=1e-5)
    soft = 0.7 * onehot + 0.3 * onehot[::-1]
    assert ops.convert_to_numpy(label_accuracy(soft, probs)).tolist() == \
        (probs.argmax(1) == soft.argmax(1)).astype(float).tolist()


def test_mixup_blends_faces_and_targets_that_sum_to_one():
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (40, 48, 48, 1), dtype=np.uint8)
    y = np.arange(40) % 7
    weights = {c: float(c + 1) for c in range(7)}
    batches = fit_inputs({"mixup": 0.4}, x, y, 16, weights, 7, seed=1)["x"]
    assert isinstance(batches, MixupBatches) and len(batches) == 3
    bx, by, bw = batches[0]
    assert bx.dtype == np.uint8 and bx.shape == (16, 48, 48, 1)
    np.testing.assert_allclose(by.sum(axis=1), 1.0, rtol=1e-6)
    assert (by.max(axis=1) < 0.999).sum() >= 8  # most are blends of two classes
    # each face's weight is its two classes' weights blended by the same lambda as its targets
    np.testing.assert_allclose(bw, by @ np.array([weights[c] for c in range(7)]), rtol=1e-5)
    assert fit_inputs({"mixup": 0.0}, x, y, 16, None, 7)["x"] is x  # off: the arrays as they are


def test_random_crop_is_the_centre_at_inference_and_a_window_in_training():
    x = np.random.default_rng(0).random((6, 48, 48, 1)).astype("float32")
    layer = RandomCropWindow(44, seed=0)
    np.testing.assert_array_equal(ops.convert_to_numpy(layer(x, training=False)), x[:, 2:46, 2:46])
    np.testing.assert_array_equal(ops.convert_to_numpy(keras.layers.CenterCrop(44, 44)(x)), x[:, 2:46, 2:46])
    out = ops.convert_to_numpy(layer(x, training=True))
    origins = []
    for img, crop in zip(x, out):
        found = [(i, j) for i in range(5) for j in range(5) if np.array_equal(img[i:i + 44, j:j + 44], crop)]
        assert len(found) == 1
        origins += found
    assert len(set(origins)) > 1  # not always the same place


def test_random_erasing_is_identity_at_inference_and_erases_in_training():
    x = np.full((64, 48, 48, 1), 0.5, dtype="float32")
    layer = RandomErasing(0.5, seed=0)
    np.testing.assert_array_equal(ops.convert_to_numpy(layer(x, training=False)), x)
    changed = (ops.convert_to_numpy(layer(x, training=True)) != 0.5).reshape(64, -1).mean(axis=1)
    assert 16 <= (changed > 0).sum() <= 48  # about half the faces
    assert changed.max() <= 0.26 and changed[changed > 0].min() >= 0.005


def test_ten_crop_of_a_cropping_model_sees_exactly_the_ten_windows():
    x = np.random.default_rng(0).integers(0, 256, (3, 48, 48, 1), dtype=np.uint8)
    weights = np.random.default_rng(1).random((44 * 44, 7))
    def head(windows):  # any function of the 44x44 window the model keeps
        return windows.reshape(len(windows), -1).astype("float64") @ weights
    def model(batch):  # what a model with CenterCrop(44) in front of the head computes
        return head(batch[:, 2:46, 2:46])
    windows = [(0, 0), (0, 4), (4, 0), (4, 4), (2, 2)]
    expected = np.mean([head(v) for y0, x0 in windows
                        for v in (x[:, y0:y0 + 44, x0:x0 + 44], x[:, y0:y0 + 44, x0:x0 + 44][:, :, ::-1])], axis=0)
    np.testing.assert_allclose(predict_tta(model, x, "ten-crop", model_crop=44), expected, rtol=1e-5)
    assert all(v.shape == x.shape for v in ten_crop_views(x, 44, model_crops=True))


@pytest.mark.parametrize("space", ["cnn", "resnet"])
def test_a_space_pinned_without_batch_norm_has_none_and_trains(space):
    assert any(isinstance(layer, keras.layers.BatchNormalization) for layer in built(space).layers)  # on by default
    keras.utils.set_random_seed(0)
    model = built(space, batch_norm=False)
    assert not any(isinstance(layer, keras.layers.BatchNormalization) for layer in model.layers)
    x = np.random.default_rng(0).integers(0, 256, (8, 48, 48, 1), dtype=np.uint8)
    y = np.arange(8) % 7
    before = model.evaluate(x, y, verbose=0, return_dict=True)
    for _ in range(10):
        model.train_on_batch(x, y)
    after = model.evaluate(x, y, verbose=0, return_dict=True)
    assert np.isfinite(after["loss"]) and after["loss"] < before["loss"]  # it fits the one batch it sees
    assert 8 * after["accuracy"] == pytest.approx(round(8 * after["accuracy"]))  # k of the 8 faces


def test_weight_decay_shrinks_kernels_only():
    model = built("cnn", optimizer="sgd", weight_decay=5e-4, conv_blocks=2, filters=16)
    model.optimizer.build(model.trainable_variables)
    decayed = {v.name for v in model.trainable_variables if model.optimizer._use_weight_decay(v)}
    assert decayed and all(name == "kernel" for name in decayed)
    assert {v.name for v in model.trainable_variables} - decayed >= {"bias", "gamma", "beta"}
