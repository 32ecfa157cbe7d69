"""`python -m search.run --space NAME`: a Keras Tuner search over a space, with a live leaderboard.

Results go to tuner_runs/<project>/ (keras-tuner's oracle and trials, config.json with the
full configuration, leaderboard.csv rewritten after every trial). The validation split drives
early stopping and selection; the test split is never touched here.
"""
import argparse
import shutil
import sys
import time

from fer.command import add_verbose, command_parser
from fer.constants import DEMO_NOTICE
from fer.errors import UserError, print_user_error
from search.budget import BudgetSpent, budget_lines, fmt_duration, log_session, parse_duration
from search.config import CONFIG_FILE, DEFAULT_TRIALS, OBJECTIVES, PRECISIONS, QUICK, TUNERS, RunConfig
from search.fixed import fixed_lines, parse_fixed, quick_pins
from search.distributed.chief import CONNECT_TIMEOUT
from search.project import open_data, train_and_val
from search.startup import start_search_process


def build_parser() -> argparse.ArgumentParser:
    from spaces import SPACES
    d = RunConfig()
    p = command_parser("python -m search.run", __doc__)
    p.add_argument("--space", choices=list(SPACES), default=d.space, help="the search space (a module in spaces/)")
    p.add_argument("--tuner", choices=TUNERS, default=d.tuner, help="keras-tuner's search algorithm")
    p.add_argument("--data", default=d.data, help="a folder written by fer.prepare, or 'demo' (prepared on first use)")
    p.add_argument("--max-trials", type=int,
                   help=f"trials to run ({DEFAULT_TRIALS} when not given; hyperband: none, its whole plan runs, "
                        "and a number cuts the plan, as the start-up lines say)")
    p.add_argument("--max-epochs", type=int, help=f"epochs per trial at most ({d.max_epochs} when not given; "
                                                   f"{QUICK['max_epochs']} with --quick)")
    p.add_argument("--iterations", type=int, default=d.hyperband_iterations,
                   help="hyperband: times its whole plan runs")
    p.add_argument("--time-budget", metavar="DURATION",
                   help="wall clock for this run (90m, 2h, 1h30m): no trial or epoch starts that would not fit "
                        "at the pace seen so far; with --resume, the time to add")
    p.add_argument("--batch-size", type=int, default=d.batch_size, help="images per training step")
    p.add_argument("--objective", choices=list(OBJECTIVES), default=d.objective,
                   help="what the tuner optimises on the validation split")
    p.add_argument("--seed", type=int, default=d.seed, help="the same seed gives the same hyperparameters")
    p.add_argument("--project", help="name under tuner_runs/ (<space>-<tuner> when not given)")
    p.add_argument("--runs-dir", default=d.runs_dir, help=argparse.SUPPRESS)
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--overwrite", action="store_true", help="start fresh, deleting an existing project")
    mode.add_argument("--resume", action="store_true", help="continue an interrupted search")
    p.add_argument("--precision", choices=PRECISIONS, default=d.precision,
                   help="Keras dtype policy; auto: mixed_float16 on a CUDA GPU, else float32 unless mixed_bfloat16 "
                        "is more than 10%% faster for the space, measured on this machine")
    p.add_argument("--weights", default="imagenet",
                   help="mobilenet backbone: imagenet, a local no-top .h5 file, or none (random init)")
    p.add_argument("--patience", type=int, default=d.patience, help="early-stopping patience in epochs")
    p.add_argument("--fix", action="append", default=[], metavar="NAME=VALUE",
                   help="hold a hyperparameter of the space at one value, e.g. --fix input_size=96 (repeatable)")
    p.add_argument("--quick", action="store_true",
                   help=f"a small budget for a first look ({QUICK['max_trials']} trials, {QUICK['max_epochs']} epochs; "
                        "the recipe held at Adam with plateau, and the cnn's width at 32; --fix overrides)")
    p.add_argument("--plain", action="store_true", help="plain lines instead of the live view")
    p.add_argument("--no-tensorboard", dest="tensorboard", action="store_false",
                   help="write no TensorBoard logs to tuner_runs/<project>/tensorboard/ (written when not given)")
    add_verbose(p)
    add_distributed_flags(p)
    return p


def add_distributed_flags(p: argparse.ArgumentParser) -> None:
    dist = p.add_argument_group("distributed search (keras-tuner's chief/worker engine)")
    dist.add_argument("--workers", type=int, default=0, help="run N worker processes on this machine")
    dist.add_argument("--role", choices=("chief", "worker"), help="one process of a search across machines")
    dist.add_argument("--listen", metavar="HOST:PORT", help="--role chief: where workers reach the oracle")
    dist.add_argument("--chief", metavar="HOST:PORT", help="--role worker: the chief's address")
    dist.add_argument("--tuner-id", help="--role worker: a stable id; restarting a worker under the same id "
                                          "re-runs the trial it was interrupted in")
    dist.add_argument("--connect-timeout", type=float, default=CONNECT_TIMEOUT,
                      help="--role worker: seconds to wait for the chief")
    dist.add_argument("--threads", type=int, help="CPU threads per worker (an equal share of the cores when not given)")
    dist.add_argument("--recycle-after", type=int, metavar="K",
                      help="run trials in worker processes restarted every K trials, so memory stays flat "
                           "(alone: one local worker)")


def config_from_args(args) -> RunConfig:
    budget = QUICK if args.quick else {"max_trials": RunConfig.max_trials, "max_epochs": RunConfig.max_epochs}
    weights = None if args.weights.lower() == "none" else args.weights
    if args.time_budget is not None:
        parse_duration(args.time_budget)  # a malformed duration is an error before anything starts
    for name, value in (("--max-trials", args.max_trials), ("--max-epochs", args.max_epochs),
                        ("--batch-size", args.batch_size), ("--iterations", args.iterations)):
        if value is not None and value < 1:
            raise UserError(f"{name} must be at least 1, got {value}")
    return RunConfig(space=args.space, tuner=args.tuner, data=args.data,
                     max_trials=args.max_trials or budget["max_trials"],
                     max_epochs=args.max_epochs or budget["max_epochs"], batch_size=args.batch_size,
                     objective=args.objective, seed=args.seed, project=args.project, overwrite=args.overwrite,
                     resume=args.resume, precision=args.precision, quick=args.quick, weights=weights,
                     runs_dir=args.runs_dir, patience=args.patience, hyperband_iterations=args.iterations,
                     time_budget=args.time_budget, tensorboard=args.tensorboard,
                     fixed=quick_pins(args) | parse_fixed(args.fix))


def prepare_project(config: RunConfig, given: set[str] = frozenset()) -> bool:
    """Check --overwrite/--resume against what exists (on --resume, settings not given again are the
    search's own: `given` holds the flags on the command line); returns keras-tuner's overwrite flag."""
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
        return False
    return True


# What --resume keeps from the search it continues unless the flag is given again.
RESUMED_SETTINGS = {"max_trials": ("--max-trials", "--quick"), "max_epochs": ("--max-epochs", "--quick"),
                    "batch_size": ("--batch-size",), "patience": ("--patience",), "seed": ("--seed",),
                    "data": ("--data",), "hyperband_iterations": ("--iterations",), "precision": ("--precision",),
                    "weights": ("--weights",), "fixed": ("--fix",), "tensorboard": ("--no-tensorboard",),
                    "quick": ("--quick",)}


def inherit_settings(config: RunConfig, old: RunConfig, given: set[str]) -> None:
    """--resume continues the same search: settings not given again come from its config.json."""
    for field_name, flags in RESUMED_SETTINGS.items():
        if not given & set(flags):
            setattr(config, field_name, getattr(old, field_name))


def clear_project(config: RunConfig) -> None:
    """--overwrite: the old project goes, once every check has passed."""
    if config.overwrite and config.project_dir.exists():
        shutil.rmtree(config.project_dir)


def resolve(config: RunConfig, n_train: int, n_val: int, ds) -> None:
    """Settle what the flags leave open (precision, weights label) and record it in config.resolved."""
    import keras

    from search import tf_memory
    from search.fixed import fixed_point_builder
    from search.precision import choose
    from search.project import space_options
    from spaces import SpaceOptions
    from spaces.mobilenet import weights_label

    precision = choose(config.precision, config.space, fixed_point_builder(config, SpaceOptions(weights=None)),
                       space_options(config).input_shape, config.runs_dir, fixed=config.fixed)
    keras.mixed_precision.set_global_policy(precision["policy"])
    weights = weights_label(space_options(config).weights) if config.space == "mobilenet" else ""
    config.resolved = {"data_path": str(ds.path), "data_meta": ds.meta["sha256"], "data_is_demo": ds.is_demo,
                       "precision": precision, "weights": weights, "keras": keras.__version__,
                       "backend": keras.backend.backend(), "tf_cpu_allocator": tf_memory.allocator(),
                       "train_images": n_train, "val_images": n_val}


def build_tuner(config: RunConfig, overwrite: bool, args) -> tuple:
    """keras-tuner's tuner, and the address it serves workers on (None for a search in this process)."""
    from search.tuners import search_tuner
    workers, listen = getattr(args, "workers", 0), getattr(args, "listen", None)
    if not (workers or listen):
        return search_tuner(config, overwrite), None
    from search.distributed.chief import as_chief, free_port, parse_address
    host, port = parse_address(listen, "--listen") if listen else ("127.0.0.1", free_port())
    config.resolved["distributed"] = {"listen": f"{host}:{port}", "local_workers": workers}
    with as_chief(host, port):
        return search_tuner(config, overwrite), (host, port)


def run(config: RunConfig, plain: bool | None = None, args=None) -> int:
    """The search in this process; or, with --workers/--role chief, the chief serving workers."""
    from fer.cache import atomic_write_text
    from search.console import make_console
    from search.hypermodel import declared_space
    from search.pace import start_budget
    from search.project import space_options
    from spaces.mobilenet import check_weights

    overwrite = prepare_project(config, getattr(args, "given", set()))
    ds = open_data(config.data)
    x_train, y_train, x_val, y_val = train_and_val(ds)
    if config.space == "mobilenet":
        check_weights(space_options(config).weights)
    resolve(config, int(len(y_train)), int(len(y_val)), ds)
    budget = start_budget(config, len(y_train))
    clear_project(config)
    tuner, address = build_tuner(config, overwrite, args)
    config.resolved["space_choices"] = declared_space(tuner.oracle.hyperparameters)
    config.project_dir.mkdir(parents=True, exist_ok=True)
    atomic_write_text(config.project_dir / CONFIG_FILE, config.to_json())

    console = make_console(plain)
    tuner.setup_reporting(config, console, len(y_train), budget=budget)
    for line in tuner.plan_lines() + budget_lines(budget) + fixed_lines(config):
        console.line(line)
    data_note = f"data {ds.path}" + (f" ({DEMO_NOTICE})" if ds.is_demo else "")
    console.search_begin(f"{config.space} / {config.tuner} / {config.objective} / "
                         f"{config.resolved['precision']['policy']} / {data_note}", tuner.planned_trials())
    started, stopped_by_budget = time.time(), False
    try:
        if address:
            from search.distributed.roles import serve_workers
            stopped_by_budget = serve_workers(tuner, console, *address, getattr(args, "workers", 0), args)
        else:
            tuner.run_search(x_train, y_train, x_val, y_val)
    except BudgetSpent:
        stopped_by_budget = True
    except KeyboardInterrupt:
        console.stop()
        print(f"interrupted; continue with: {resume_command()}", file=sys.stderr)
        return 130
    finally:
        console.stop()
        stopped_by_budget = stopped_by_budget or bool(budget and budget.spent())
        log_session(config.project_dir, budget, started, time.time(), stopped_by_budget)
    if stopped_by_budget:
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
    console.line(f"next: python -m search.report --run {config.project_dir}   (retrain the winners, test once)")
    return 0


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    start_search_process(args.verbose)
    try:
        for flag, value in (("--threads", args.threads), ("--recycle-after", args.recycle_after)):
            if value is not None and value < 1:
                raise UserError(f"{flag} must be at least 1, got {value}")
        if args.role == "worker":
            if not args.chief:
                raise UserError("--role worker needs --chief HOST:PORT")
            from search.distributed.roles import run_worker
            return run_worker(args)
        if args.role == "chief" and not args.listen:
            raise UserError("--role chief needs --listen HOST:PORT")
        if args.workers < 0 or (args.workers and args.role):
            raise UserError("--workers N starts a chief and N local workers; do not combine it with --role")
        if args.recycle_after and not args.workers:
            args.workers = 1  # trials in one worker process, replaced every K trials
        args.given = {a.split("=")[0] for a in (sys.argv[1:] if argv is None else argv) if str(a).startswith("--")}
        return run(config_from_args(args), plain=True if args.plain else None, args=args)
    except UserError as e:
        return print_user_error(e, parser.prog)


if __name__ == "__main__":
    sys.exit(main())
