"""Speed and size benchmarks of the search harness (issue 3), each a side-by-side comparison in one run.

  overhead  the same cnn model trained by `search.run`'s machinery (one trial) and by a plain
            `model.fit` on the same arrays and epochs, each in a fresh process: goal, harness
            time <= 1.05 x plain.
  augment   seconds per training step of the cnn at augment=light with Keras's RandomRotation,
            RandomTranslation and RandomZoom against spaces.augment's RandomAffine (and none), on
            the current KERAS_BACKEND.
  mobilenet one mobilenet trial at input 224 on the full FER-2013 train split (ImageNet weights
            from ../shared/weights), a limited number of steps: goal, peak memory < 4 GB, against
            the ~17 GB that pre-resizing to 224x224x3 float32 would take.

    python bench/bench_search.py overhead|augment|mobilenet [--data DIR]

Memory over many trials: bench/bench_memory.py.
"""
import argparse
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import keras  # noqa: E402
import keras_tuner as kt  # noqa: E402
import numpy as np  # noqa: E402

from fer.dataset import Dataset  # noqa: E402
from fer.prepare import ensure_demo, prepare  # noqa: E402
from search.config import RunConfig  # noqa: E402
from search.console import PlainConsole  # noqa: E402
from search.hypermodel import FerHyperModel  # noqa: E402
from search.tf_memory import rss_mb  # noqa: E402
from search.tuners import make_tuner  # noqa: E402
from search import tf_memory  # noqa: E402
from spaces import SpaceOptions, get_space  # noqa: E402

tf_memory.prefer_system_allocator()  # what search.run and search.report do when they start

SHARED = ROOT.parent / "shared"
WEIGHTS = SHARED / "weights" / "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_224_no_top.h5"


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class Quiet(PlainConsole):
    def line(self, text):
        pass


def fixed_hps(values: dict) -> kt.HyperParameters:
    """Hyperparameters pinned to `values` with hp.Fixed."""
    hp = kt.HyperParameters()
    for k, v in values.items():
        hp.Fixed(k, v)
    return hp


def tuner_for(space, tuner, runs_dir, trials, epochs, data, weights=None, hp_fixed=None, batch=64, seed=0):
    config = RunConfig(space=space, tuner=tuner, max_trials=trials, max_epochs=epochs, runs_dir=runs_dir,
                       project="bench", precision="float32", batch_size=batch, patience=epochs + 1, seed=seed)
    hm = FerHyperModel(config, SpaceOptions(weights=weights))
    t = make_tuner(config, hm, overwrite=True)
    if hp_fixed:  # pin hyperparameters the oracle would otherwise choose
        t.oracle.hyperparameters.merge(fixed_hps(hp_fixed))
    config.resolved = {"precision": {"policy": "float32"}}  # what search.run resolves before its tuner reports
    t.setup_reporting(config, Quiet(), len(data[1]))
    return t


OVERHEAD_HPS = {"augment": "off", "class_weight": "none", "conv_blocks": 3, "filters": 32, "convs_per_block": 2,
                "batch_norm": True, "dropout": 0.25,
                "block_dropout": 0.25, "dense_units": 256, "optimizer": "adam", "learning_rate": 1e-3}


def overhead_side(side: str, data_dir: str, epochs: int, rep: int) -> None:
    """In a fresh process: one plain `model.fit`, or one search trial of the same model; prints seconds."""
    ds = Dataset.open(data_dir)
    (x, y), (xv, yv) = (tuple(np.asarray(a) for a in ds.split(s)) for s in ("train", "val"))
    if side == "plain":
        keras.utils.set_random_seed(rep)
        model = get_space("cnn").build(fixed_hps(OVERHEAD_HPS), SpaceOptions(weights=None))
        start = time.perf_counter()
        model.fit(x, y, validation_data=(xv, yv), epochs=epochs, batch_size=64, verbose=0)
    else:
        with tempfile.TemporaryDirectory() as runs:
            t = tuner_for("cnn", "random", runs, 1, epochs, (x, y), hp_fixed=OVERHEAD_HPS, seed=rep)  # seeds as plain
            start = time.perf_counter()
            t.search(x, y, validation_data=(xv, yv), epochs=epochs, verbose=0)
    print(f"{time.perf_counter() - start:.3f}")


def overhead(data_dir: str, epochs: int = 3) -> None:
    """Each side in its own fresh process, alternating, so drift on the machine hits both.

    The plain side runs as a notebook would: TensorFlow's own allocator. The harness side makes
    its own choices (search.tf_memory's allocator), so their cost counts as harness overhead.
    """
    import subprocess
    from search.tf_memory import SYSTEM_ALLOCATOR_ENV
    times = {"plain": [], "harness": []}
    for rep in range(2):
        for side in times:
            env = {k: v for k, v in os.environ.items() if k != SYSTEM_ALLOCATOR_ENV}
            if side == "plain":
                env[SYSTEM_ALLOCATOR_ENV] = "0"  # TensorFlow's default
            out = subprocess.run([sys.executable, __file__, "overhead-side", "--side", side, "--rep", str(rep),
                                  "--epochs", str(epochs), "--data", data_dir],
                                 env=env, check=True, capture_output=True, text=True).stdout
            times[side].append(float(out.split()[-1]))
    plain, harness = min(times["plain"]), min(times["harness"])
    print(f"data {data_dir}: {epochs} epochs, cnn at defaults, best of 2 each, each run in a fresh process")
    print(f"  plain model.fit (TensorFlow's allocator)   {plain:7.2f} s   (runs {', '.join(f'{v:.2f}' for v in times['plain'])})")
    print(f"  search harness trial (its own allocator)   {harness:7.2f} s   (runs {', '.join(f'{v:.2f}' for v in times['harness'])})")
    ratio = harness / plain
    print(f"overhead ratio harness/plain = {ratio:.3f} (goal <= 1.05): {'PASS' if ratio <= 1.05 else 'FAIL'}")


def augment_steps(rounds: int = 3) -> None:
    """Seconds per training step of the cnn at augment=light: Keras's three geometric layers vs RandomAffine."""
    import contextlib
    from unittest import mock

    from search.precision import time_steps
    from spaces.augment import AUGMENT_PARAMS

    def keras_block(level):  # what spaces.augment replaced
        rot, shift, zoom, contrast = AUGMENT_PARAMS[level]
        return keras.Sequential([
            keras.layers.RandomFlip("horizontal"), keras.layers.RandomRotation(rot, fill_mode="reflect"),
            keras.layers.RandomTranslation(shift, shift, fill_mode="reflect"),
            keras.layers.RandomZoom(zoom, fill_mode="reflect"),
            keras.layers.RandomContrast(contrast, value_range=(0, 1))], name=f"augment_{level}")

    build = get_space("cnn").build
    variants = {"keras layers": ("light", mock.patch("spaces.common.augmentation", keras_block)),
                "RandomAffine": ("light", contextlib.nullcontext()),
                "no augmentation": ("off", contextlib.nullcontext())}
    times = {name: [] for name in variants}
    for _ in range(rounds):
        for name, (level, context) in variants.items():
            with context:
                times[name].append(time_steps(lambda _: build(fixed_hps({"augment": level}), SpaceOptions(weights=None)),
                                              "float32", SpaceOptions().input_shape, batch=64, warmup=3, steps=10))
    best = {k: min(v) for k, v in times.items()}
    print(f"backend {keras.backend.backend()}: cnn default model, augment=light, batch 64, best of {rounds}")
    for k, v in best.items():
        print(f"  {k:16s} {v:.4f} s/step")
    ratio = best["RandomAffine"] / best["keras layers"]
    print(f"ratio RandomAffine/keras layers = {ratio:.3f} (goal <= 1.05, no slower beyond noise): "
          f"{'PASS' if ratio <= 1.05 else 'FAIL'}")


def mobilenet(data_dir: str, steps: int = 20) -> None:
    ds = Dataset.open(data_dir)
    (x, y), (xv, yv) = (tuple(np.asarray(a) for a in ds.split(s)) for s in ("train", "val"))
    base = rss_mb()
    fixed = {"input_size": 224, "unfreeze_layers": 40, "augment": "light", "class_weight": "none"}
    with tempfile.TemporaryDirectory() as runs:
        t = tuner_for("mobilenet", "random", runs, 1, 1, (x, y), weights=str(WEIGHTS), hp_fixed=fixed, batch=32)
        start = time.perf_counter()
        t.search(x, y, validation_data=(xv, yv), epochs=1, steps_per_epoch=steps, validation_steps=5, verbose=0)
        seconds = time.perf_counter() - start
        status = next(iter(t.oracle.trials.values())).status
    pre_resized = len(y) * 224 * 224 * 3 * 4 / 2**30
    print(f"data {data_dir}: {len(y)} train images held as uint8 ({x.nbytes / 2**20:.0f} MB); RSS before {base:.0f} MB")
    print(f"  mobilenet trial at 224x224, batch 32, {steps} train steps + 5 val steps: {status} in {seconds:.0f} s")
    print(f"  peak RSS {peak_mb():.0f} MB vs {pre_resized:.1f} GB to pre-resize the train split to 224x224x3 float32")
    print(f"peak {peak_mb() / 1024:.2f} GB (goal < 4 GB): {'PASS' if peak_mb() < 4096 and status == 'COMPLETED' else 'FAIL'}")


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("which", choices=["overhead", "augment", "mobilenet", "overhead-side"])
    p.add_argument("--side", choices=["plain", "harness"], help=argparse.SUPPRESS)  # overhead-side
    p.add_argument("--rep", type=int, default=0, help=argparse.SUPPRESS)
    p.add_argument("--epochs", type=int, default=3, help="overhead: epochs per run")
    p.add_argument("--data", help="prepared folder (default: demo; mobilenet: FER-2013 from ../shared/data)")
    args = p.parse_args()
    if args.which == "augment":  # random inputs: no data needed
        augment_steps()
        return 0
    data = args.data
    if data is None:
        if args.which == "mobilenet":
            data = str(ROOT / "data" / "fer2013")
            if not Path(data, "meta.json").is_file():
                prepare(str(SHARED / "data" / "fer2013_from_images.csv.gz"), data)
        else:
            data = str(ensure_demo(ROOT / "data" / "demo"))
    if args.which == "overhead-side":
        overhead_side(args.side, data, args.epochs, args.rep)
    elif args.which == "overhead":
        overhead(data, args.epochs)
    else:
        mobilenet(data)
    return 0


if __name__ == "__main__":
    sys.exit(main())
