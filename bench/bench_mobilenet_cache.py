"""A frozen-backbone epoch of mobilenet on the real train split, with and without the feature cache.

The same model (MobileNetV2 at `--size`, the local ImageNet file, augmentation off, no crop or
erasing, nothing unfrozen) is fitted through the training core twice: without a cache folder (each
epoch runs every face through the backbone: what a frozen phase cost before) and with one (the
backbone's features for train and val computed once, search.feature_cache, then a dense head per
epoch). Each epoch is timed from its start to its end, validation included; the first of each
pays for tracing, so the verdict compares the last epochs. The cache's one-off cost (features of
train and val) and the BatchNorm re-estimation's (`batch_norm_mode=adapt`, search.batch_norm) are
printed beside. Goal: a cached frozen epoch at least 5 x as fast. Its last line is `speedup=X`.

    python bench/bench_mobilenet_cache.py --weights PATH [--data data/fer2013] [--size 96]
        [--uncached-faces N]   # time the uncached epochs on N faces and extrapolate to the split
"""
import argparse
import datetime
import os
import re
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
from search import batch_norm, feature_cache, transfer  # noqa: E402
from search.project import train_and_val  # noqa: E402
from search.training import Fitting, fit  # noqa: E402
from spaces import SpaceOptions, get_space  # noqa: E402

WEIGHTS = ROOT.parent / "shared" / "weights" / "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_224_no_top.h5"
PINS = {"augment": "off", "crop_size": 48, "random_erasing": 0.0, "mixup": 0.0, "unfreeze_layers": 0,
        "optimizer": "adam", "lr_schedule": "plateau", "class_weight": "none", "batch_norm_mode": "frozen"}


class EpochClock(keras.callbacks.Callback):
    """Wall seconds of each epoch, start to end (validation included)."""

    def __init__(self):
        super().__init__()
        self.seconds, self.began = [], 0.0

    def on_epoch_begin(self, epoch, logs=None):
        self.began = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.seconds.append(time.perf_counter() - self.began)


def build(size: int, weights: str) -> tuple[keras.Model, dict]:
    keras.backend.clear_session()
    keras.utils.set_random_seed(0)
    hp = kt.HyperParameters()
    for name, value in {**PINS, "input_size": size}.items():
        hp.Fixed(name, value)
    return get_space("mobilenet").build(hp, SpaceOptions(weights=weights)), dict(hp.values)


def timed_fit(size, weights, x, y, val, epochs: int, folder) -> tuple[list, float]:
    """Epoch seconds and the last epoch's val accuracy of a fit, cached when `folder` is given."""
    model, values = build(size, weights)
    clock = EpochClock()
    fitting = Fitting(batch_size=64, objective="val_accuracy", direction="max", patience=5, feature_cache=folder)
    result = fit(model, values, x, y, fitting, validation=val, callbacks=[clock], epochs=epochs)
    return clock.seconds, result.history.history["val_accuracy"][-1]


def cpu_flags() -> str:
    text = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").is_file() else ""
    return " ".join(sorted(set(re.findall(r"\b(avx512[a-z_0-9]*|avx2|amx[a-z_]*)\b", text))))


def one_off_costs(size, weights, x, xv, folder) -> None:
    """Print the cache's build time (train and val features) and BatchNorm re-estimation's."""
    model, _ = build(size, weights)
    parts = transfer.Parts.of(model)
    start = time.perf_counter()
    for faces in (x, xv):
        feature_cache.features(parts.extractor, parts.backbone, faces, folder)
    print(f"cache build: features of {len(x)} train + {len(xv)} val faces in {time.perf_counter() - start:.1f} s "
          f"({sum(p.stat().st_size for p in Path(folder).glob('*.npy')) / 2**20:.0f} MiB on disk)")
    start = time.perf_counter()
    used = batch_norm.reestimate(parts.path_in, parts.backbone, x)
    print(f"batch_norm_mode=adapt: statistics re-estimated on {used} faces in {time.perf_counter() - start:.1f} s")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="data/fer2013")
    parser.add_argument("--weights", default=str(WEIGHTS))
    parser.add_argument("--size", type=int, default=96)
    parser.add_argument("--uncached-epochs", type=int, default=2)
    parser.add_argument("--cached-epochs", type=int, default=3)
    parser.add_argument("--uncached-faces", type=int, default=0, help="0: the whole train split")
    args = parser.parse_args(argv)
    keras.mixed_precision.set_global_policy("float32")
    x, y, xv, yv = train_and_val(Dataset.open(args.data))
    print(f"{datetime.date.today()}  cpu flags: {cpu_flags() or 'none of avx2/avx512/amx'}  cores: {os.cpu_count()}  "
          f"keras {keras.__version__} ({keras.backend.backend()}), float32")
    print(f"mobilenet at {args.size} px, {Path(args.weights).name}, frozen backbone, augment off; "
          f"train {len(x)} faces, val {len(xv)}, batch 64")
    share = 1.0
    ux, uy, uval = x, y, (xv, yv)
    if args.uncached_faces and args.uncached_faces < len(x):
        share = args.uncached_faces / len(x)
        nv = max(64, round(len(xv) * share))
        ux, uy, uval = x[:args.uncached_faces], y[:args.uncached_faces], (xv[:nv], yv[:nv])
        print(f"uncached epochs on the first {len(ux)} train and {nv} val faces, extrapolated x {1 / share:.2f}")
    plain, plain_acc = timed_fit(args.size, args.weights, ux, uy, uval, args.uncached_epochs, None)
    print(f"uncached: epochs {', '.join(f'{s:.1f}' for s in plain)} s; val accuracy {plain_acc:.3f}")
    with tempfile.TemporaryDirectory(prefix="feature_cache-") as folder:
        one_off_costs(args.size, args.weights, x, xv, folder)
        cached, cached_acc = timed_fit(args.size, args.weights, x, y, (xv, yv), args.cached_epochs, folder)
    print(f"cached (features read from the cache built above): epochs {', '.join(f'{s:.1f}' for s in cached)} s; "
          f"val accuracy {cached_acc:.3f}")
    uncached_epoch, cached_epoch = plain[-1] / share, float(np.median(cached[1:] or cached))
    print(f"frozen epoch: uncached {uncached_epoch:.1f} s{' (extrapolated)' if share < 1 else ''}, "
          f"cached {cached_epoch:.2f} s (median after the first); goal: at least 5 x")
    print(f"speedup={uncached_epoch / cached_epoch:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
