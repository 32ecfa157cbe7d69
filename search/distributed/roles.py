"""What each process of a distributed search runs: the chief serving the oracle (with its local
workers), and a worker taking trials from a chief."""
import os
import socket

from fer.errors import UserError
from search.budget import BudgetSpent, TimeBudget
from search.config import CONFIG_FILE, RunConfig
from search.distributed.distributed_config import DistributedConfig
from search.project import open_search_data, train_and_val


def serve_workers(tuner, console, host: str, port: int, n_workers: int, dist: DistributedConfig) -> bool:
    """Serve the oracle; with --workers, start the local workers first and stop them at the end.

    True when the time budget ended the search (a local worker declined its next trial, or the
    deadline passed), so the session's record in budget.json says why it stopped."""
    from search.distributed.chief import Chief
    from search.distributed.workers import start_workers, stop_workers
    chief = Chief(tuner)
    if n_workers:  # --resume: trials of local workers that will not come back (remote ones may)
        chief.fail_orphaned_trials(keep={f"tuner{k}" for k in range(n_workers)})
    workers = start_workers(n_workers, worker_argv(dist), tuner.fer_config.project_dir, host, port,
                            dist.threads, dist.recycle_after) if n_workers else None
    if workers is None:
        console.line(f"chief listening on {host}:{port}; start workers with: python -m search.run "
                     f"--project {tuner.fer_config.project_name} --role worker --chief {host}:{port}")
    try:
        chief.serve(host, port, workers)
        return chief.stopped_by_budget
    finally:
        if workers:
            stop_workers(workers)


def worker_argv(dist: DistributedConfig) -> list[str]:
    """What a local worker needs to find the project; it reads the rest from config.json."""
    return ["--project", dist.project, "--runs-dir", dist.runs_dir]


def run_worker(dist: DistributedConfig) -> int:
    """A keras-tuner worker: trials come from the chief's oracle; config.json says the rest."""
    from search.distributed import quiet_protos
    from search.distributed.auth import join_chief
    from search.distributed.chief import parse_address, use_chief, wait_for_chief
    from search.distributed.workers import die_with_parent, limit_threads
    quiet_protos.install()
    die_with_parent()
    host, port = parse_address(dist.chief, "--chief")
    if dist.threads:
        limit_threads(dist.threads)
    wait_for_chief(host, port, dist.connect_timeout)
    join_chief(host, port, os.environ, dist.connect_timeout)  # the chief's token (search/distributed/auth.py)
    project_dir = RunConfig(project=dist.project, runs_dir=dist.runs_dir).project_dir
    if not (project_dir / CONFIG_FILE).is_file():
        raise UserError(f"{project_dir / CONFIG_FILE}: not found; a worker needs the chief's project folder "
                        "(a shared file system) and the same --project")
    config = RunConfig.load(project_dir)
    config.runs_dir = dist.runs_dir
    use_chief(host, port, dist.tuner_id or f"worker-{socket.gethostname()}-{os.getpid()}")
    return worker_exit_status(run_trials_as_worker(config, dist.recycle_after), os.environ)


def worker_exit_status(code: int, environ) -> int:
    """BUDGET_EXIT tells a local chief that the budget ended this worker; a remote worker, which
    no chief waits on, exits 0 then, as after any normal end."""
    from search.distributed.workers import BUDGET_EXIT, PARENT_ENV
    return 0 if code == BUDGET_EXIT and not environ.get(PARENT_ENV) else code


def run_trials_as_worker(config: RunConfig, recycle_after: int | None = None) -> int:
    """Take trials from the chief until its oracle has none left (exit status 0), `recycle_after`
    are done (RECYCLE_EXIT: the local chief starts a fresh process) or the time budget leaves no
    room for the next trial (BUDGET_EXIT)."""
    import keras

    from search.console import PlainConsole
    from search.distributed.workers import BUDGET_EXIT, RECYCLE_EXIT
    from search.tuners import Recycle, search_tuner
    ds = open_search_data(config, None, "give this worker the data the chief searches on, at the same path")
    x_train, y_train, x_val, y_val = train_and_val(ds)
    keras.mixed_precision.set_global_policy(config.resolved["precision"]["policy"])
    tuner = search_tuner(config, overwrite=False)
    budget = TimeBudget.from_record(config.resolved.get("time_budget"))  # the chief's deadline
    tuner.setup_reporting(config, PlainConsole(), len(y_train), budget=budget, writes_leaderboard=False)
    tuner.recycle_after = recycle_after
    try:
        tuner.run_search(x_train, y_train, x_val, y_val)
    except Recycle:
        return RECYCLE_EXIT
    except BudgetSpent:  # the chief learns from the exit status that the budget, not the oracle, ended it
        return BUDGET_EXIT
    return 0
