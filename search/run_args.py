"""`search.run`'s command line: its parser, and its arguments turned once into the configs a search
runs with (RunConfig, DistributedConfig). A recipe's values fill what the flags leave at their
defaults; flags given override them, and `--fix` overrides its pins."""
import argparse

from fer.command import add_verbose, command_parser
from fer.errors import UserError
from search.config import DEFAULT_TRIALS, OBJECTIVES, PRECISIONS, TUNERS, RunConfig
from search.distributed.distributed_config import DistributedConfig
from search.fixed import parse_fixed

DESCRIPTION = "a Keras Tuner search over a space of models, with a live leaderboard"
EXAMPLES = ("python -m search.run --space cnn --data demo --quick",
            "python -m search.run --recipe cpu-2h --data data/fer2013",
            "python -m search.run --recipe cpu-2h --show-space")
# What a recipe's [search] table sets: the settings of these flags (their dests) when not given.
RECIPE_SETTINGS = ("space", "tuner", "objective", "max_trials", "max_epochs", "iterations", "time_budget",
                   "batch_size", "patience", "seed", "precision", "tensorboard", "report")


def build_parser() -> argparse.ArgumentParser:
    from search.recipe_files import shipped_recipes
    from spaces import SPACES
    d = RunConfig()
    p = command_parser("python -m search.run", DESCRIPTION, EXAMPLES)
    data = p.add_argument_group("data")
    data.add_argument("--data", default=d.data, help="a folder written by fer.prepare, or 'demo' (prepared on first use)")
    what = p.add_argument_group("search (a recipe sets these and the budget's defaults; flags given override it)")
    recipe = what.add_mutually_exclusive_group()
    recipe.add_argument("--recipe", metavar="NAME|FILE",
                        help=f"a shipped recipe ({', '.join(shipped_recipes())}: search/recipes/NAME.toml) or a TOML "
                             "file: space, pins, tuner, budgets and the report's options")
    recipe.add_argument("--quick", action="store_true",
                        help="short for --recipe quick: a first look (a few short Hyperband trials, with the "
                             "space's quick pins; --fix overrides)")
    what.add_argument("--space", choices=list(SPACES), default=d.space, help="the search space (a module in spaces/)")
    what.add_argument("--show-space", action="store_true",
                      help="list the space's hyperparameters (values, defaults, conditions, what is held) and exit")
    what.add_argument("--fix", action="append", default=[], metavar="NAME=VALUE",
                      help="hold a hyperparameter of the space at one value, e.g. --fix crop_size=44 (repeatable)")
    what.add_argument("--tuner", choices=TUNERS, default=d.tuner, help="keras-tuner's search algorithm")
    what.add_argument("--objective", choices=list(OBJECTIVES), default=d.objective,
                      help="what the tuner optimises on the validation split")
    what.add_argument("--seed", type=int, default=d.seed, help="the same seed gives the same hyperparameters")
    add_budget_flags(p, d)
    train = p.add_argument_group("training")
    train.add_argument("--batch-size", type=int, default=d.batch_size, help="images per training step")
    train.add_argument("--patience", type=int, default=d.patience, help="early-stopping patience in epochs")
    train.add_argument("--precision", choices=PRECISIONS, default=d.precision,
                       help="Keras dtype policy; auto: mixed_float16 on a CUDA GPU, else float32 unless "
                            "mixed_bfloat16 is more than 10%% faster for the space, measured on this machine")
    train.add_argument("--weights", default=d.weights,
                       help="mobilenet backbone: imagenet, a local no-top .h5 file, or none (random init)")
    add_output_flags(p, d)
    add_distributed_flags(p)
    return p


def add_budget_flags(p: argparse.ArgumentParser, d: RunConfig) -> None:
    budget = p.add_argument_group("budget")
    budget.add_argument("--max-trials", type=int,
                        help=f"trials to run ({DEFAULT_TRIALS} when not given; hyperband: none, its whole plan runs, "
                             "and a number cuts the plan, as the start-up lines say)")
    budget.add_argument("--max-epochs", type=int, default=d.max_epochs, help="epochs per trial at most")
    budget.add_argument("--iterations", type=int, default=d.hyperband_iterations,
                        help="hyperband: times its whole plan runs")
    budget.add_argument("--time-budget", metavar="DURATION",
                        help="wall clock for this run (90m, 2h, 1h30m): no trial or epoch starts that would not fit "
                             "at the pace seen so far; with --resume, the time to add")
    budget.add_argument("--report", action="store_true",
                        help="then retrain the winners and write the report in the same command, the whole of it "
                             "inside --time-budget: the split is planned from the pace measured here and printed")


def add_output_flags(p: argparse.ArgumentParser, d: RunConfig) -> None:
    out = p.add_argument_group("output")
    out.add_argument("--project", help="name under tuner_runs/ (the recipe's name, else <space>-<tuner>, when not given)")
    out.add_argument("--runs-dir", default=d.runs_dir, help=argparse.SUPPRESS)
    mode = out.add_mutually_exclusive_group()
    mode.add_argument("--overwrite", action="store_true", help="start fresh, deleting an existing project")
    mode.add_argument("--resume", action="store_true", help="continue an interrupted search")
    out.add_argument("--plain", action="store_true", help="plain lines instead of the live view")
    out.add_argument("--no-tensorboard", dest="tensorboard", action="store_false",
                     help="write no TensorBoard logs (written to tuner_runs/<project>/tensorboard/ when not given)")
    add_verbose(out)


def add_distributed_flags(p: argparse.ArgumentParser) -> None:
    d = DistributedConfig()
    dist = p.add_argument_group("distributed search (keras-tuner's chief/worker engine)")
    dist.add_argument("--workers", type=int, default=d.workers, help="run N worker processes on this machine")
    dist.add_argument("--role", choices=("chief", "worker"), help="one process of a search across machines")
    dist.add_argument("--listen", metavar="HOST:PORT", help="--role chief: where workers reach the oracle")
    dist.add_argument("--chief", metavar="HOST:PORT", help="--role worker: the chief's address")
    dist.add_argument("--tuner-id", help="--role worker: a stable id; restarting a worker under the same id "
                                          "re-runs the trial it was interrupted in")
    dist.add_argument("--trusted-network", action="store_true",
                      help="--role chief: listen beyond loopback without a token; without this flag such a chief "
                           "needs FER_SEARCH_TOKEN set to a shared secret on it and every worker "
                           "(docs/distributed-security.md)")
    dist.add_argument("--connect-timeout", type=float, default=d.connect_timeout,
                      help="--role worker: seconds to wait for the chief")
    dist.add_argument("--threads", type=int, help="CPU threads per worker (an equal share of the cores when not given)")
    dist.add_argument("--recycle-after", type=int, metavar="K",
                      help="run trials in worker processes restarted every K trials, so memory stays flat "
                           "(alone: one local worker)")


def chosen_recipe(args):
    """The Recipe of --recipe (or --quick), or None."""
    from search.recipe_files import load_recipe
    spec = "quick" if args.quick else args.recipe
    return load_recipe(spec) if spec else None


def settings(args, given: set[str], recipe) -> dict:
    """The values of the recipe-settable flags: a flag given wins, then the recipe, then the default."""
    values = {k: getattr(args, k) for k in RECIPE_SETTINGS}
    if recipe is not None:  # on --resume only a --time-budget given is time to add (a --report plan keeps its own)
        taken = given | ({"time_budget"} if args.resume else set())
        values |= {k: v for k, v in recipe.search.items() if k in RECIPE_SETTINGS and k not in taken}
    return values


def project_of(args, recipe) -> str | None:
    """--project, else the recipe's name (None: RunConfig's <space>-<tuner>)."""
    return args.project or (recipe.project if recipe is not None else None)


def project_name(args, given: set[str], recipe) -> str:
    """The project's name, without checking anything else (a worker finds the rest in config.json)."""
    s = settings(args, given, recipe)
    return RunConfig(space=s["space"], tuner=s["tuner"], project=project_of(args, recipe)).project_name


def config_from_args(args, given: set[str] = frozenset()) -> RunConfig:
    """The RunConfig of these arguments; `given`: the dests given on the command line, which
    override the recipe's values. One line (UserError) for anything a search cannot run with."""
    from search.budget import parse_duration
    recipe = chosen_recipe(args)
    s = settings(args, given, recipe)
    if s["time_budget"] is not None:
        parse_duration(s["time_budget"])  # a malformed duration is an error before anything starts
    for name in ("max_trials", "max_epochs", "batch_size", "iterations"):
        if s[name] is not None and s[name] < 1:
            raise UserError(f"--{name.replace('_', '-')} must be at least 1, got {s[name]}")
    pins, fixed = held_values(args, s["space"], recipe)
    return RunConfig(space=s["space"], tuner=s["tuner"], data=args.data, max_trials=s["max_trials"],
                     max_epochs=s["max_epochs"], batch_size=s["batch_size"], objective=s["objective"], seed=s["seed"],
                     project=project_of(args, recipe), overwrite=args.overwrite, resume=args.resume,
                     precision=s["precision"], weights=None if args.weights.lower() == "none" else args.weights,
                     runs_dir=args.runs_dir, patience=s["patience"], hyperband_iterations=s["iterations"],
                     time_budget=s["time_budget"], tensorboard=s["tensorboard"], report=s["report"], fixed=pins | fixed,
                     recipe=recipe.record() if recipe is not None else {})


def held_values(args, space: str, recipe) -> tuple[dict, dict]:
    """(the recipe's pins, the --fix pins), each checked against the space (a --resume search keeps
    the pins it started with: its config's `fixed`, so the recipe's are not taken again)."""
    from search.space_info import check_pins, declared_hyperparameters
    pins = recipe.pins(space) if recipe is not None and not args.resume else {}
    fixed = parse_fixed(args.fix)
    if pins or fixed:
        declared = declared_hyperparameters(space)
        check_pins(space, pins, f"{recipe.path} [pins]" if recipe is not None else "", declared)
        check_pins(space, fixed, "--fix", declared)
    return pins, fixed


def held_by(args, space: str, recipe) -> dict:
    """--show-space's last column: what holds each pinned hyperparameter, the recipe or --fix."""
    from search.space_info import text
    pins = recipe.pins(space) if recipe is not None else {}
    out = {name: f"recipe {recipe.name}: {text(value)}" for name, value in pins.items()}
    for name, value in parse_fixed(args.fix).items():
        out[name] = f"--fix: {text(value)}" + (f" (over recipe {recipe.name}: {text(pins[name])})" if name in pins else "")
    return out


def distributed_from_args(args, given_flags: set[str], project: str) -> DistributedConfig:
    """The DistributedConfig of these arguments, after the checks its flags need."""
    for flag, value in (("--threads", args.threads), ("--recycle-after", args.recycle_after)):
        if value is not None and value < 1:
            raise UserError(f"{flag} must be at least 1, got {value}")
    if args.role == "worker" and not args.chief:
        raise UserError("--role worker needs --chief HOST:PORT")
    if args.role == "chief" and not args.listen:
        raise UserError("--role chief needs --listen HOST:PORT")
    if args.workers < 0 or (args.workers and args.role):
        raise UserError("--workers N starts a chief and N local workers; do not combine it with --role")
    workers = 1 if args.recycle_after and not args.workers else args.workers  # trials in one recycled worker
    return DistributedConfig(workers=workers, role=args.role, listen=args.listen, chief=args.chief,
                             tuner_id=args.tuner_id, connect_timeout=args.connect_timeout,
                             trusted_network=args.trusted_network, threads=args.threads,
                             recycle_after=args.recycle_after, project=project, runs_dir=args.runs_dir,
                             given=frozenset(given_flags))


def flags_of(parser: argparse.ArgumentParser, dests: set[str]) -> set[str]:
    """The long option strings of the given dests (what --resume's RESUMED_SETTINGS names)."""
    return {o for a in parser._actions if a.dest in dests for o in a.option_strings if o.startswith("--")}
