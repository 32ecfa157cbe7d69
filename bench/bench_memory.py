"""Memory benchmarks of the search harness (issue 3): flat resident memory over many trials, and its price.

  memory    20 trials of the cnn space on demo data in one process: resident memory after the
            last trial within 15% of that after the third.
  memory-recycled  the same with `--recycle-after K` (5; --recycle-after): trials run in a worker
            process replaced every K trials.
  allocator the price of flat memory: seconds per training step of each space's default model
            (cnn also under mixed_bfloat16) with TensorFlow's oneDNN BFC pool, with the system
            allocator as search.tf_memory sets it up, and with the system allocator on glibc's
            defaults, each in its own process, with all threads and with one pinned thread (a
            distributed worker's --threads 1): goal, system/BFC <= 1.05.

    python bench/bench_memory.py memory|memory-recycled|allocator [--trials N] [--data DIR]
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench_search import ROOT, Quiet, tuner_for  # noqa: I001 - also puts the project on sys.path

import numpy as np  # noqa: E402

from fer.dataset import Dataset  # noqa: E402
from fer.prepare import ensure_demo  # noqa: E402
from search.tf_memory import M_ARENA_MAX, M_MMAP_MAX, M_TRIM_THRESHOLD, SYSTEM_ALLOCATOR_ENV, glibc, rss_mb  # noqa: E402
from spaces import SpaceOptions, get_space  # noqa: E402


def print_flatness(after: list, what: str) -> None:
    """The goal's verdict: RSS after the last trial within 15% of that after the third."""
    print(f"  {what} after each trial (MB): " + " ".join(f"{m:.0f}" for m in after))
    ratio = after[-1] / after[2]
    print(f"RSS after trial {len(after)} / after trial 3 = {after[-1]:.0f} / {after[2]:.0f} MB = {ratio:.3f} "
          f"(goal <= 1.15): {'PASS' if ratio <= 1.15 else 'FAIL'}")


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
    print_flatness(after, "RSS")


def memory_recycled(data_dir: str, trials: int = 20, recycle_after: int = 5) -> None:
    """The same trials run by one worker process that is replaced every `recycle_after` trials."""
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
    print_flatness(after, "worker RSS")


M_MMAP_THRESHOLD = -3  # glibc's mallopt parameter (malloc.h); search.tf_memory leaves it alone
# name: (TF_ONEDNN_USE_SYSTEM_ALLOCATOR, glibc set up as search.tf_memory does it)
ALLOCATORS = {"onednn-bfc": ("0", False), "system": ("1", True), "system+glibc": ("1", False)}
STEP_CASES = {  # threads (None: the machine's default) -> (space, policy) cases
    None: (("baseline", "float32"), ("cnn", "float32"), ("cnn", "mixed_bfloat16"), ("mobilenet", "float32")),
    1: (("cnn", "float32"), ("mobilenet", "float32")),  # a distributed worker with --threads 1
}


def step_times(heap: bool, threads: int | None) -> None:
    """In a child process whose allocator the parent chose: one line of seconds per step per case."""
    from search.precision import time_steps
    if not heap:  # undo search.tf_memory's setup: glibc's defaults, its mmap thresholds at their maximum
        for param, value in ((M_ARENA_MAX, 8 * os.cpu_count()), (M_MMAP_MAX, 65536), (M_MMAP_THRESHOLD, 32 * 2**20),
                             (M_TRIM_THRESHOLD, 64 * 2**20)):
            glibc().mallopt(param, value)
    if threads:  # as a distributed worker: its threads, pinned
        from search.distributed.workers import limit_threads
        limit_threads(threads)
        os.sched_setaffinity(0, sorted(os.sched_getaffinity(0))[:threads])
    for space, policy in STEP_CASES[threads]:
        build = get_space(space).build
        seconds = min(time_steps(lambda hp: build(hp, SpaceOptions(weights=None)), policy, SpaceOptions().input_shape,
                                 batch=64, warmup=3, steps=10) for _ in range(2))
        print(f"{space} {policy} {seconds:.5f} {rss_mb():.0f}", flush=True)


def allocator(rounds: int = 2) -> None:
    """Alternate the allocators `rounds` times, each in a fresh process; keep each case's best."""
    best = {}
    for _ in range(rounds):
        for threads in STEP_CASES:
            for name, (value, heap) in ALLOCATORS.items():
                env = {**os.environ, SYSTEM_ALLOCATOR_ENV: value, "TF_CPP_MIN_LOG_LEVEL": "3"}
                cmd = [sys.executable, __file__, "step-times"] + ([] if heap else ["--plain-glibc"])
                cmd += ["--threads", str(threads)] if threads else []
                out = subprocess.run(cmd, env=env, check=True, capture_output=True, text=True).stdout
                for line in out.splitlines():
                    space, policy, seconds, _ = line.split()
                    key = (threads, space, policy, name)
                    best[key] = min(best.get(key, float("inf")), float(seconds))
    print(f"seconds per training step (batch 64, best of {2 * rounds}) of each space's default model:")
    print(f"  {'':43s}" + "".join(f"{name:>14s}" for name in ALLOCATORS) + "   system/BFC")
    worst = 0.0
    for threads, cases in STEP_CASES.items():
        for space, policy in cases:
            row = [best[(threads, space, policy, name)] for name in ALLOCATORS]
            worst = max(worst, row[1] / row[0])
            where = f"{threads} thread, pinned" if threads else "all threads"
            print(f"  {space:9s} {policy:15s} {where:17s}" + "".join(f"{v:14.4f}" for v in row)
                  + f"   {row[1] / row[0]:10.3f}")
    print(f"worst ratio system/BFC = {worst:.3f} (goal <= 1.05): {'PASS' if worst <= 1.05 else 'FAIL'}")


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("which", choices=["memory", "memory-recycled", "allocator", "step-times"])
    p.add_argument("--trials", type=int, default=20, help="memory: number of trials")
    p.add_argument("--recycle-after", type=int, default=5, help="memory-recycled: trials per worker process")
    p.add_argument("--plain-glibc", action="store_true", help=argparse.SUPPRESS)  # step-times: glibc's defaults
    p.add_argument("--threads", type=int, help=argparse.SUPPRESS)  # step-times: as a worker with --threads
    p.add_argument("--data", help="prepared folder (default: the demo data)")
    args = p.parse_args()
    if args.which in ("allocator", "step-times"):  # random inputs: no data needed
        allocator() if args.which == "allocator" else step_times(heap=not args.plain_glibc, threads=args.threads)
        return 0
    data = args.data or str(ensure_demo(ROOT / "data" / "demo"))
    if args.which == "memory":
        memory(data, args.trials)
    else:
        memory_recycled(data, args.trials, args.recycle_after)
    return 0


if __name__ == "__main__":
    sys.exit(main())
