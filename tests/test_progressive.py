"""Progressive resizing (spaces.progressive, search.resizing): the sides planned per epoch are the
sides the network is fed, inference and the saved model use the full one, and only the spaces whose
network takes any side accept the pin."""
import keras
import keras_tuner as kt
import numpy as np
import pytest

from fer.errors import UserError
from search.budget import TimeBudget
from search.report.retrain import save_inference_model
from search.resizing import ProgressiveResizing
from search.space_info import check_pins
from search.training import Fitting, fit
from spaces import SpaceOptions, get_space
from spaces.progressive import LAYER_NAME, PROGRESSIVE, ProgressiveResize, planned_side

FITTING = Fitting(batch_size=4, objective="val_accuracy", direction="max", patience=3, seed=0)
POOLED_CNN = {"conv_blocks": 2, "filters": 16, "convs_per_block": 1, "dense_units": 0, "augment": "off",
              "pooling": "gap", "lr_schedule": "cosine"}


def built(space="cnn", **pins):
    hp = kt.HyperParameters()
    for name, value in pins.items():
        hp.Fixed(name, value)
    return get_space(space).build(hp, SpaceOptions(weights=None)), hp


def test_the_side_grows_in_steps_over_three_quarters_of_the_epochs():
    # ramp over 6 of 8 epochs: 32 + 16 * (e / 6), down to a step of 4
    assert [planned_side(e, 8, 32, 48) for e in range(8)] == [32, 32, 36, 40, 40, 44, 48, 48]
    assert [planned_side(e, 4, 40, 44) for e in range(4)] == [40, 40, 40, 44]
    assert [planned_side(e, 2, 32, 48) for e in range(2)] == [32, 48]  # a short fit still ends at the full side
    assert [planned_side(e, 3, 32, 48) for e in range(3)] == [32, 40, 48]
    assert planned_side(0, 1, 32, 48) == 48 and planned_side(0, 5, 48, 48) == 48  # nothing to grow over


def fed_sides(monkeypatch) -> list:
    """Patch the layer to record the side of what it passes on (per call in eager mode, per trace in
    graph mode) and whether it was training."""
    seen, call = [], ProgressiveResize.call

    def recording(self, images, training=None):
        out = call(self, images, training=training)
        seen.append((int(out.shape[1]), bool(training)))
        return out
    monkeypatch.setattr(ProgressiveResize, "call", recording)
    return seen


def fitted_sides(monkeypatch, epochs: int, budget=None):
    keras.utils.set_random_seed(0)
    model, hp = built(**POOLED_CNN, progressive_resize=32)
    seen = fed_sides(monkeypatch)
    x = np.random.default_rng(0).integers(0, 256, (8, 48, 48, 1), dtype=np.uint8)
    y = np.arange(8) % 7
    history = fit(model, hp.values, x, y, FITTING, validation=(x, y), epochs=epochs, budget=budget).history
    return model, seen, history, x


def test_each_epoch_trains_at_its_planned_side_and_validates_at_the_full_one(monkeypatch):
    model, seen, history, x = fitted_sides(monkeypatch, epochs=4)
    assert len(history.history["loss"]) == 4
    trained = [side for side, training in seen if training]
    # 2 batches an epoch, eagerly: sides 32, 36, 40, 48 (planned_side over 4 epochs)
    assert trained == [32, 32, 36, 36, 40, 40, 48, 48]
    assert {side for side, training in seen if not training} == {48}  # every validation pass
    assert model.get_layer(LAYER_NAME).side == 48
    before = len(seen)
    model.fit(x, np.arange(8) % 7, epochs=1, verbose=0)  # a fit outside the training core: the full side
    assert {side for side, _ in seen[before:]} == {48}


@pytest.mark.graph_mode  # the training step traced anew at each new side
def test_the_traced_training_step_is_retraced_at_each_new_side(monkeypatch):
    model, seen, history, x = fitted_sides(monkeypatch, epochs=4)
    assert len(history.history["loss"]) == 4 and all(np.isfinite(history.history["loss"]))
    traced = [side for side, training in seen if training]  # at trace time only (tf.function may trace twice)
    assert [s for i, s in enumerate(traced) if i == 0 or s != traced[i - 1]] == [32, 36, 40, 48]
    assert len(traced) <= 2 * 4


def test_the_saved_model_has_no_resizing_and_predicts_as_the_trained_one(monkeypatch, tmp_path):
    model, _, _, x = fitted_sides(monkeypatch, epochs=2)
    paths = {ext: str(tmp_path / f"m.{ext}") for ext in ("h5", "keras")}
    save_inference_model(model, paths)
    loaded = keras.models.load_model(paths["keras"])
    assert LAYER_NAME not in [layer.name for layer in loaded.layers]
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0), atol=1e-5)


def test_under_a_time_budget_the_full_side_comes_within_the_epochs_that_fit(monkeypatch):
    """Epochs planned from the budget at the full side's pace: 400 s at 100 s a full-side epoch, of
    40 planned; smaller sides cost less, so 5 fit (44 + 56 + 69 + 100 + 100 s), the last two at 48,
    and no sixth starts that would not fit."""
    from search import budget as budget_module
    from search import resizing
    clock = {"t": 0.0}
    monkeypatch.setattr(budget_module, "now", lambda: clock["t"])
    monkeypatch.setattr(resizing.time_budget, "now", lambda: clock["t"])
    callback = ProgressiveResizing(built(**POOLED_CNN, progressive_resize=32)[0].get_layer(LAYER_NAME),
                                   TimeBudget.starting_now(4 * 100.0))
    callback.set_model(keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)]))
    callback.set_params({"epochs": 40})
    for epoch in range(5):
        callback.on_epoch_begin(epoch)
        clock["t"] += 100.0 * (callback.layer.side / 48) ** 2  # an epoch's cost goes with its pixels
        callback.on_epoch_end(epoch)
    # epoch 0 planned over 40 (no pace yet); then 1 + 3, 2 + 2, 3 + 2 and 4 + 1 epochs planned
    assert callback.sides == [32, 36, 40, 48, 48] and clock["t"] <= 400
    assert callback.model.stop_training  # a sixth full-side epoch (100 s) would not fit the 30 s left
    callback.on_train_end()
    assert callback.layer.side == 48


def test_only_networks_that_take_any_side_accept_the_pin():
    check_pins("cnn", {PROGRESSIVE: 36, "pooling": "gap"}, "--fix")
    check_pins("resnet", {PROGRESSIVE: 36}, "--fix")
    with pytest.raises(UserError, match="needs pooling=gap"):
        built(**{**POOLED_CNN, "pooling": "flatten"}, progressive_resize=36)
    for space in ("baseline", "mobilenet"):
        with pytest.raises(Exception, match=f"the {space} space has no hyperparameter 'progressive_resize'"):
            check_pins(space, {PROGRESSIVE: 36}, "--fix")
    with pytest.raises(Exception, match="progressive_resize takes one of"):
        check_pins("cnn", {PROGRESSIVE: 30}, "--fix")
    with pytest.raises(UserError, match="the faces are 40 px"):
        built(**{**POOLED_CNN, "crop_size": 40}, progressive_resize=40)
    model, hp = built(**POOLED_CNN)
    assert PROGRESSIVE not in {p.name for p in hp.space} and LAYER_NAME not in [l.name for l in model.layers]
