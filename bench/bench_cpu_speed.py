"""Training throughput on the CPU: today's `cnn` default against the recommended CPU models, side by side.

Each model trains on the first N real training faces (batch 64) for a warm-up epoch, then a
timed one; the bench prints images per second and how many cores were busy (process CPU time
over wall time) in that second epoch, and the ratio to the cnn default. With `--accuracy-epochs
E` each model then trains from scratch for E epochs on the whole train split and prints its
validation accuracy, so "faster" can be read at equal accuracy.

    python bench/bench_cpu_speed.py [--data data/fer2013] [--images 6400] [--models cnn-default,cpu-vgg]

Where the time goes (`--profile`): each model's multiply-accumulates per layer and the GFLOP/s
the measured throughput means. On a machine whose arithmetic rate is capped (this one's is:
a model's img/s follows its arithmetic, whatever the threads or batch norm), cutting
arithmetic at equal accuracy is what makes training faster.
"""
import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import keras  # noqa: E402
import keras_tuner as kt  # noqa: E402
import numpy as np  # noqa: E402

from fer.dataset import Dataset  # noqa: E402
from search.schedule import fit_inputs, lr_callbacks  # noqa: E402
from spaces import SpaceOptions, get_space  # noqa: E402

# (space, pinned hyperparameters); the rest at the space's defaults.
MODELS = {
    "cnn-default": ("cnn", {}),  # today's default: 32-64-128, 2 convs, batch norm, dense 256, adam
    "cnn-no-bn": ("cnn", {"batch_norm": False}),
    "cpu-vgg": ("cnn", {"batch_norm": False, "conv_blocks": 4, "filters": 32, "crop_size": 44, "pooling": "flatten",
                        "dense_units": 256, "dropout": 0.2}),
    "cpu-vgg64": ("cnn", {"batch_norm": False, "conv_blocks": 3, "filters": 64, "crop_size": 44, "pooling": "flatten",
                          "dense_units": 256, "dropout": 0.25}),
    "resnet-small": ("resnet", {"blocks": "1-1-1", "width": 32, "batch_norm": False, "crop_size": 44}),
    "resnet18": ("resnet", {"blocks": "2-2-2-2", "width": 64, "crop_size": 44}),
}


def build(name: str):
    space, pinned = MODELS[name]
    hp = kt.HyperParameters()
    for k, v in pinned.items():
        hp.Fixed(k, v)
    model = get_space(space).build(hp, SpaceOptions(weights=None))
    return model, hp


class EpochClock(keras.callbacks.Callback):
    """Wall and process-CPU seconds of each epoch."""

    def __init__(self):
        super().__init__()
        self.epochs = []

    def on_epoch_begin(self, epoch, logs=None):
        self.start = (time.perf_counter(), time.process_time())

    def on_epoch_end(self, epoch, logs=None):
        wall, cpu = time.perf_counter() - self.start[0], time.process_time() - self.start[1]
        self.epochs.append((wall, cpu))


def throughput(name: str, x, y) -> dict:
    keras.backend.clear_session()
    keras.utils.set_random_seed(0)
    model, hp = build(name)
    clock = EpochClock()
    model.fit(**fit_inputs(hp.values, x, y, 64, None, 7), epochs=2, verbose=0, callbacks=[clock])
    wall, cpu = clock.epochs[-1]
    return {"img_s": len(x) / wall, "cores": cpu / wall, "params": model.count_params()}


def accuracy(name: str, data: dict, epochs: int) -> float:
    keras.backend.clear_session()
    keras.utils.set_random_seed(0)
    model, hp = build(name)
    (x, y), (xv, yv) = data["train"], data["val"]
    model.fit(**fit_inputs(hp.values, x, y, 64, None, 7), validation_data=(xv, yv), epochs=epochs, verbose=0,
              callbacks=lr_callbacks(hp.values.get("lr_schedule", "plateau"), "val_accuracy", "max", 6))
    return float(model.evaluate(xv, yv, verbose=0, return_dict=True)["accuracy"])


def layer_macs(model) -> list[tuple[str, int]]:
    """Multiply-accumulates per face of each convolution and dense layer in a forward pass."""
    out = []
    for layer in model.layers:
        if isinstance(layer, keras.layers.Conv2D):
            _, h, w, c = layer.output.shape
            k = layer.kernel_size[0] * layer.kernel_size[1] * layer.input.shape[-1]
            out.append((f"{layer.name} {h}x{w}x{c}", h * w * c * k))
        elif isinstance(layer, keras.layers.Dense):
            out.append((f"{layer.name} {layer.units}", layer.input.shape[-1] * layer.units))
    return out


def profile(names: list[str], x, y) -> None:
    """Where a training step's arithmetic goes, per layer, and how fast this machine does it: a
    training step costs about 3x the forward multiply-accumulates (forward, two backward products)."""
    for name in names:
        model, _ = build(name)
        macs = layer_macs(model)
        total = sum(m for _, m in macs)
        measured = throughput(name, x, y)
        gflops = measured["img_s"] * 3 * total * 2 / 1e9
        print(f"{name}: {total / 1e6:.1f}M multiply-accumulates per face forward; at {measured['img_s']:.1f} img/s "
              f"that is {gflops:.1f} GFLOP/s of training arithmetic")
        for layer, m in sorted(macs, key=lambda lm: -lm[1]):
            print(f"  {layer:34s} {m / 1e6:7.2f}M  {100 * m / total:5.1f}%")


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", default="data/fer2013")
    p.add_argument("--images", type=int, default=6400)
    p.add_argument("--models", default="cnn-default,cpu-vgg")
    p.add_argument("--accuracy-epochs", type=int, default=0)
    p.add_argument("--profile", action="store_true", help="per-layer arithmetic and GFLOP/s of each model")
    args = p.parse_args(argv)
    ds = Dataset.open(args.data)
    data = {s: tuple(np.asarray(a) for a in ds.split(s)) for s in ("train", "val")}
    x, y = data["train"][0][:args.images], data["train"][1][:args.images]
    names = args.models.split(",")
    if args.profile:
        return profile(names, x, y)
    print(f"{keras.backend.backend()} {keras.__version__}; {os.cpu_count()} cores; {len(x)} real training faces, "
          f"batch 64, second epoch timed")
    rows = {n: throughput(n, x, y) for n in names}
    base = rows[names[0]]["img_s"]
    for n in names:
        r = rows[n]
        acc = f"  val acc after {args.accuracy_epochs} epochs {accuracy(n, data, args.accuracy_epochs):.3f}" \
            if args.accuracy_epochs else ""
        print(f"{n:14s} {r['img_s']:7.1f} img/s  {r['cores']:4.2f} cores busy  x{r['img_s'] / base:4.2f}  "
              f"{r['params']:>10,} params{acc}", flush=True)


if __name__ == "__main__":
    main()
