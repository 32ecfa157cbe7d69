"""Distributed search on Keras Tuner's own chief/worker engine.

The chief serves the oracle over gRPC with keras-tuner's `OracleServicer`; workers are ordinary
tuners whose oracle is keras-tuner's `OracleClient`, configured by the KERASTUNER_TUNER_ID /
KERASTUNER_ORACLE_IP / KERASTUNER_ORACLE_PORT variables. What this module adds around that
engine: the chief watches the oracle (live leaderboard, leaderboard.csv written by it alone),
starts and stops local workers (`--workers N`) with their share of GPUs or CPU cores, and fails
the trial of a worker that died, so the search neither hangs nor counts that trial twice.
"""
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from concurrent import futures
from pathlib import Path

from fer.cache import atomic_write_text
from fer.errors import UserError
from search import leaderboard

ENV_ID, ENV_IP, ENV_PORT = "KERASTUNER_TUNER_ID", "KERASTUNER_ORACLE_IP", "KERASTUNER_ORACLE_PORT"
CHIEF_ID = "chief"
CONNECT_TIMEOUT = 30.0  # seconds a worker waits for its chief before giving up
WORKERS_FILE = "workers.json"
WORKER_LOGS = "workers"


def parse_address(text: str, flag: str) -> tuple[str, int]:
    host, sep, port = (text or "").rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise UserError(f"{flag} {text!r}: expected HOST:PORT, for example 127.0.0.1:8000")
    return host, int(port)


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def wait_for_chief(host: str, port: int, timeout: float) -> None:
    """Return once the chief answers; a one-line UserError after `timeout` seconds otherwise."""
    import grpc
    channel = grpc.insecure_channel(f"{host}:{port}")
    try:
        grpc.channel_ready_future(channel).result(timeout=timeout)
    except grpc.FutureTimeoutError:
        raise UserError(f"cannot reach the chief at {host}:{port} after {timeout:.0f} s; start it first with "
                        f"`python -m search.run ... --role chief --listen {host}:{port}`") from None
    finally:
        channel.close()


def use_chief(host: str, port: int, tuner_id: str) -> None:
    """Make the tuners this process builds keras-tuner workers of that chief (for a worker's lifetime)."""
    os.environ.update({ENV_ID: tuner_id, ENV_IP: host, ENV_PORT: str(port)})


@contextlib.contextmanager
def as_chief(host: str, port: int):
    """Build the chief's tuner under keras-tuner's chief settings, then put the environment back:
    the chief serves its oracle itself, and later searches in the same process stay local."""
    saved = {k: os.environ.get(k) for k in (ENV_ID, ENV_IP, ENV_PORT)}
    use_chief(host, port, CHIEF_ID)
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


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


PARENT_ENV = "FER_SEARCH_CHIEF_PID"  # set for local workers: they stop when this process goes


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


RECYCLE_EXIT = 75  # a worker's exit status when it leaves to be restarted fresh (--recycle-after)


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
    w["proc"] = subprocess.Popen(w["cmd"], stdout=w["log"], stderr=subprocess.STDOUT,
                                 env={**w["env"], PARENT_ENV: str(os.getpid())})
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


class Chief:
    """Serves a tuner's oracle to workers and turns the oracle's events into the leaderboard."""

    def __init__(self, tuner):
        self.tuner, self.oracle, self.console = tuner, tuner.oracle, tuner.console
        self.config = tuner.fer_config
        self.oracle.verbose = 0  # keras-tuner's own prints would garble the live view
        self.shown = {}  # trial id -> the last epoch shown
        self._watch()

    def _watch(self) -> None:
        oracle, tuner = self.oracle, self.tuner
        create, end = oracle.create_trial, oracle.end_trial

        def create_trial(tuner_id):
            known = tuner_id in oracle.ongoing_trials
            trial = create(tuner_id)
            if trial.status == "RUNNING" and not known:
                tuner.announce(trial, where=f" on {tuner_id}")
            return trial

        def end_trial(trial):
            self.show_progress(trial.trial_id)  # its last epoch, if the poll has not shown it yet
            end(trial)
            tuner.publish(trial.trial_id)

        oracle.create_trial, oracle.end_trial = create_trial, end_trial

    def show_progress(self, trial_id: str) -> None:
        """Epoch progress of a running trial, from the file its worker keeps in the shared folder."""
        progress = leaderboard.load_progress(self.config.project_dir, trial_id)
        if progress and self.shown.get(trial_id) != progress["epoch"]:
            self.shown[trial_id] = progress["epoch"]
            self.console.epoch_end(progress["epoch"], progress["epochs"], progress["logs"], trial_id=trial_id)

    def fail_trial_of(self, tuner_id: str, reason: str) -> None:
        """A worker is gone: its running trial is recorded as failed and it leaves the roster."""
        from keras_tuner.src.engine import trial as trial_module
        trial = self.oracle.ongoing_trials.get(tuner_id)
        if trial is not None:
            trial.status = trial_module.TrialStatus.FAILED
            trial.message = reason
            self.oracle.end_trial(trial)
        self.oracle.tuner_ids.discard(tuner_id)

    def fail_orphaned_trials(self, keep: set[str]) -> None:
        """On --resume: trials left running by workers that will not come back fail with a reason."""
        for tuner_id in [t for t in list(self.oracle.ongoing_trials) if t not in keep]:
            self.fail_trial_of(tuner_id, f"interrupted: {tuner_id} stopped during this trial")

    def finished(self) -> bool:
        return not self.oracle.ongoing_trials and not self.oracle.tuner_ids

    def serve(self, host: str, port: int, workers: list[dict] | None = None) -> None:
        """Serve until the search is done: every worker stopped, or (remote) the oracle is exhausted."""
        import grpc
        from keras_tuner.src import protos
        from keras_tuner.src.distribute.oracle_chief import OracleServicer
        server = grpc.server(futures.ThreadPoolExecutor(max_workers=1))
        servicer = OracleServicer(self.oracle)
        protos.get_service_grpc().add_OracleServicer_to_server(servicer, server)
        if server.add_insecure_port(f"{host}:{port}") == 0:
            raise UserError(f"--listen {host}:{port}: cannot listen there (port in use or address not local)")
        self.tuner.save()
        server.start()
        try:
            while True:
                time.sleep(0.5)
                for trial in list(self.oracle.ongoing_trials.values()):
                    self.show_progress(trial.trial_id)
                for w in workers or []:
                    code = w["proc"].poll()
                    if code == RECYCLE_EXIT:  # it ran its share of trials: a fresh process takes over
                        spawn(w)
                        record_workers(self.config.project_dir, workers)
                    elif code is not None and not w.get("gone"):
                        w["gone"] = True
                        if code != 0:
                            self.fail_trial_of(w["tuner_id"], f"worker {w['tuner_id']} died (exit status {code}); "
                                                              f"see {WORKER_LOGS}/{w['tuner_id']}.log")
                if workers is not None and all(w.get("gone") for w in workers):
                    break
                if workers is None and servicer.stop_triggered and self.finished():
                    break
        finally:
            server.stop(grace=2)
