"""search.tf_memory: what a finished trial leaves behind is given back (the flat-memory goal's mechanism)."""
import ctypes
import gc
import random
import weakref

import keras
import numpy as np
import pytest

from conftest import SMALL_CNN, search_args
from search import leaderboard, tf_memory
from search.config import RunConfig
from search.run import main

# what a traced train step leaves behind (its registered gradient functions) is what these measure
pytestmark = pytest.mark.graph_mode

needs_tf = pytest.mark.skipif(keras.backend.backend() != "tensorflow",
                              reason="the leak and its fix are TensorFlow's gradient registry")


def fit_tiny_model() -> weakref.ref:
    """Train a small model for one step; return a weak reference to its first kernel's resource handle."""
    model = keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Conv2D(4, 3), keras.layers.Flatten(),
                              keras.layers.Dense(7, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    rng = np.random.default_rng(0)
    model.fit(rng.random((16, 8, 8, 1), dtype=np.float32), rng.integers(0, 7, 16), epochs=1, batch_size=16, verbose=0)
    return weakref.ref(model.layers[0].kernel.value.handle)  # the resource that holds the weights


@needs_tf
def test_release_frees_the_weights_tensorflow_keeps_after_fit():
    mark = tf_memory.mark()
    kernel = fit_tiny_model()
    gc.collect()
    registered = tf_memory.custom_gradients() - mark
    assert len(registered) >= 1  # the train step's all-reduce registered a gradient function...
    assert kernel() is not None  # ...which holds the dead model's variables: the leak
    assert tf_memory.release(mark) == len(registered)
    assert tf_memory.custom_gradients() == mark
    assert kernel() is None  # the weights are freed


@needs_tf
def test_a_search_leaves_no_trial_weights_behind(workdir, tiny_demo):
    before = tf_memory.custom_gradients()
    assert main(search_args(tiny_demo, "mem", "--space", "cnn", "--tuner", "random", "--max-trials", 3,
                            "--max-epochs", 1, *SMALL_CNN)) == 0
    assert tf_memory.custom_gradients() == before  # each trial's registrations were forgotten at its end
    info = leaderboard.load_info(workdir / "tuner_runs" / "mem")
    assert len(info) == 3 and all(i["rss_mb"] > 0 for i in info.values())
    assert RunConfig.load(workdir / "tuner_runs" / "mem").resolved["tf_cpu_allocator"] == "system"


class MallInfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in
                "arena ordblks smblks hblks hblkhd usmblks fsmblks uordblks fordblks keepcost".split()]


def mmapped_in_use_mb() -> float:
    """glibc's live mmapped blocks: where oneDNN's BFC pool keeps its regions."""
    libc = ctypes.CDLL("libc.so.6")
    libc.mallinfo2.restype = MallInfo2
    return libc.mallinfo2().hblkhd / 2**20


@needs_tf
def test_large_tensors_go_back_to_the_system_after_use():
    assert tf_memory.allocator() == "system"  # chosen at start (conftest, as the commands do), before TensorFlow allocated
    before = mmapped_in_use_mb()
    x = keras.random.uniform((64, 48, 48, 64))  # 36 MB, as a cnn trial's activations
    y = keras.ops.conv(x, keras.random.uniform((3, 3, 64, 64)), padding="same")
    assert float(keras.ops.sum(y)) > 0
    del x, y
    tf_memory.release(tf_memory.mark())
    assert mmapped_in_use_mb() - before < 16  # the BFC pool would keep 64 MB or more


@needs_tf
def test_an_explicit_allocator_setting_wins(monkeypatch):
    monkeypatch.setenv(tf_memory.SYSTEM_ALLOCATOR_ENV, "0")
    tf_memory.prefer_system_allocator()
    assert tf_memory.allocator() == "onednn-bfc"
    monkeypatch.delenv(tf_memory.SYSTEM_ALLOCATOR_ENV)
    tf_memory.prefer_system_allocator()
    assert tf_memory.allocator() == "system"


def test_the_oracle_seed_does_not_depend_on_pythons_global_generator(tmp_path):
    from search.hypermodel import FerHyperModel
    from search.tuners import make_tuner
    from spaces import SpaceOptions
    seeds = []
    for stray in (1, 2):  # keras-tuner takes seed 0 as "none" and would draw from random's state
        random.seed(stray)
        config = RunConfig(space="baseline", tuner="random", seed=0, runs_dir=str(tmp_path), project=f"s{stray}")
        seeds.append(make_tuner(config, FerHyperModel(config, SpaceOptions(weights=None)), overwrite=True).oracle.seed)
    assert seeds[0] == seeds[1]


def test_release_is_harmless_when_nothing_was_registered():
    mark = tf_memory.mark()
    assert tf_memory.release(mark) == 0
    assert tf_memory.custom_gradients() == mark


def test_rss_grows_by_the_pages_the_process_writes():
    import mmap
    block = mmap.mmap(-1, 64 * 2**20)  # fresh pages, whatever malloc keeps for reuse
    before = tf_memory.rss_mb()
    pages = np.frombuffer(block, dtype=np.uint8)
    pages[:] = 1  # 64 MB written
    grown = tf_memory.rss_mb() - before
    del pages
    block.close()
    assert 60 <= grown <= 70, grown
