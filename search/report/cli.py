"""`python -m search.report --run tuner_runs/<project>`: retrain the winners, test them once, report.

The top K trials of a search are retrained from their hyperparameters and saved to
models/<project>/ (.h5, .keras and a JSON of hyperparameters and history). Each is evaluated
once on the test split (PrivateTest) and reports/<project>/ gets metrics.json, per_class.csv,
predictions.npz, the figures and a self-contained index.html. `--compare RUN RUN ...` puts the
winners of several runs into one comparison report. `--export saved_model tflite` also writes the
best model for serving or mobile (TensorFlow backend).
"""
import argparse
import sys

from fer.command import add_verbose, command_parser
from fer.constants import MODELS_DIR, REPORTS_DIR, TUNER_RUNS_DIR
from fer.errors import UserError, print_user_error
from fer.write_faults import WriteFault, fault_error
from search.report.winners import TRAIN_ON
from search.startup import start_search_process


def build_parser() -> argparse.ArgumentParser:
    from search.report.export import EXPORT_FORMATS
    p = command_parser("python -m search.report", __doc__)
    what = p.add_mutually_exclusive_group(required=True)
    what.add_argument("--run", help="a search folder, tuner_runs/<project>")
    what.add_argument("--project", help="a search by its project name (the folder under tuner_runs/)")
    what.add_argument("--compare", nargs="+", metavar="RUN", help="several search folders: one comparison report")
    p.add_argument("--top", type=int, default=3, help="distinct configurations to retrain per run")
    p.add_argument("--epochs", type=int, help="epochs at most (the search's --max-epochs when not given; "
                                              "with --train-on train+val, the epochs the trial's best took)")
    p.add_argument("--train-on", choices=TRAIN_ON, default="train",
                   help="train: early stopping and the best epoch on validation; train+val: both, for a fixed "
                        "number of epochs")
    p.add_argument("--tta", nargs="?", const="flip", choices=("flip", "ten-crop"),
                   help="also score test-time augmentation: flip (the default of a bare --tta) averages each face "
                        "and its mirror; ten-crop the 4 corner and centre crops and their mirrors")
    p.add_argument("--time-budget", metavar="DURATION",
                   help="wall clock for all retraining (90m, 2h): each winner gets what is left divided by the "
                        "winners still to train, and stops at the end of an epoch once another would not fit in its share")
    p.add_argument("--data", help="the prepared data folder, or 'demo' (the one the search used when not given; "
                                  "it must hash the same)")
    p.add_argument("--precision", choices=("float32", "mixed_bfloat16", "mixed_float16"),
                   help="Keras dtype policy for retraining (the search's when not given; mixed_float16 needs a "
                        "CUDA GPU)")
    p.add_argument("--out", help="--compare: name of the report folder under reports/")
    p.add_argument("--export", nargs="+", choices=EXPORT_FORMATS, default=[], metavar="FORMAT",
                   help="also write the best model as models/<project>/best_saved_model/ (saved_model) "
                        "and/or best.tflite (tflite); TensorFlow backend only")
    p.add_argument("--models-dir", default=str(MODELS_DIR), help=argparse.SUPPRESS)
    p.add_argument("--reports-dir", default=str(REPORTS_DIR), help=argparse.SUPPRESS)
    p.add_argument("--overwrite", action="store_true",
                   help="replace an earlier report of the same run (kept as reports/<project>.<time>/ and "
                        "models/<project>.<time>/ when not given)")
    p.add_argument("--plain", action="store_true", help="plain lines instead of progress bars")
    add_verbose(p)
    return p


def main(argv=None) -> int:
    from search.report.progress import ReportConsole
    parser = build_parser()
    args = parser.parse_args(argv)
    start_search_process(args.verbose)
    console = ReportConsole(plain=True if args.plain else None)
    if args.project:
        args.run = str(TUNER_RUNS_DIR / args.project)
    try:
        if args.epochs is not None and args.epochs < 1:
            raise UserError(f"--epochs must be at least 1, got {args.epochs}")
        if args.time_budget is not None:
            from search.budget import parse_duration
            parse_duration(args.time_budget)
        from search.report.export import check_export
        check_export(args.export)
        if args.export and args.compare:
            raise UserError("--export writes one run's best model: use it with --run, not --compare")
        if args.compare:
            from search.report.compare import compare
            compare(args.compare, args, console)
        else:
            from search.report.outputs import reporting_run
            from search.report.run_report import report_run
            with reporting_run(args.run, args) as outcome:  # its lock; the previous report kept
                report_run(args.run, args, console)
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
