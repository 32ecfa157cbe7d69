"""The chief of a distributed search: keras-tuner's oracle served over gRPC, watched.

The chief serves the oracle with keras-tuner's `OracleServicer`; workers are ordinary tuners whose
oracle is keras-tuner's `OracleClient`, configured by the KERASTUNER_TUNER_ID /
KERASTUNER_ORACLE_IP / KERASTUNER_ORACLE_PORT variables. What `Chief` adds around that engine: it
watches the oracle (live leaderboard, leaderboard.csv written by it alone), restarts recycled
local workers and fails the trial of a worker that died, so the search neither hangs nor counts
that trial twice.
"""
import contextlib
import os
import socket
import time
from concurrent import futures
from pathlib import Path

from fer.errors import EXIT_USER_ERROR, UserError
from search import leaderboard
from search.distributed.workers import BUDGET_EXIT, RECYCLE_EXIT, WORKER_LOGS, record_workers, spawn

ENV_ID, ENV_IP, ENV_PORT = "KERASTUNER_TUNER_ID", "KERASTUNER_ORACLE_IP", "KERASTUNER_ORACLE_PORT"
CHIEF_ID = "chief"
CONNECT_TIMEOUT = 30.0  # seconds a worker waits for its chief before giving up


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
    from search.distributed import quiet_protos
    quiet_protos.install()
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


def worker_error(project_dir, tuner_id: str) -> str:
    """The one line a local worker ended with (its log's last `error:` line)."""
    try:
        lines = (Path(project_dir) / WORKER_LOGS / f"{tuner_id}.log").read_text(errors="replace").splitlines()
    except OSError:
        lines = []
    said = [line.split(" error: ", 1)[1] for line in lines if " error: " in line]
    return said[-1] if said else f"exit status {EXIT_USER_ERROR}; see {WORKER_LOGS}/{tuner_id}.log"


class Chief:
    """Serves a tuner's oracle to workers and turns the oracle's events into the leaderboard."""

    def __init__(self, tuner):
        self.tuner, self.oracle, self.console = tuner, tuner.oracle, tuner.console
        self.config = tuner.fer_config
        self.oracle.verbose = 0  # keras-tuner's own prints would garble the live view
        self.shown = {}  # trial id -> the last epoch shown
        self.stopped_by_budget = False
        self._watch()

    def _watch(self) -> None:
        oracle, tuner = self.oracle, self.tuner
        create, end = oracle.create_trial, oracle.end_trial

        def create_trial(tuner_id):
            if self.budget_spent() and tuner_id not in oracle.ongoing_trials:
                return self.stopped_trial(tuner_id)  # the time budget holds for every worker
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

    def stopped_trial(self, tuner_id: str):
        """What keras-tuner's oracle answers when it has no more trials: the worker asking it exits."""
        from keras_tuner.src.engine import trial as trial_module
        self.oracle.tuner_ids.discard(tuner_id)
        hp = self.oracle.hyperparameters.copy()
        hp.values = {}
        return trial_module.Trial(hyperparameters=hp, trial_id="budget-spent", status=trial_module.TrialStatus.STOPPED)

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

    def budget_spent(self) -> bool:
        budget = getattr(self.tuner, "budget", None)
        return budget is not None and budget.spent()

    def budget_over(self) -> bool:
        """Remote workers stop asking for trials once the time budget is spent (they check it
        themselves): the chief ends when no trial is running any more."""
        return self.budget_spent() and not self.oracle.ongoing_trials

    def finished(self) -> bool:
        return not self.oracle.ongoing_trials and not self.oracle.tuner_ids

    def tend(self, w: dict, workers: list[dict]) -> None:
        """A local worker that has exited: restarted when it left to be recycled and the budget is
        not spent, otherwise gone (the budget's stop recorded, or a death failing its trial)."""
        code = w["proc"].poll()
        if code is None or w.get("gone"):
            return
        if code == RECYCLE_EXIT and not self.budget_spent():  # a fresh process takes over
            spawn(w)
            record_workers(self.config.project_dir, workers)
            return
        w["gone"] = True
        if code in (RECYCLE_EXIT, BUDGET_EXIT):  # no trial would fit the budget
            self.stopped_by_budget = True
        elif code == EXIT_USER_ERROR:  # its one line (a full disk ...): the search stops, its trial kept for --resume
            raise UserError(f"worker {w['tuner_id']} stopped: {worker_error(self.config.project_dir, w['tuner_id'])}")
        elif code != 0:
            self.fail_trial_of(w["tuner_id"], f"worker {w['tuner_id']} died (exit status {code}); "
                                              f"see {WORKER_LOGS}/{w['tuner_id']}.log")

    def serve(self, host: str, port: int, workers: list[dict] | None = None) -> None:
        """Serve until the search is done: every worker stopped, (remote) the oracle exhausted, or
        the deadline passed with no trial running. `stopped_by_budget` says whether the budget
        ended it: the deadline, or a local worker that left with BUDGET_EXIT."""
        import grpc
        from keras_tuner.src import protos
        from keras_tuner.src.distribute.oracle_chief import OracleServicer
        from search.distributed.auth import server_interceptors
        server = grpc.server(futures.ThreadPoolExecutor(max_workers=1), interceptors=server_interceptors())
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
                    self.tend(w, workers)
                if workers is not None and all(w.get("gone") for w in workers):
                    break
                if workers is None and servicer.stop_triggered and self.finished():
                    break
                if self.budget_over():
                    self.stopped_by_budget = True
                    break
        finally:
            server.stop(grace=2)
