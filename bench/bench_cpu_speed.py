"""Training throughput on the CPU: today's `cnn` default against candidate CPU models, side by side.

Each model trains on the same stratified sample of N real training faces (batch 64): one warm-up epoch,
then `--rounds` timed epochs taken in turn, model after model, so a neighbour's load on a shared
machine falls on all of them alike; each epoch is timed from its first step's end to its last's
(StepClock). The bench prints the median images per second, the cores busy (process CPU time over
wall time) and the ratio to the first model.

    python bench/bench_cpu_speed.py [--images 3200] [--rounds 5] [--models cnn-default,cnn-crop44,cnn-lean44,cnn-lean40]
    python bench/bench_cpu_speed.py --models cnn-default,cnn-lean44 --accuracy-epochs 5

`--accuracy-epochs E` then trains the first and last models (or `--accuracy-models`) from scratch for E epochs on the whole train split
(the same seed and recipe) and prints its validation accuracy and macro-F1, so "faster" is read at
equal accuracy. `--op-profile` traces one epoch of each model under TensorFlow's profiler and
prints where the time goes, by op type and by layer (bench/tools/op_profile.py).
"""
import argparse
import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import keras  # noqa: E402
import keras_tuner as kt  # noqa: E402
import numpy as np  # noqa: E402

from bench.bench_random_points import stratified  # noqa: E402
from fer.dataset import Dataset  # noqa: E402
from fer.metrics import macro_f1  # noqa: E402
from search.schedule import fit_inputs, lr_callbacks  # noqa: E402
from spaces import SpaceOptions, get_space  # noqa: E402

# The cnn default's dropout when these models were first measured (README rows): 0.25 after every
# block and in the head. The space now takes dropout only when pinned; pinned here, the benchmark
# still times the models its README rows name.
MEASURED_DROPOUT = {"dropout": 0.25, "block_dropout": 0.25}
# name: (space, pinned hyperparameters); the rest at the space's defaults.
MODELS = {
    "cnn-default": ("cnn", MEASURED_DROPOUT),  # 32-64-128, 2 convs, batch norm, dense 256, adam
    "cnn-crop44": ("cnn", {**MEASURED_DROPOUT, "crop_size": 44}),  # the CPU model before lean_first_block
    "cnn-crop40": ("cnn", {**MEASURED_DROPOUT, "crop_size": 40}),
    "cnn-lean44": ("cnn", {**MEASURED_DROPOUT, "crop_size": 44, "lean_first_block": True}),  # the CPU recipe's shape (README)
    "cnn-lean40": ("cnn", {**MEASURED_DROPOUT, "crop_size": 40, "lean_first_block": True}),
    "cnn-no-bn": ("cnn", {**MEASURED_DROPOUT, "batch_norm": False}),
    "cpu-vgg": ("cnn", {"batch_norm": False, "conv_blocks": 4, "filters": 32, "crop_size": 44, "pooling": "flatten",
                        "dense_units": 256, "dropout": 0.2, "block_dropout": 0.2}),
    "resnet-small": ("resnet", {"blocks": "1-1-1", "width": 32, "crop_size": 44}),
    "resnet18": ("resnet", {"blocks": "2-2-2-2", "width": 64, "crop_size": 44}),
}


def build(name: str):
    space, pinned = MODELS[name]
    hp = kt.HyperParameters()
    for k, v in pinned.items():
        hp.Fixed(k, v)
    keras.utils.set_random_seed(0)
    return get_space(space).build(hp, SpaceOptions(weights=None)), hp


def stratified_sample(x, y, n: int, seed: int = 0):
    """About n faces, each class's share as in the split (the prepared split is sorted by class,
    so its first n faces would all be angry), shuffled."""
    rng = np.random.default_rng(seed)
    idx = rng.permutation(stratified(y, n, rng))
    return x[idx], y[idx]


class StepClock(keras.callbacks.Callback):
    """Wall and process-CPU seconds from the end of the first training step to the end of the
    last: the steady state a full-data epoch is made of. An epoch of a few thousand faces also
    pays a stall of seconds at its boundary (seen here: 3-5 s, wherever Keras and tf.data spend
    it), which a 450-step epoch amortises and a 50-step one would not."""

    def on_train_batch_end(self, batch, logs=None):
        now = (time.perf_counter(), time.process_time())
        if batch == 0:
            self.first, self.steps = now, 0
        else:
            self.last, self.steps = now, batch


def timed_epoch(model, hp, x, y) -> tuple[float, float, int]:
    """(wall seconds, CPU seconds, faces) of an epoch's steps after its first (batch 64; at least 2)."""
    clock = StepClock()
    model.fit(**fit_inputs(hp.values, x, y, 64, None, 7), epochs=1, verbose=0, callbacks=[clock])
    return clock.last[0] - clock.first[0], clock.last[1] - clock.first[1], len(x) - 64


def throughput(names: list[str], x, y, rounds: int) -> dict:
    """Median img/s and cores busy of each model over `rounds` epochs taken in turn."""
    built = {n: build(n) for n in names}
    for n in names:
        timed_epoch(*built[n], x, y)  # tracing and the first execution
    epochs = {n: [] for n in names}
    for _ in range(rounds):
        for n in names:
            epochs[n].append(timed_epoch(*built[n], x, y))
    rates = {n: [faces / w for w, _, faces in epochs[n]] for n in names}
    return {n: {"img_s": statistics.median(rates[n]), "spread": (min(rates[n]), max(rates[n])),
                "cores": statistics.median(c / w for w, c, _ in epochs[n]),
                "params": built[n][0].count_params()} for n in names}


def accuracy(name: str, data: dict, epochs: int) -> dict:
    model, hp = build(name)
    (x, y), (xv, yv) = data["train"], data["val"]
    start = time.perf_counter()
    model.fit(**fit_inputs(hp.values, x, y, 64, None, 7), validation_data=(xv, yv), epochs=epochs, verbose=0,
              callbacks=lr_callbacks(hp.values.get("lr_schedule", "plateau"), "val_accuracy", "max", 6))
    pred = model.predict(xv, batch_size=256, verbose=0).argmax(-1)
    return {"acc": float((pred == yv).mean()), "f1": macro_f1(yv, pred), "minutes": (time.perf_counter() - start) / 60}


def op_profile(names: list[str], x, y) -> None:
    from bench.tools.op_profile import print_table, trace_ops

    for name in names:
        model, hp = build(name)
        timed_epoch(model, hp, x, y)
        by_type, by_layer = trace_ops(lambda: timed_epoch(model, hp, x, y), model.name)
        print(f"{name}: one epoch of {len(x)} faces, batch 64")
        print_table("by op type", by_type, 14)
        print_table("by layer", by_layer, 14)


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", default="data/fer2013")
    p.add_argument("--images", type=int, default=3200)
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--models", default="cnn-default,cnn-crop44,cnn-lean44,cnn-lean40")
    p.add_argument("--accuracy-epochs", type=int, default=0)
    p.add_argument("--accuracy-models", help="comma-separated; default the first and last of --models")
    p.add_argument("--op-profile", action="store_true", help="per-op and per-layer time of one epoch (TensorFlow)")
    args = p.parse_args(argv)
    if args.images < 128:
        p.error("--images: at least 128 (two steps of 64: the first step is not timed)")
    if args.op_profile and keras.backend.backend() != "tensorflow":
        p.error("--op-profile reads TensorFlow's profiler: run it with KERAS_BACKEND=tensorflow")
    ds = Dataset.open(args.data)
    data = {s: tuple(np.asarray(a) for a in ds.split(s)) for s in ("train", "val")}
    x, y = stratified_sample(*data["train"], args.images)
    names = args.models.split(",")
    if args.op_profile:
        return op_profile(names, x[:1280], y[:1280])  # 20 steps: the trace holds every op's every run
    print(f"Keras {keras.__version__} on {keras.backend.backend()}; {os.cpu_count()} cores; {len(x)} real training faces, "
          f"batch 64; median of {args.rounds} epochs taken in turn", flush=True)
    rows = throughput(names, x, y, args.rounds)
    base = rows[names[0]]["img_s"]
    for n in names:
        r = rows[n]
        print(f"{n:22s} {r['img_s']:7.1f} img/s (epochs {r['spread'][0]:.0f}-{r['spread'][1]:.0f})  "
              f"{r['cores']:4.2f} cores busy  x{r['img_s'] / base:4.2f}  {r['params']:>10,} params", flush=True)
    for n in (args.accuracy_models or f"{names[0]},{names[-1]}").split(",") if args.accuracy_epochs else []:
        r = accuracy(n, data, args.accuracy_epochs)
        print(f"{n:22s} after {args.accuracy_epochs} epochs on the whole train split: val acc {r['acc']:.3f}, "
              f"macro-F1 {r['f1']:.3f} ({r['minutes']:.1f} min)", flush=True)


if __name__ == "__main__":
    main()
