"""`python -m search.report --run tuner_runs/<project>`: retrain the winners, test them once, report.

The top K trials of a search are retrained from their hyperparameters and saved to
models/<project>/ (.h5, .keras and a JSON of hyperparameters and history). Each is evaluated
once on the test split (PrivateTest) and reports/<project>/ gets metrics.json, per_class.csv,
predictions.npz, the figures and a self-contained index.html. `--compare RUN RUN ...` puts the
winners of several runs into one comparison report. `--export saved_model tflite` also writes the
best model for serving or mobile (TensorFlow backend). A search made with a recipe (`search.run
--recipe`) sets the defaults of --top, --epochs, --time-budget, --tta and --train-on.
"""
import argparse
import sys
from dataclasses import fields

from fer.command import add_verbose, command_parser, parse_command
from fer.constants import TUNER_RUNS_DIR
from fer.errors import UserError, print_user_error
from fer.write_faults import WriteFault, fault_error
from search.report.report_config import TRAIN_ON, TTA_CHOICES, ReportConfig, recipe_words, with_recipe_defaults
from search.startup import start_search_process

EXAMPLES = ("python -m search.report --run tuner_runs/cpu-2h",
            "python -m search.report --run tuner_runs/cnn-hyperband --top 3 --tta ten-crop --time-budget 30m",
            "python -m search.report --compare tuner_runs/baseline-hyperband tuner_runs/cnn-hyperband")


def build_parser() -> argparse.ArgumentParser:
    from search.report.export import EXPORT_FORMATS
    d = ReportConfig()
    p = command_parser("python -m search.report", __doc__, EXAMPLES)
    what = p.add_argument_group("which search (one of --run, --project, --compare)")
    what = what.add_mutually_exclusive_group(required=True)
    what.add_argument("--run", help="a search folder, tuner_runs/<project>")
    what.add_argument("--project", help="a search by its project name (the folder under tuner_runs/)")
    what.add_argument("--compare", nargs="+", metavar="RUN", help="several search folders: one comparison report")
    data = p.add_argument_group("data")
    data.add_argument("--data", help="the prepared data folder, or 'demo' (the one the search used when not given; "
                                     "it must hash the same)")
    train = p.add_argument_group("retraining (a search's recipe sets these defaults; flags given override it)")
    train.add_argument("--top", type=int, default=d.top, help="distinct configurations to retrain per run")
    train.add_argument("--epochs", type=int, help="epochs at most (the search's --max-epochs when not given; "
                                                  "with --train-on train+val, the epochs the trial's best took)")
    train.add_argument("--train-on", choices=TRAIN_ON, default=d.train_on,
                       help="train: early stopping and the best epoch on validation; train+val: both, for a fixed "
                            "number of epochs")
    train.add_argument("--tta", nargs="?", const="flip", choices=TTA_CHOICES,
                       help="also score test-time augmentation: flip (the default of a bare --tta) averages each "
                            "face and its mirror; ten-crop the 4 corner and centre crops and their mirrors")
    train.add_argument("--precision", choices=("float32", "mixed_bfloat16", "mixed_float16"),
                       help="Keras dtype policy for retraining (the search's when not given; mixed_float16 needs a "
                            "CUDA GPU)")
    train.add_argument("--retrain-fix", action="append", default=[], metavar="NAME=VALUE",
                       help="retrain the winners with this hyperparameter changed, e.g. input_size=160 (the trials' "
                            "fidelity ranked them at a smaller one); under --time-budget only where at least "
                            "3 epochs at the new value fit each winner's share (repeatable)")
    budget = p.add_argument_group("budget")
    budget.add_argument("--time-budget", metavar="DURATION",
                        help="wall clock for all retraining (90m, 2h): each winner gets what is left divided by the "
                             "winners still to train, and stops at the end of an epoch once another would not fit in "
                             "its share")
    out = p.add_argument_group("output")
    out.add_argument("--out", help="--compare: name of the report folder under reports/")
    out.add_argument("--export", nargs="+", choices=EXPORT_FORMATS, default=d.export, metavar="FORMAT",
                     help="also write the best model as models/<project>/best_saved_model/ (saved_model) "
                          "and/or best.tflite (tflite); TensorFlow backend only")
    out.add_argument("--models-dir", default=d.models_dir, help=argparse.SUPPRESS)
    out.add_argument("--reports-dir", default=d.reports_dir, help=argparse.SUPPRESS)
    out.add_argument("--overwrite", action="store_true",
                     help="replace an earlier report of the same run (kept as reports/<project>.<time>/ and "
                          "models/<project>.<time>/ when not given)")
    out.add_argument("--plain", action="store_true", help="plain lines instead of progress bars")
    add_verbose(out)
    return p


def config_from_args(args, given: set[str] = frozenset()) -> ReportConfig:
    """The ReportConfig of these arguments, with the defaults of the run's recipe where the flags
    (`given`: their dests) leave them; one line (UserError) for a value no report can use."""
    from search.report.export import check_export
    from search.fixed import parse_fixed
    names = {f.name for f in fields(ReportConfig)}
    config = ReportConfig(**{k: v for k, v in vars(args).items() if k in names and k != "retrain_fix"},
                          retrain_fix=parse_fixed(args.retrain_fix))
    if args.project:
        config.run = str(TUNER_RUNS_DIR / args.project)
    config.check()
    check_export(config.export)
    if config.export and config.compare:
        raise UserError("--export writes one run's best model: use it with --run, not --compare")
    if config.run:  # --compare's runs may have been made with different recipes: theirs are not taken
        from search.project import load_project
        config = with_recipe_defaults(config, load_project(config.run).recipe, given)
        config.check()
    return config


def main(argv=None) -> int:
    from search.report.progress import ReportConsole
    parser, args, given = parse_command(build_parser, argv)
    start_search_process(args.verbose)
    console = ReportConsole(plain=True if args.plain else None)
    try:
        config = config_from_args(args, given)
        if recipe_words(config):
            console.line(recipe_words(config))
        if config.compare:
            from search.report.compare import compare
            compare(config.compare, config, console)
        else:
            from search.report.outputs import reporting_run
            from search.report.run_report import report_run
            with reporting_run(config.run, config) as outcome:  # its lock; the previous report kept
                report_run(config.run, config, console)
            return 1 if outcome.left_out else 0  # 1: trials it could not read were left out
        return 0
    except UserError as e:
        console.stop()
        return print_user_error(e, parser.prog)
    except (OSError, WriteFault) as e:  # a full or read-only disk: one line, and the way on
        console.stop()
        return print_user_error(fault_error(e, args.reports_dir, "run the report again"), parser.prog)
    except KeyboardInterrupt:
        console.stop()
        print("interrupted; nothing was written to reports/", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
