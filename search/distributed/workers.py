"""Local workers of a distributed search: placement on GPUs or CPU cores, start, restart, stop.

`--workers N` starts N processes running `search.run --role worker` against this machine's
chief; each gets its own GPU when there are several, otherwise its share of the CPU cores, and
dies with the chief.
"""
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from fer.cache import atomic_write_text

WORKERS_FILE = "workers.json"
WORKER_LOGS = "workers"
PARENT_ENV = "FER_SEARCH_CHIEF_PID"  # set for local workers: they stop when this process goes
RECYCLE_EXIT = 75  # a worker's exit status when it leaves to be restarted fresh (--recycle-after)
BUDGET_EXIT = 76  # a local worker's exit status when the time budget leaves no room for its next trial


def gpu_count() -> int:
    try:
        out = subprocess.run(["nvidia-smi", "-L"], capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        return 0
    return sum(line.startswith("GPU ") for line in out.splitlines())


def worker_placement(k: int, n: int, gpus: int, cores: list[int], threads: int | None = None) -> dict:
    """Worker k of n: its own GPU when there are several, otherwise its share of the CPU cores
    (`threads` cores each when given, else an equal share)."""
    if gpus > 1:
        return {"gpu": k % gpus, "cores": None, "threads": threads}
    share = min(len(cores), threads or max(1, len(cores) // n))
    mine = cores[(k * share) % len(cores):][:share] or cores[:share]
    return {"gpu": 0 if gpus == 1 else None, "cores": mine, "threads": len(mine)}


def limit_threads(threads: int) -> None:
    """Keep a worker to its share of cores (called before the backend starts its thread pools)."""
    for var in ("OMP_NUM_THREADS", "TF_NUM_INTRAOP_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(threads)
    import keras
    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf
        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(max(1, threads))
    elif backend == "torch":
        import torch
        torch.set_num_threads(threads)


def die_with_parent() -> None:
    """In a local worker: get SIGTERM if the chief dies (even by kill -9), never linger as an orphan.

    Set up by the worker itself rather than in the chief between fork and exec: the chief runs
    gRPC threads, and running Python in a forked child of such a process is not safe.
    """
    parent = os.environ.get(PARENT_ENV)
    if not parent:
        return
    try:
        import ctypes
        ctypes.CDLL("libc.so.6").prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        return
    if os.getppid() != int(parent):  # the chief was already gone before prctl
        sys.exit(1)


def start_workers(n: int, argv: list[str], project_dir: Path, host: str, port: int,
                  threads: int | None = None, recycle_after: int | None = None) -> list[dict]:
    """Start n local workers running the same command as `--role worker`; logs under workers/."""
    logs = Path(project_dir) / WORKER_LOGS
    logs.mkdir(parents=True, exist_ok=True)
    cores = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else list(range(os.cpu_count() or 1))
    gpus = gpu_count()
    workers = []
    for k in range(n):
        tuner_id = f"tuner{k}"
        place = worker_placement(k, n, gpus, cores, threads)
        env = dict(os.environ)
        if place["gpu"] is not None:
            env["CUDA_VISIBLE_DEVICES"] = str(place["gpu"])
        cmd = [sys.executable, "-m", "search.run", *argv, "--role", "worker", "--chief", f"{host}:{port}",
               "--tuner-id", tuner_id, "--plain"]
        cmd += ["--threads", str(place["threads"])] if place["threads"] else []
        cmd += ["--recycle-after", str(recycle_after)] if recycle_after else []
        w = {"tuner_id": tuner_id, "cmd": cmd, "env": env, "log": open(logs / f"{tuner_id}.log", "w"), **place}
        spawn(w)
        workers.append(w)
    record_workers(project_dir, workers)
    return workers


def spawn(w: dict) -> None:
    from search.distributed.auth import worker_env
    w["proc"] = subprocess.Popen(w["cmd"], stdout=w["log"], stderr=subprocess.STDOUT,
                                 env={**w["env"], PARENT_ENV: str(os.getpid()), **worker_env()})
    if w["cores"] and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(w["proc"].pid, w["cores"])


def record_workers(project_dir: Path, workers: list[dict]) -> None:
    atomic_write_text(Path(project_dir) / WORKERS_FILE, json.dumps(
        [{"tuner_id": w["tuner_id"], "pid": w["proc"].pid, "gpu": w["gpu"], "cores": w["cores"]} for w in workers],
        indent=2) + "\n")


def stop_workers(workers: list[dict], grace: float = 10.0) -> None:
    for w in workers:
        if w["proc"].poll() is None:
            w["proc"].terminate()
    deadline = time.time() + grace
    for w in workers:
        try:
            w["proc"].wait(timeout=max(0.1, deadline - time.time()))
        except subprocess.TimeoutExpired:
            w["proc"].kill()
            w["proc"].wait()
        w["log"].close()
