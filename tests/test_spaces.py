"""Every registered space builds, outputs 7 classes and trains a step, at defaults and extremes."""
import keras
import keras_tuner as kt
import numpy as np
import pytest

from fer.constants import NUM_CLASSES
from spaces import SPACES, SpaceOptions, get_space
from spaces.common import class_weights
from spaces import mobilenet

from conftest import SHARED_WEIGHTS

pytestmark = pytest.mark.graph_mode  # Keras's functions traced as users run them (tests/conftest.py)

WEIGHTS_FILE = "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_224_no_top.h5"

OPTIONS = SpaceOptions(weights=None)  # fast tests: random init, no download


def extremes(name: str, low: bool) -> kt.HyperParameters:
    """Pin every hyperparameter of the space to its smallest (or largest) value with hp.Fixed."""
    probe = kt.HyperParameters()
    get_space(name).build(probe, OPTIONS)
    hp = kt.HyperParameters()
    for p in probe.space:
        if isinstance(p, kt.engine.hyperparameters.Choice):  # numbers by size, names in their listed order
            values = p.values if isinstance(p.values[0], str) else sorted(p.values)
            value = values[0] if low else values[-1]
        elif isinstance(p, kt.engine.hyperparameters.Boolean):
            value = not low
        elif isinstance(p, kt.engine.hyperparameters.Fixed):
            value = p.value
        else:
            value = p.min_value if low else p.max_value
        if name == "mobilenet" and p.name == "input_size":
            value = 48 if low else 64  # small inputs keep the test fast; 224 is covered by the bench
        hp.Fixed(p.name, value)
    return hp


def train_one_step(model):
    x = np.random.default_rng(0).integers(0, 256, size=(8, 48, 48, 1), dtype=np.uint8)
    y = np.arange(8) % NUM_CLASSES
    before = [w.copy() for w in model.get_weights()]
    logs = model.train_on_batch(x, y, return_dict=True)
    assert np.isfinite(logs["loss"])
    assert any(not np.array_equal(a, b) for a, b in zip(before, model.get_weights()))
    out = model.predict(x, verbose=0)
    assert out.shape == (8, NUM_CLASSES)
    np.testing.assert_allclose(out.sum(axis=1), 1.0, rtol=1e-3)


@pytest.mark.parametrize("name", SPACES)
@pytest.mark.parametrize("setting", ["default", "low", "high"])
def test_space_builds_and_trains_one_step(name, setting):
    keras.backend.clear_session()
    if setting == "default":
        hp = kt.HyperParameters()
        if name == "mobilenet":
            hp.Fixed("input_size", 48)
    else:
        hp = extremes(name, setting == "low")
    model = get_space(name).build(hp, OPTIONS)
    assert model.output_shape == (None, NUM_CLASSES)
    assert model.input.dtype == "uint8"
    assert not any(k.startswith("tuner/") for k in hp.values)
    train_one_step(model)


def test_mobilenet_freezing_follows_unfreeze_layers_and_keeps_batchnorm_frozen():
    hp = kt.HyperParameters()
    hp.Fixed("input_size", 48)
    hp.Fixed("unfreeze_layers", 20)
    model = mobilenet.build(hp, OPTIONS)
    backbone = next(l for l in model.layers if l.name.startswith("mobilenetv2"))
    assert len(backbone.layers) == mobilenet.BACKBONE_LAYERS
    trainable = [l for l in backbone.layers if l.trainable]
    assert all(backbone.layers.index(l) >= len(backbone.layers) - 20 for l in trainable)
    assert not any(isinstance(l, keras.layers.BatchNormalization) for l in trainable)
    assert len(trainable) > 5
    frozen = kt.HyperParameters()
    frozen.Fixed("input_size", 48)
    frozen.Fixed("unfreeze_layers", 0)
    m0 = mobilenet.build(frozen, OPTIONS)
    assert not any(l.trainable_weights for l in next(l for l in m0.layers if l.name.startswith("mobilenetv2")).layers)


@pytest.mark.skipif(not (SHARED_WEIGHTS / WEIGHTS_FILE).is_file(), reason=f"no {WEIGHTS_FILE} in {SHARED_WEIGHTS}")
def test_mobilenet_with_the_local_imagenet_file_fixes_alpha_and_loads_it():
    hp = kt.HyperParameters()
    hp.Fixed("input_size", 48)
    model = mobilenet.build(hp, SpaceOptions(weights=str(SHARED_WEIGHTS / WEIGHTS_FILE)))
    assert hp.values["alpha"] == 1.0 and isinstance(hp._hps["alpha"][0], kt.engine.hyperparameters.Fixed)
    backbone = next(l for l in model.layers if l.name.startswith("mobilenetv2"))
    random = keras.applications.MobileNetV2(input_shape=(48, 48, 3), include_top=False, weights=None)
    loaded, fresh = backbone.get_layer("Conv1").get_weights()[0], random.get_layer("Conv1").get_weights()[0]
    assert loaded.shape == fresh.shape and not np.allclose(loaded, fresh)


def test_mobilenet_missing_weights_file_is_one_line_error(tmp_path):
    from fer.errors import UserError
    with pytest.raises(UserError, match="file not found"):
        mobilenet.check_weights(str(tmp_path / "nope.h5"))


def test_class_weights_modes():
    y = np.array([0] * 40 + [1] * 10 + [2] * 20 + [3] * 10)  # 80 labels of 4 classes: 20 each would be balanced
    assert class_weights("none", y, 4) is None
    assert class_weights("balanced", y, 4) == pytest.approx({0: 0.5, 1: 2.0, 2: 1.0, 3: 2.0})
    assert class_weights("sqrt", y, 4) == pytest.approx({0: 0.7071, 1: 1.4142, 2: 1.0, 3: 1.4142}, abs=1e-4)
    # a class with no labels weighs nothing: 32 labels of 4 classes, 8 each would be balanced
    assert class_weights("balanced", np.array([0] * 8 + [1] * 8 + [2] * 16), 4) == pytest.approx(
        {0: 1.0, 1: 1.0, 2: 0.5, 3: 0.0})
    with pytest.raises(ValueError, match="unknown class weighting 'balance'"):
        class_weights("balance", y, 3)


@pytest.mark.parametrize("space", ["baseline", "cnn", "resnet"])
def test_random_points_draw_no_balanced_weights_and_learnable_ranges(space):
    """The ranges the random-points benchmark chose: balanced weights only when pinned, at most 4
    cnn blocks, Adam 3e-4 to 3e-3 and SGD 3e-3 to 1.5e-2 (spaces/common.py, spaces/cnn.py, spaces/recipe.py)."""
    declared = kt.HyperParameters()
    get_space(space).build(declared, SpaceOptions(weights=None))
    keras.backend.clear_session()
    params = {p.name: p for p in declared.space}
    assert list(params["class_weight"].values) == ["none", "sqrt"]
    lr, sgd_lr = params["learning_rate"], params["sgd_learning_rate"]
    assert (lr.min_value, lr.max_value, sgd_lr.min_value, sgd_lr.max_value) == pytest.approx((3e-4, 3e-3, 3e-3, 1.5e-2))
    if space == "cnn":
        assert params["conv_blocks"].max_value == 4


# What Keras can load, written out independently of spaces/mobilenet.py: MobileNetV2's alphas, its
# ImageNet files (any other input size loads the 224 file), the alpha-1.0 local file, or random
# init for anything.
KERAS_ALPHAS = [0.35, 0.5, 0.75, 1.0, 1.3, 1.4]
KERAS_IMAGENET_FILES = ({(a, r) for a in (0.35, 0.5, 0.75, 1.0) for r in (96, 128, 160, 192, 224)}
                        | {(1.3, 224), (1.4, 224)})
LOCAL_FILE = f"/nowhere/{WEIGHTS_FILE}"  # never read: the stub backbone stands in for Keras
SOURCES = {"none": None, "imagenet": "imagenet", "file": LOCAL_FILE}


def keras_has_weights(weights, alpha: float, size: int) -> bool:
    if weights is None:
        return True
    if weights == "imagenet":
        return (alpha, size if size in (96, 128, 160, 192, 224) else 224) in KERAS_IMAGENET_FILES
    return alpha == 1.0


def alphas_served_at_every_size(weights) -> list[float]:
    """The alphas a weights source serves at every input size the space declares (so none is emptied)."""
    declared = kt.HyperParameters()
    mobilenet.build(declared, SpaceOptions(weights=None))
    keras.backend.clear_session()
    sizes = next(p.values for p in declared.space if p.name == "input_size")
    return [a for a in KERAS_ALPHAS if all(keras_has_weights(weights, a, s) for s in sizes)]


@pytest.fixture
def stub_backbone(monkeypatch):
    """MobileNetV2 replaced by a tiny stand-in that records what it was asked for: many builds stay
    cheap and nothing is downloaded."""
    asked = []

    def stub(input_shape, alpha, include_top, weights, pooling):
        asked.append((weights, alpha, input_shape[0]))
        inp = keras.Input(input_shape)
        return keras.Model(inp, keras.layers.GlobalAveragePooling2D()(keras.layers.Conv2D(2, 3)(inp)),
                           name="mobilenetv2_stub")
    monkeypatch.setattr(keras.applications, "MobileNetV2", stub)
    return asked


@pytest.mark.parametrize("source", SOURCES)
@pytest.mark.parametrize("tuner", ["random", "hyperband"])
def test_mobilenet_proposes_only_combinations_its_weights_source_serves(source, tuner, stub_backbone, tmp_path):
    weights, proposed = SOURCES[source], []

    class Proposals({"random": kt.RandomSearch, "hyperband": kt.Hyperband}[tuner]):
        def run_trial(self, trial, *args, **kwargs):  # no training: only what the oracle proposes
            proposed.append((trial.hyperparameters.values["alpha"], trial.hyperparameters.values["input_size"]))
            return float(np.random.default_rng(len(proposed)).random())

    budget = {"max_epochs": 27, "hyperband_iterations": 2} if tuner == "hyperband" else {"max_trials": 60}
    Proposals(lambda hp: mobilenet.build(hp, SpaceOptions(weights=weights)), objective=kt.Objective("score", "max"),
              directory=tmp_path, project_name="p", seed=1, **budget).search()
    assert len(proposed) >= 50
    assert [p for p in proposed if not keras_has_weights(weights, *p)] == []
    assert stub_backbone and all(keras_has_weights(*asked) for asked in stub_backbone)  # the tuner's own builds
    assert sorted({a for a, _ in proposed}) == alphas_served_at_every_size(weights)  # narrowed, not emptied


def test_the_searched_alpha_lists_are_recorded_per_weights_source(stub_backbone, tmp_path):
    from search.config import RunConfig
    from search.hypermodel import declared_space
    from search.tuners import search_tuner
    recorded = {}
    for source, weights in SOURCES.items():
        config = RunConfig(space="mobilenet", tuner="random", weights=weights, runs_dir=str(tmp_path), project=source)
        tuner = search_tuner(config, overwrite=True)
        recorded[source] = [e for e in declared_space(tuner.oracle.hyperparameters) if e["name"] == "alpha"]
    assert recorded["none"] == [{"name": "alpha", "type": "Choice", "values": KERAS_ALPHAS, "default": 1.0}]
    assert recorded["file"] == [{"name": "alpha", "type": "Fixed", "value": 1.0}]
    assert recorded["imagenet"] == [{"name": "alpha", "type": "Choice", "values": alphas_served_at_every_size("imagenet"),
                                     "default": 1.0}]


def test_mobilenet_refuses_a_combination_its_weights_cannot_serve_with_the_reason(stub_backbone):
    with pytest.raises(ValueError, match=r"imagenet weights exist for alpha 0.35, 0.5, 0.75, 1.0 at input 96, "
                                         r"not alpha 1.4"):
        mobilenet.backbone_model("imagenet", 1.4, 96)
    with pytest.raises(ValueError, match=rf"file:{WEIGHTS_FILE} weights exist for alpha 1.0 at input 224, not alpha 0.5"):
        mobilenet.backbone_model(LOCAL_FILE, 0.5, 224)
    assert stub_backbone == []  # refused before Keras was asked
    mobilenet.backbone_model("imagenet", 1.4, 224)
    assert stub_backbone == [("imagenet", 1.4, 224)]


@pytest.mark.parametrize("lean", [False, True])
def test_cnn_lean_first_block_has_one_convolution_before_the_first_pooling(lean):
    hp = kt.HyperParameters()
    for k, v in {"conv_blocks": 2, "filters": 16, "convs_per_block": 3, "lean_first_block": lean}.items():
        hp.Fixed(k, v)
    layers = get_space("cnn").build(hp, OPTIONS).layers
    kinds = [type(layer).__name__ for layer in layers]
    first_pool = kinds.index("MaxPooling2D")
    assert kinds[:first_pool].count("Conv2D") == (1 if lean else 3)
    assert kinds.count("Conv2D") == (4 if lean else 6)  # the second block keeps its 3
    assert [p.name for p in hp.space].count("lean_first_block") == 1  # pinned, not declared a second time


def dropout_rates(model) -> list[float]:
    return [layer.rate for layer in model.layers if isinstance(layer, keras.layers.Dropout)]


@pytest.mark.parametrize("pins, rates", [
    ({}, []),  # drawn never: the space's points have no dropout
    ({"dropout": 0.3}, [0.3]),  # the head only, as the published VGG
    ({"block_dropout": 0.2}, [0.2, 0.2]),  # after each of the 2 blocks, not in the head
    ({"dropout": 0.3, "block_dropout": 0.2}, [0.2, 0.2, 0.3]),
])
def test_cnn_dropout_is_taken_only_when_pinned(pins, rates):
    hp = kt.HyperParameters()
    for k, v in {"conv_blocks": 2, "filters": 16, **pins}.items():
        hp.Fixed(k, v)
    assert dropout_rates(get_space("cnn").build(hp, OPTIONS)) == pytest.approx(rates)
    params = {p.name: p for p in hp.space}
    assert isinstance(params["dropout"], kt.engine.hyperparameters.Fixed)
    assert isinstance(params["block_dropout"], kt.engine.hyperparameters.Fixed)


def test_cnn_trial_searched_before_block_dropout_is_rebuilt_with_dropout_after_every_block():
    """A saved trial of the earlier space (dropout drawn, applied after every block and in the head),
    and the next trials of that search resumed: block_dropout never enters its space."""
    saved = kt.HyperParameters()
    saved.Int("conv_blocks", 2, 4, default=3)
    saved.Float("dropout", 0.0, 0.3, step=0.05, default=0.25)
    saved.values.update({"conv_blocks": 2, "dropout": 0.15})
    assert dropout_rates(get_space("cnn").build(saved, OPTIONS)) == pytest.approx([0.15, 0.15, 0.15])
    assert "block_dropout" not in {p.name for p in saved.space}  # so the resumed oracle never draws it
    resumed = saved.copy()  # the oracle's next trial of that search, with its own draw
    resumed.values["dropout"] = 0.3
    assert dropout_rates(get_space("cnn").build(resumed, OPTIONS)) == pytest.approx([0.3, 0.3, 0.3])
    fresh = kt.HyperParameters()  # the first build of a new search: nothing saved, no dropout
    get_space("cnn").build(fresh, OPTIONS)
    trial = fresh.copy()  # a trial of a new search holding a head dropout: the blocks stay without
    trial.values.update({"conv_blocks": 2, "dropout": 0.3})
    assert dropout_rates(get_space("cnn").build(trial, OPTIONS)) == pytest.approx([0.3])
