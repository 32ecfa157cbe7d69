"""spaces.augment: the in-model augmentation, checked against Keras's own affine_transform."""
import math

import keras
import keras_tuner as kt
import numpy as np
import pytest
from keras import ops

from spaces import SpaceOptions, get_space
from spaces.augment import AUGMENT_PARAMS, RandomAffine, affine_sample, augmentation, reflect

pytestmark = pytest.mark.graph_mode  # Keras's functions traced as users run them (tests/conftest.py)


def images(n=8, seed=0):
    return ops.convert_to_tensor(np.random.default_rng(seed).random((n, 48, 48, 1), dtype=np.float32))


def as_np(x):
    return ops.convert_to_numpy(x)  # also from a CUDA tensor


def test_reflect_repeats_the_edge_pixel():
    got = as_np(reflect(ops.convert_to_tensor(np.arange(-6, 10, dtype="int32")), 4))
    assert got.tolist() == [2, 3, 3, 2, 1, 0, 0, 1, 2, 3, 3, 2, 1, 0, 0, 1]  # (d c b a | a b c d | d c b a)


def test_affine_sample_matches_keras_affine_transform():
    x = images()
    transforms = RandomAffine(0.10, 0.15, 0.20, seed=3).random_transforms(8, 48, 48)  # "strong", and beyond the edges
    ours = as_np(affine_sample(x, transforms))
    keras_own = as_np(ops.image.affine_transform(x, transforms, interpolation="bilinear", fill_mode="reflect"))
    np.testing.assert_allclose(ours, keras_own, atol=1e-5)
    assert np.abs(ours - as_np(x)).mean() > 0.05  # the transforms did move the pixels


def test_identity_and_pure_shifts_are_exact():
    x = images(2)
    identity = ops.convert_to_tensor(np.tile([1, 0, 0, 0, 1, 0, 0, 0], (2, 1)).astype("float32"))
    np.testing.assert_array_equal(as_np(affine_sample(x, identity)), as_np(x))
    shift = ops.convert_to_tensor(np.tile([1, 0, 3, 0, 1, -2, 0, 0], (2, 1)).astype("float32"))  # output (x, y) <- (x+3, y-2)
    got, src = as_np(affine_sample(x, shift)), as_np(x)
    np.testing.assert_array_equal(got[:, 2:, :-3], src[:, :-2, 3:])


def test_random_transforms_stay_within_their_ranges():
    layer = RandomAffine(rotation=0.05, translation=0.1, zoom=0.2, seed=0)
    t = as_np(layer.random_transforms(2000, 48, 48))
    scale = np.hypot(t[:, 0], t[:, 3])  # a0 = s cos, b0 = s sin
    angle = np.arctan2(t[:, 3], t[:, 0])
    assert 0.8 <= scale.min() < 0.82 and 1.18 < scale.max() <= 1.2
    assert np.abs(angle).max() <= 0.05 * 2 * math.pi + 1e-5 and np.abs(angle).max() > 0.9 * 0.05 * 2 * math.pi
    np.testing.assert_array_equal(t[:, 6:], 0)
    centre = 23.5  # where the image centre goes: the translation alone, at most 10% of 48 px
    moved_x = t[:, 0] * centre + t[:, 1] * centre + t[:, 2] - centre
    assert np.abs(moved_x).max() <= 4.8 + 1e-4 and np.abs(moved_x).max() > 4.0


@pytest.mark.parametrize("level", list(AUGMENT_PARAMS))
def test_augmentation_changes_images_only_in_training(level):
    block, x = augmentation(level), images(4)
    np.testing.assert_array_equal(as_np(block(x, training=False)), as_np(x))
    out = as_np(block(x, training=True))
    assert out.shape == (4, 48, 48, 1) and not np.allclose(out, as_np(x))


def test_augmentation_is_inactive_at_inference_in_a_model():
    hp = kt.HyperParameters()
    hp.Fixed("augment", "strong")
    model = get_space("baseline").build(hp, SpaceOptions(weights=None))
    x = np.random.default_rng(1).integers(0, 256, size=(4, 48, 48, 1), dtype=np.uint8)
    np.testing.assert_allclose(model.predict(x, verbose=0), model.predict(x, verbose=0), rtol=1e-6)
    assert isinstance(model.get_layer("augment_strong").layers[1], RandomAffine)


@pytest.mark.parametrize("suffix", [".keras", ".h5"])
def test_a_model_with_augmentation_saves_and_loads(tmp_path, suffix):
    hp = kt.HyperParameters()
    hp.Fixed("augment", "medium")
    model = get_space("baseline").build(hp, SpaceOptions(weights=None))
    x = np.random.default_rng(2).integers(0, 256, size=(4, 48, 48, 1), dtype=np.uint8)
    path = tmp_path / f"m{suffix}"
    model.save(path)
    loaded = keras.models.load_model(path)
    affine = loaded.get_layer("augment_medium").layers[1]
    assert isinstance(affine, RandomAffine) and (affine.rotation, affine.translation, affine.zoom) == (0.06, 0.10, 0.10)
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0), atol=1e-6)
