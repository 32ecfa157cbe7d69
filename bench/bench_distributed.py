"""Throughput of distributed search: the same fixed set of demo trials with 1 worker of 1 thread
and with 2 workers of 1 thread each, side by side in one run (issue 5).

Goal: on a 2-core machine, 2 workers finish in no more than 0.7 of the time of 1 worker.
Both runs use the same seed, so the random oracle hands out the same trials; the time is wall
clock for the whole command, worker start-up included.

    python bench/bench_distributed.py [--trials 6] [--epochs 2]
"""
import argparse
import csv
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def search(workdir: Path, workers: int, trials: int, epochs: int) -> tuple[float, list[dict]]:
    project = f"bench-w{workers}"
    cmd = [sys.executable, "-m", "search.run", "--space", "cnn", "--tuner", "random", "--data", "demo",
           "--max-trials", str(trials), "--max-epochs", str(epochs), "--precision", "float32", "--seed", "0",
           "--project", project, "--overwrite", "--plain", "--workers", str(workers), "--threads", "1"]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TF_CPP_MIN_LOG_LEVEL": "2"}
    start = time.perf_counter()
    subprocess.run(cmd, cwd=workdir, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    seconds = time.perf_counter() - start
    with open(workdir / "tuner_runs" / project / "leaderboard.csv", newline="") as f:
        return seconds, list(csv.DictReader(f))


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--trials", type=int, default=6)
    p.add_argument("--epochs", type=int, default=2)
    args = p.parse_args()
    print(f"cores available: {len(os.sched_getaffinity(0))}; {args.trials} random cnn trials of {args.epochs} "
          "epochs on demo data, seed 0")
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        (work / "data").symlink_to(ROOT / "data") if (ROOT / "data").is_dir() else None
        results = {n: search(work, n, args.trials, args.epochs) for n in (1, 2)}
    for n, (seconds, rows) in results.items():
        done = sum(r["status"] == "COMPLETED" for r in rows)
        train = sum(float(r["seconds"] or 0) for r in rows)
        print(f"  {n} worker{'s' * (n > 1)} x 1 thread: {seconds:6.1f} s wall, {done}/{len(rows)} trials completed, "
              f"{train:.1f} s of trial time")
    ok = all(sum(r["status"] == "COMPLETED" for r in rows) == args.trials for _, rows in results.values())
    ratio = results[2][0] / results[1][0]
    print(f"ratio 2 workers / 1 worker = {ratio:.3f} (goal <= 0.7): {'PASS' if ratio <= 0.7 and ok else 'FAIL'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
