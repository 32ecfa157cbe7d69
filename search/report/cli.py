"""`python -m search.report --run tuner_runs/<project>`: retrain the winners, test them once, report.

The top K trials of a search are retrained from their hyperparameters and saved to
models/<project>/ (.h5, .keras and a JSON of hyperparameters and history). Each is evaluated
once on the test split (PrivateTest) and reports/<project>/ gets metrics.json, per_class.csv,
predictions.npz, the figures and a self-contained index.html. `--compare RUN RUN ...` puts the
winners of several runs into one comparison report. `--export saved_model tflite` also writes the
best model for serving or mobile (TensorFlow backend).
"""
import argparse
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from fer.constants import MODELS_DIR, REPORTS_DIR  # noqa: E402
from fer.errors import UserError, print_user_error  # noqa: E402


def build_parser() -> argparse.ArgumentParser:
    from search.report.export import EXPORT_FORMATS
    from search.report.retrain import TRAIN_ON
    p = argparse.ArgumentParser(prog="python -m search.report", description=__doc__.splitlines()[0])
    what = p.add_mutually_exclusive_group(required=True)
    what.add_argument("--run", help="a search folder, tuner_runs/<project>")
    what.add_argument("--compare", nargs="+", metavar="RUN", help="several search folders: one comparison report")
    p.add_argument("--top", type=int, default=3, help="winners to retrain per run (default 3)")
    p.add_argument("--epochs", type=int, help="epochs at most (default: the search's --max-epochs; "
                                              "with --train-on train+val, the epochs the trial's best took)")
    p.add_argument("--train-on", choices=TRAIN_ON, default="train")
    p.add_argument("--tta", action="store_true", help="also report test-time augmentation (horizontal flip)")
    p.add_argument("--data", help="the prepared data folder (default: the one the search used)")
    p.add_argument("--out", help="--compare: name of the report folder under reports/")
    p.add_argument("--export", nargs="+", choices=EXPORT_FORMATS, default=[], metavar="FORMAT",
                   help="also write the best model as models/<project>/best_saved_model/ (saved_model) "
                        "and/or best.tflite (tflite); TensorFlow backend only")
    p.add_argument("--models-dir", default=str(MODELS_DIR), help=argparse.SUPPRESS)
    p.add_argument("--reports-dir", default=str(REPORTS_DIR), help=argparse.SUPPRESS)
    p.add_argument("--plain", action="store_true", help="plain lines instead of progress bars")
    return p


def main(argv=None) -> int:
    from search.report.console import ReportConsole
    parser = build_parser()
    args = parser.parse_args(argv)
    console = ReportConsole(plain=True if args.plain else None)
    try:
        if args.epochs is not None and args.epochs < 1:
            raise UserError(f"--epochs must be at least 1, got {args.epochs}")
        from search.report.export import check_export
        check_export(args.export)
        if args.compare:
            from search.report.compare import compare
            compare(args.compare, args, console)
        else:
            from search.report.run_report import report_run
            report_run(args.run, args, console)
        return 0
    except UserError as e:
        console.stop()
        return print_user_error(e, parser.prog)
    except KeyboardInterrupt:
        console.stop()
        print("interrupted; nothing was written to reports/", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
