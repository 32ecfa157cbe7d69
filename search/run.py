"""`python -m search.run --space NAME`: a Keras Tuner search over a space, with a live leaderboard.

Results go to tuner_runs/<project>/ (keras-tuner's oracle and trials, config.json with the
full configuration, leaderboard.csv rewritten after every trial). The validation split drives
early stopping and selection; the test split is never touched here. A recipe (`--recipe NAME`,
search/recipes/NAME.toml) sets the space, pins, tuner and budgets; the command line is read in
search/run_args.py.
"""
import os
import sys
import time

from fer.command import parse_command
from fer.constants import DEMO_NOTICE
from fer.errors import UserError, print_user_error
from fer.write_faults import WriteFault, fault_error
from search.budget import BudgetSpent, budget_lines, fmt_duration, log_session
from search.config import CONFIG_FILE, RunConfig
from search.distributed.distributed_config import DistributedConfig
from search.fixed import fixed_lines
from search.free_space import disk_space_lines
from search.lock import empty_project_folder, holding_project_lock
from search.project import open_data, train_and_val
from search.project_files import check_before_resume
from search.run_args import build_parser, config_from_args  # noqa: F401 - the command's parser, and its config
from search.startup import start_search_process


def prepare_project(config: RunConfig, given: set[str] = frozenset()) -> bool:
    """Check --overwrite/--resume against what exists (on --resume, settings not given again are the
    search's own: `given` holds the flags on the command line); returns keras-tuner's overwrite flag,
    always False: the folder holds the project's lock, so keras-tuner must not delete it (for a fresh
    start clear_project empties it instead)."""
    exists = (config.project_dir / "oracle.json").is_file() or (config.project_dir / CONFIG_FILE).is_file()
    if exists and not (config.overwrite or config.resume):
        raise UserError(f"{config.project_dir} already holds a search: pass --resume to continue it "
                        "or --overwrite to start fresh")
    if config.resume:
        if not exists:
            raise UserError(f"{config.project_dir}: nothing to resume (no search there yet)")
        old = RunConfig.load(config.project_dir)
        for key in ("space", "tuner", "objective"):
            if getattr(old, key) != getattr(config, key):
                raise UserError(f"--resume: {config.project_dir} was a --{key} {getattr(old, key)} search, "
                                f"not {getattr(config, key)}")
        inherit_settings(config, old, given)
        if config.fixed != old.fixed:  # keras-tuner reloads the oracle's space: a new --fix would not reach it
            raise UserError(f"--resume: {config.project_dir} holds {old.fixed or 'nothing'} at one value, not "
                            f"{config.fixed or 'nothing'}; continue without --fix, or start a new search "
                            "(--overwrite or another --project)")
        check_before_resume(config)  # a damaged oracle.json or trial.json: one line, or mended
    return False


# What --resume keeps from the search it continues unless the flag is given again.
RESUMED_SETTINGS = {"max_trials": ("--max-trials",), "max_epochs": ("--max-epochs",),
                    "batch_size": ("--batch-size",), "patience": ("--patience",), "seed": ("--seed",),
                    "data": ("--data",), "hyperband_iterations": ("--iterations",), "precision": ("--precision",),
                    "weights": ("--weights",), "fixed": ("--fix",), "tensorboard": ("--no-tensorboard",),
                    "recipe": ("--recipe", "--quick"), "report": ("--report",)}


def inherit_settings(config: RunConfig, old: RunConfig, given: set[str]) -> None:
    """--resume continues the same search: settings not given again come from its config.json."""
    for field_name, flags in RESUMED_SETTINGS.items():
        if not given & set(flags):
            setattr(config, field_name, getattr(old, field_name))


def clear_project(config: RunConfig) -> None:
    """A fresh start (--overwrite, or a new project): what the folder holds goes, once every check
    has passed, but for the lock this process holds in it."""
    if not config.resume:
        empty_project_folder(config.project_dir)


def resolve(config: RunConfig, n_train: int, n_val: int, ds) -> None:
    """Settle what the flags leave open (precision, weights label) and record it in config.resolved."""
    import keras

    from search import tf_memory
    from search.fixed import fixed_point_builder
    from search.free_space import checkpoint_bytes
    from search.precision import choose
    from search.project import space_options
    from spaces import SpaceOptions
    from spaces.mobilenet import weights_label

    precision = choose(config.precision, config.space, fixed_point_builder(config, SpaceOptions(weights=None)),
                       space_options(config).input_shape, config.runs_dir, fixed=config.fixed)
    checkpoint = checkpoint_bytes(config)  # what each trial's checkpoint will take (the free-space check)
    keras.mixed_precision.set_global_policy(precision["policy"])
    weights = weights_label(space_options(config).weights) if config.space == "mobilenet" else ""
    config.resolved = {"data_path": str(ds.path), "data_meta": ds.meta["sha256"], "data_is_demo": ds.is_demo,
                       "precision": precision, "weights": weights, "keras": keras.__version__,
                       "backend": keras.backend.backend(), "tf_cpu_allocator": tf_memory.allocator(),
                       "train_images": n_train, "val_images": n_val, "checkpoint_bytes": checkpoint}


def build_tuner(config: RunConfig, overwrite: bool, dist: DistributedConfig) -> tuple:
    """keras-tuner's tuner, and the address it serves workers on (None for a search in this process)."""
    from search.tuners import search_tuner
    workers, listen = dist.workers, dist.listen
    if not (workers or listen):
        return search_tuner(config, overwrite), None
    from search.distributed.chief import as_chief, free_port, parse_address
    host, port = parse_address(listen, "--listen") if listen else ("127.0.0.1", free_port())
    config.resolved["distributed"] = {"listen": f"{host}:{port}", "local_workers": workers}
    with as_chief(host, port):
        return search_tuner(config, overwrite), (host, port)


def set_up(config: RunConfig, dist: DistributedConfig, started: float) -> tuple:
    """Everything before the first trial: the project checked, the data opened, precision and budget
    settled (with --report, the whole pipeline planned from `started`), the tuner made and config.json
    written. Returns (tuner, its address, data, budget, the plan's lines)."""
    from fer.cache import atomic_write_text
    from search.hypermodel import declared_space
    from search.pace import start_budget
    from search.project import space_options
    from spaces.mobilenet import check_weights

    overwrite = prepare_project(config, dist.given)
    ds = open_data(config.data)
    data = train_and_val(ds)
    if config.space == "mobilenet":
        check_weights(space_options(config).weights)
    resolve(config, int(len(data[1])), int(len(data[3])), ds)
    plan = []
    if config.report:
        from search.pipeline import start_search_share
        budget = start_search_share(config, ds, data, started, plan)
    else:
        budget = start_budget(config, len(data[1]))
    clear_project(config)
    tuner, address = build_tuner(config, overwrite, dist)
    config.resolved["space_choices"] = declared_space(tuner.oracle.hyperparameters)
    config.project_dir.mkdir(parents=True, exist_ok=True)
    atomic_write_text(config.project_dir / CONFIG_FILE, config.to_json())
    if config.report:
        from search.pipeline import record_plan
        record_plan(config)
    return tuner, address, ds, data, budget, plan


def search_session(tuner, console, address, dist: DistributedConfig, data: tuple) -> bool:
    """The trials, here or served to workers; True when the time budget ended them."""
    try:
        if address:
            from search.distributed.roles import serve_workers
            return serve_workers(tuner, console, *address, dist.workers, dist)
        tuner.run_search(*data)
    except BudgetSpent:
        return True
    return False


@holding_project_lock("search.run")
def run(config: RunConfig, plain: bool | None = None, dist: DistributedConfig | None = None,
        command_started: float | None = None) -> int:
    """The search in this process; or, with --workers/--role chief, the chief serving workers.
    `command_started`: when the command began (a --report plan counts its budget from there)."""
    from search.console import make_console

    dist = dist or DistributedConfig(project=config.project_name, runs_dir=config.runs_dir)
    tuner, address, ds, data, budget, plan = set_up(config, dist, command_started or time.time())
    console = make_console(plain)
    tuner.setup_reporting(config, console, len(data[1]), budget=budget)
    from search.portfolio import portfolio_lines
    for line in (plan + tuner.plan_lines() + budget_lines(budget) + fixed_lines(config)
                 + portfolio_lines(tuner.oracle.portfolio) + disk_space_lines(config, tuner)):
        console.line(line)
    data_note = f"data {ds.path}" + (f" ({DEMO_NOTICE})" if ds.is_demo else "")
    console.search_begin(f"{config.space} / {config.tuner} / {config.objective} / "
                         f"{config.resolved['precision']['policy']} / {data_note}", tuner.planned_trials())
    started, stopped_by_budget = time.time(), False
    try:
        stopped_by_budget = search_session(tuner, console, address, dist, data)
    except KeyboardInterrupt:
        console.stop()
        print(f"interrupted; continue with: {resume_command()}", file=sys.stderr)
        return 130
    finally:
        console.stop()
        stopped_by_budget = stopped_by_budget or bool(budget and budget.spent())
        log_session(config.project_dir, budget, started, time.time(), stopped_by_budget)
    if stopped_by_budget and not config.report:
        console.line(f"time budget spent ({config.time_budget}; {fmt_duration(time.time() - started)} of searching, "
                     f"{fmt_duration(max(0.0, budget.left()))} left, less than an epoch at the pace so far); "
                     f"continue with: {resume_command('30m')}")
    return finish(tuner, config, console)


def resume_command(budget: str | None = None) -> str:
    """The command line that continues this search (with a new time budget when given)."""
    argv = [a for a in sys.argv[1:] if a not in ("--overwrite", "--resume")]
    if "--time-budget" in argv:
        i = argv.index("--time-budget")
        del argv[i:i + 2]
    argv += ["--resume"] + (["--time-budget", budget] if budget else [])
    return "python -m search.run " + " ".join(argv)


def finish(tuner, config: RunConfig, console) -> int:
    """The final leaderboard and the next command; status 1 when no trial completed."""
    from search import leaderboard
    rows = leaderboard.trial_rows(tuner.oracle, leaderboard.load_info(config.project_dir))  # written after each trial
    console.search_end(rows, config.direction, tuner.key_hps, f"{config.project_dir}/ (leaderboard.csv, config.json)")
    if not leaderboard.ranked(rows, config.direction):
        print("error: no trial completed; see the reasons above", file=sys.stderr)
        return 1
    if not config.report:
        console.line(f"next: python -m search.report --run {config.project_dir}   (retrain the winners, test once)")
    return 0


def main(argv=None) -> int:
    from search.run_args import chosen_recipe, distributed_from_args, flags_of, project_name
    started = time.time()
    parser, args, given = parse_command(build_parser, argv)
    start_search_process(args.verbose)
    dist = None
    try:
        recipe = chosen_recipe(args)
        dist = distributed_from_args(args, flags_of(parser, given), project_name(args, given, recipe))
        if dist.role == "worker":
            from search.distributed.roles import run_worker
            return run_worker(dist)
        config = config_from_args(args, given)
        if args.show_space:
            return show_space(args, config, recipe)
        if dist.workers or dist.listen:  # a chief: who may call it (search/distributed/auth.py)
            from search.distributed.auth import settle_chief_token
            from search.distributed.chief import parse_address
            settle_chief_token(parse_address(dist.listen, "--listen")[0] if dist.listen else "127.0.0.1",
                               local_only=not dist.listen, trusted=dist.trusted_network, environ=os.environ)
        if config.resume and not config.report:  # a --report run continues as one
            from search.pipeline import PIPELINE_FILE
            config.report = (config.project_dir / PIPELINE_FILE).is_file()
        if config.report:
            from search.pipeline import run_pipeline
            return run_pipeline(config, run, plain=True if args.plain else None, dist=dist, started=started)
        return run(config, plain=True if args.plain else None, dist=dist)
    except KeyboardInterrupt:  # in a --report run's report (the search says so itself)
        print(f"interrupted; continue with: {resume_command()}", file=sys.stderr)
        return 130
    except UserError as e:
        return print_user_error(e, parser.prog)
    except (OSError, WriteFault) as e:  # a full or read-only disk: one line, and the way on
        return print_user_error(fault_error(e, args.runs_dir, way_on_after_fault(dist)), parser.prog)


def way_on_after_fault(dist: DistributedConfig | None) -> str:
    """What to run once the disk is fixed: the worker again, --resume when there is a search to
    continue, else the same command."""
    from pathlib import Path
    if dist is not None and dist.role == "worker":  # a local one's chief stops with its line
        from search.distributed.workers import PARENT_ENV
        return "continue the search with --resume" if os.environ.get(PARENT_ENV) else "start this worker again"
    if dist is not None and (Path(dist.runs_dir) / dist.project / CONFIG_FILE).is_file():
        return f"continue with: {resume_command()}"
    return "run the same command again"


def show_space(args, config: RunConfig, recipe) -> int:
    """--show-space: the space's hyperparameters and what holds which; nothing is prepared or trained."""
    from search.run_args import held_by
    from search.space_info import space_lines
    if recipe is not None:
        print(f"recipe {recipe.name} ({recipe.path}): {recipe.contents.get('description', '')}")
    print("\n".join(space_lines(config.space, held_by(args, config.space, recipe))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
