"""Benchmarks of the search harness (issue 3), each a side-by-side comparison in one run.

  overhead  the same cnn model trained by `search.run`'s machinery (one trial) and by a plain
            `model.fit` on the same arrays and epochs: goal, harness time <= 1.05 x plain.
  memory    20 trials of the cnn space on demo data: resident memory after the last trial within
            15% of that after the third.
  memory-recycled  the same with `--recycle-after K` (5; --recycle-after): trials run in a worker
            process replaced every K trials.
  mobilenet one mobilenet trial at input 224 on the full FER-2013 train split (ImageNet weights
            from ../shared/weights), a limited number of steps: goal, peak memory < 4 GB, against
            the ~17 GB that pre-resizing to 224x224x3 float32 would take.

    python bench/bench_search.py overhead|memory|mobilenet [--data DIR]
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
from search.tuners import make_tuner, rss_mb  # noqa: E402
from spaces import SpaceOptions, get_space  # noqa: E402

SHARED = ROOT.parent / "shared"
WEIGHTS = SHARED / "weights" / "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_224_no_top.h5"


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class Quiet(PlainConsole):
    def line(self, text):
        pass


def tuner_for(space, tuner, runs_dir, trials, epochs, data, weights=None, hp_fixed=None, batch=64):
    config = RunConfig(space=space, tuner=tuner, max_trials=trials, max_epochs=epochs, runs_dir=runs_dir,
                       project="bench", precision="float32", batch_size=batch, patience=epochs + 1)
    hm = FerHyperModel(config, SpaceOptions(weights=weights))
    hp = kt.HyperParameters()
    for k, v in (hp_fixed or {}).items():
        hp.Fixed(k, v)
    t = make_tuner(config, hm, overwrite=True)
    if hp_fixed:  # pin hyperparameters the oracle would otherwise choose
        t.oracle.hyperparameters.merge(hp)
    t.setup_reporting(config, Quiet(), len(data[1]), [], {"weights": "", "precision": "float32"})
    return t


def overhead(data_dir: str, epochs: int = 3) -> None:
    ds = Dataset.open(data_dir)
    (x, y), (xv, yv) = (tuple(np.asarray(a) for a in ds.split(s)) for s in ("train", "val"))
    hp_fixed = {"augment": "off", "class_weight": "none", "conv_blocks": 3, "filters": 32, "convs_per_block": 2,
                "batch_norm": True, "dropout": 0.25, "dense_units": 256, "optimizer": "adam", "learning_rate": 1e-3}
    times = {"plain": [], "harness": []}
    for rep in range(2):  # alternate, so drift on the machine hits both sides
        keras.utils.set_random_seed(rep)
        hp = kt.HyperParameters()
        for k, v in hp_fixed.items():
            hp.Fixed(k, v)
        keras.backend.clear_session()
        model = get_space("cnn").build(hp, SpaceOptions(weights=None))
        start = time.perf_counter()
        model.fit(x, y, validation_data=(xv, yv), epochs=epochs, batch_size=64, verbose=0)
        times["plain"].append(time.perf_counter() - start)
        with tempfile.TemporaryDirectory() as runs:
            keras.utils.set_random_seed(rep)
            t = tuner_for("cnn", "random", runs, 1, epochs, (x, y), hp_fixed=hp_fixed)
            start = time.perf_counter()
            t.search(x, y, validation_data=(xv, yv), epochs=epochs, verbose=0)
            times["harness"].append(time.perf_counter() - start)
    plain, harness = min(times["plain"]), min(times["harness"])
    print(f"data {data_dir}: {len(y)} train images, {epochs} epochs, cnn at defaults, best of 2 each")
    print(f"  plain model.fit       {plain:7.2f} s   (runs {', '.join(f'{v:.2f}' for v in times['plain'])})")
    print(f"  search harness trial  {harness:7.2f} s   (runs {', '.join(f'{v:.2f}' for v in times['harness'])})")
    ratio = harness / plain
    print(f"overhead ratio harness/plain = {ratio:.3f} (goal <= 1.05): {'PASS' if ratio <= 1.05 else 'FAIL'}")


def memory(data_dir: str, trials: int = 20) -> None:
    ds = Dataset.open(data_dir)
    (x, y), (xv, yv) = (tuple(np.asarray(a) for a in ds.split(s)) for s in ("train", "val"))
    after = []

    class Probe(Quiet):
        def trial_end(self, row, rows, done, planned, direction, key_hps):
            after.append(rss_mb())

    with tempfile.TemporaryDirectory() as runs:
        t = tuner_for("cnn", "random", runs, trials, 1, (x, y))
        t.console = Probe()
        start = time.perf_counter()
        t.search(x, y, validation_data=(xv, yv), epochs=1, verbose=0)
    print(f"data {data_dir}: {trials} random cnn trials of 1 epoch in {time.perf_counter() - start:.0f} s")
    print("  RSS after each trial (MB): " + " ".join(f"{m:.0f}" for m in after))
    ratio = after[-1] / after[2]
    print(f"RSS after trial {len(after)} / after trial 3 = {after[-1]:.0f} / {after[2]:.0f} MB = {ratio:.3f} "
          f"(goal <= 1.15): {'PASS' if ratio <= 1.15 else 'FAIL'}")


def memory_recycled(data_dir: str, trials: int = 20, recycle_after: int = 5) -> None:
    """The same trials run by one worker process that is replaced every `recycle_after` trials."""
    import json
    import subprocess
    with tempfile.TemporaryDirectory() as runs:
        cmd = [sys.executable, "-m", "search.run", "--space", "cnn", "--tuner", "random", "--data", data_dir,
               "--max-trials", str(trials), "--max-epochs", "1", "--precision", "float32", "--patience", "2",
               "--project", "bench", "--runs-dir", runs, "--plain", "--recycle-after", str(recycle_after)]
        start = time.perf_counter()
        subprocess.run(cmd, cwd=ROOT, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                       env={**os.environ, "PYTHONPATH": str(ROOT)})
        seconds = time.perf_counter() - start
        infos = [json.loads(p.read_text()) for p in Path(runs, "bench").glob("trial_*/fer_trial.json")]
    infos.sort(key=lambda i: i["ended"])
    after = [i["rss_mb"] for i in infos]
    print(f"data {data_dir}: {trials} random cnn trials of 1 epoch in {seconds:.0f} s by one worker "
          f"restarted every {recycle_after} trials ({len({i['pid'] for i in infos})} processes)")
    print("  worker RSS after each trial (MB): " + " ".join(f"{m:.0f}" for m in after))
    ratio = after[-1] / after[2]
    print(f"RSS after trial {len(after)} / after trial 3 = {after[-1]:.0f} / {after[2]:.0f} MB = {ratio:.3f} "
          f"(goal <= 1.15): {'PASS' if ratio <= 1.15 else 'FAIL'}")


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
    p.add_argument("which", choices=["overhead", "memory", "memory-recycled", "mobilenet"])
    p.add_argument("--trials", type=int, default=20, help="memory: number of trials")
    p.add_argument("--recycle-after", type=int, default=5, help="memory-recycled: trials per worker process")
    p.add_argument("--data", help="prepared folder (default: demo; mobilenet: FER-2013 from ../shared/data)")
    args = p.parse_args()
    data = args.data
    if data is None:
        if args.which == "mobilenet":
            data = str(ROOT / "data" / "fer2013")
            if not Path(data, "meta.json").is_file():
                prepare(str(SHARED / "data" / "fer2013_from_images.csv.gz"), data)
        else:
            data = str(ensure_demo(ROOT / "data" / "demo"))
    if args.which == "memory":
        memory(data, args.trials)
    elif args.which == "memory-recycled":
        memory_recycled(data, args.trials, args.recycle_after)
    else:
        {"overhead": overhead, "mobilenet": mobilenet}[args.which](data)
    return 0


if __name__ == "__main__":
    sys.exit(main())
