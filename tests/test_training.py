"""The training core (`search.training`): the one place a model is fitted, and what every fit gets."""
import ast
from pathlib import Path

import keras
import keras_tuner as kt
import numpy as np
import pytest

from search.budget import TimeBudget
from search.schedule import MixupBatches
from search.training import BudgetStop, Fitting, fit
from spaces import SPACES, Space, SpaceOptions, get_space
from spaces.common import class_weights

ROOT = Path(__file__).resolve().parents[1]
FITTING = Fitting(batch_size=4, objective="val_accuracy", direction="max", patience=3, seed=0)


def tiny_model():
    inputs = keras.Input((48, 48, 1), dtype="uint8")
    x = keras.layers.Rescaling(1 / 255)(inputs)
    x = keras.layers.GlobalAveragePooling2D()(keras.layers.Conv2D(2, 3)(x))
    model = keras.Model(inputs, keras.layers.Dense(7, activation="softmax")(x))
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def faces(n=16, seed=0):
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, (n, 48, 48, 1), dtype=np.uint8), np.arange(n) % 7


def spy_fit(model):
    """Record what the core hands to model.fit, without training."""
    seen = {}

    def fake_fit(**kwargs):
        seen.update(kwargs)
        return keras.callbacks.History()
    model.fit = fake_fit
    return seen


def test_the_core_hands_fit_the_recipes_class_weights_and_callbacks():
    x, y = faces()
    model = tiny_model()
    seen = spy_fit(model)
    fit(model, {"class_weight": "sqrt", "lr_schedule": "plateau"}, x, y, FITTING, validation=faces(8, 1), epochs=2)
    assert seen["class_weight"] == pytest.approx(class_weights("sqrt", y))
    assert seen["batch_size"] == 4 and seen["epochs"] == 2 and seen["verbose"] == 0
    assert [type(c).__name__ for c in seen["callbacks"]] == ["NanGuard", "EarlyStopping", "WarmupCosine",
                                                            "ReduceLROnPlateau"]
    assert seen["callbacks"][1].monitor == "val_accuracy" and seen["callbacks"][1].mode == "max"


def test_mixup_batches_and_a_budget_stop_come_from_the_core():
    x, y = faces()
    model = tiny_model()
    seen = spy_fit(model)
    budget = TimeBudget.starting_now(3600)
    fit(model, {"mixup": 0.2, "lr_schedule": "cosine"}, x, y, FITTING, budget=budget, callbacks=["mine"], epochs=1)
    assert isinstance(seen["x"], MixupBatches) and seen["x"].alpha == 0.2 and "y" not in seen
    names = [type(c).__name__ for c in seen["callbacks"]]
    assert names == ["NanGuard", "WarmupCosine", "str", "BudgetStop"]  # no early stopping without validation
    assert seen["callbacks"][-1].budget is budget


def test_a_fit_cut_by_the_budget_keeps_its_epochs_and_best_checkpoint(tmp_path):
    x, y = faces()

    class OneEpochLeft(TimeBudget):
        def fits(self, seconds):
            return False
    result = fit(tiny_model(), {}, x, y, FITTING, validation=faces(8, 1), budget=OneEpochLeft(60, 1e12),
                 checkpoint=tmp_path / "best.weights.h5", epochs=3)
    assert len(result.history.history["loss"]) == 1 and result.cut_by_budget
    assert (tmp_path / "best.weights.h5").is_file()


def test_the_budget_stop_hands_each_epochs_time_to_the_budget(monkeypatch):
    from search import budget as budget_module
    clock = {"t": 0.0}
    monkeypatch.setattr(budget_module, "now", lambda: clock["t"])
    budget = TimeBudget(seconds=20, deadline=20.0)
    stop = BudgetStop(budget)
    stop.set_model(tiny_model())
    stop.set_params({"epochs": 5})
    for epoch, seconds in enumerate((7.0, 5.0)):  # epochs end at 7 and 12 s: 8 s left fit another of 5 s
        stop.on_epoch_begin(epoch)
        clock["t"] += seconds
        stop.on_epoch_end(epoch)
    assert budget.fastest_epoch == 5.0 and not stop.cut and not stop.model.stop_training
    stop.on_epoch_begin(2)
    clock["t"] += 6.0  # ends at 18 s: 2 s left, less than this epoch's 6 s
    stop.on_epoch_end(2)
    assert stop.model.stop_training and stop.cut and budget.fastest_epoch == 5.0


def calls_fit(path: Path) -> list[int]:
    tree = ast.parse(path.read_text())
    return [n.lineno for n in ast.walk(tree) if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute)
            and n.func.attr == "fit" and not (isinstance(n.func.value, ast.Name) and n.func.value.id == "forest")]


def test_nothing_but_the_training_core_calls_model_fit():
    found = {str(p.relative_to(ROOT)): calls_fit(p) for pkg in ("fer", "spaces", "search")
             for p in sorted((ROOT / pkg).rglob("*.py"))}
    assert {p: lines for p, lines in found.items() if lines} == {"search/training.py": found["search/training.py"]}
    assert len(found["search/training.py"]) == 1


@pytest.mark.parametrize("name", SPACES)
def test_each_space_declares_its_interface(name):
    space = get_space(name)
    assert isinstance(space, Space) and space.name == name and space.doc.strip()
    hp = kt.HyperParameters()
    space.build(hp, SpaceOptions(weights=None))
    declared = {p.name for p in hp.space}
    assert set(space.key_hps) <= declared, set(space.key_hps) - declared
    assert space.quick_fix and set(space.quick_fix) <= declared, set(space.quick_fix) - declared
    for old in space.legacy:  # a fresh search is never taken for an old one
        assert not old.matches(kt.HyperParameters())
