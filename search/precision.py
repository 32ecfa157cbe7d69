"""`--precision auto`: pick a Keras dtype policy for a space on this machine, by measuring.

On a CUDA GPU it is mixed_float16. On a CPU it depends on the machine and the model, so each
space is timed for a few training steps under float32 and mixed_bfloat16, and mixed_bfloat16 wins
only when it is clearly faster (MARGIN): a tie is noise, and float32 is the safer number format. Timings are cached
per space, backend and CPU, and recorded in the run's config.
"""
import json
import os
import platform
import time
from pathlib import Path

import keras
import keras_tuner as kt
import numpy as np

from fer.cache import atomic_write_text
from search import tf_memory

CACHE_FILE = ".precision_cache.json"
CANDIDATES = ("float32", "mixed_bfloat16")
# mixed_bfloat16 must beat float32 by this fraction of float32's step time, so that a tie, whose
# winner flips from run to run, stays float32 (bench/results/NOTES.md, --precision auto).
MARGIN = 0.10


def faster_policy(timings: dict) -> str:
    """float32 unless mixed_bfloat16 is faster by more than MARGIN."""
    return "mixed_bfloat16" if timings["mixed_bfloat16"] < (1 - MARGIN) * timings["float32"] else "float32"


def has_cuda_gpu() -> bool:
    backend = keras.backend.backend()
    try:
        if backend == "torch":
            import torch
            return torch.cuda.is_available()
        if backend == "jax":
            import jax
            return any(d.platform == "gpu" for d in jax.devices())
        if backend == "tensorflow":
            import tensorflow as tf  # only to ask for devices; Keras has no API for it
            return bool(tf.config.list_physical_devices("GPU"))
    except Exception:  # noqa: BLE001 - no GPU runtime means no GPU
        return False
    return False


def time_steps(build, policy: str, input_shape, batch: int = 32, warmup: int = 2, steps: int = 4) -> float:
    """Seconds per training step of the model `build(hp)` returns for fresh hyperparameters (the
    space's default, unless `build` holds --fix'ed ones) under `policy`."""
    keras.mixed_precision.set_global_policy(policy)
    mark = tf_memory.mark()
    try:
        keras.backend.clear_session()
        model = build(kt.HyperParameters())
        rng = np.random.default_rng(0)
        x = rng.integers(0, 256, size=(batch, *input_shape), dtype=np.uint8)
        y = rng.integers(0, model.output_shape[-1], size=(batch,))
        for _ in range(warmup):
            model.train_on_batch(x, y)
        start = time.perf_counter()
        for _ in range(steps):
            model.train_on_batch(x, y)
        return (time.perf_counter() - start) / steps
    finally:
        keras.mixed_precision.set_global_policy("float32")
        tf_memory.release(mark)


def choose(requested: str, space: str, build, input_shape, cache_dir, fixed: dict | None = None) -> dict:
    """The policy to use and why: {"policy", "how", "seconds_per_step"?}. `fixed` (--fix) is part of
    the cache key: a space pinned to another model (--fix conv_blocks=4 --fix filters=64) is timed as that model."""
    if requested != "auto":
        return {"policy": requested, "how": "requested"}
    if has_cuda_gpu():
        return {"policy": "mixed_float16", "how": "CUDA GPU"}
    key = cache_key(space, fixed)
    path = os.path.join(cache_dir, CACHE_FILE)
    cache = json.loads(Path(path).read_text()) if os.path.isfile(path) else {}
    if key in cache:
        policy = faster_policy(cache[key]["seconds_per_step"])  # judged again: it may be cached under another MARGIN
        if cache[key]["policy"] == policy:
            return cache[key]
        cache[key]["policy"] = policy
    else:
        timings = {p: round(time_steps(build, p, input_shape), 4) for p in CANDIDATES}
        cache[key] = {"policy": faster_policy(timings), "how": "measured", "seconds_per_step": timings}
    os.makedirs(cache_dir, exist_ok=True)
    atomic_write_text(path, json.dumps(cache, indent=2) + "\n")
    return cache[key]


def cache_key(space: str, fixed: dict | None = None) -> str:
    """What the timings depend on: the space and what --fix holds, the backend and the CPU."""
    key = f"{space}|{keras.backend.backend()}|{platform.machine()}|{platform.processor()}|{os.cpu_count()}"
    return key + (f"|{json.dumps(fixed, sort_keys=True)}" if fixed else "")
