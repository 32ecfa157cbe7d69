"""Does the search earn its keep? Three arms of the same budget on the same machine, one after the other:

    (a) default:    the space's default point trained for the whole budget
    (b) portfolio:  the best point of the space's portfolio (search/portfolios/) trained for the whole budget
    (c) search:     `python -m search.run --space S --data D --time-budget B --report` (the planned search,
                    the final training and the report, inside the same budget)

    python bench/search_value.py --budget 40m                  # about two hours in all
    python bench/search_value.py --budget 40m --out DIR        # resumes at the first arm DIR lacks

(a) and (b) are fitted by the training core under a TimeBudget of B (bench/time_to_accuracy.py's
train_and_score: the schedule planned to end at B, the best epoch on PublicTest kept); (c)'s
numbers are its report's best model (chosen on validation). Each arm is scored once on PrivateTest,
never used to choose: add a row to bench/results/TEST_LOOKS.md per arm. Each arm is written to
DIR/arms.json as it ends. One line per arm, last:
`arm=NAME val_accuracy=0.xxxx val_macro_f1=0.xxxx test_accuracy=0.xxxx test_macro_f1=0.xxxx minutes=M`.
"""
import argparse
import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]

import time_to_accuracy as tta_bench  # noqa: E402

from fer.errors import UserError, print_user_error  # noqa: E402

PROG = "bench/search_value.py"
ARMS = ("default", "portfolio", "search")


def fixed_point(arm: str, space: str) -> "tta_bench.BenchRecipe":
    """Arm (a)'s or (b)'s point: the space's defaults, or its portfolio's first (best) point."""
    if arm == "default":
        return tta_bench.BenchRecipe(f"{space}-default", space, {})
    from search.portfolio import load_portfolio
    points = load_portfolio(space)
    if not points:
        raise UserError(f"--space {space}: ships no portfolio (search/portfolios/{space}.toml)")
    return tta_bench.BenchRecipe(f"{space}-portfolio-{points[0].name}", space, dict(points[0].values))


def search_arm(args, minutes: float) -> dict:
    """Arm (c): the one command, in this process; its report's best model."""
    from search import run as run_cli
    project = f"search_value_{args.space}_{args.budget}"
    data = args.data if args.data == "demo" else str(Path(args.data).resolve())
    argv = ["--space", args.space, "--data", data, "--time-budget", args.budget, "--report", "--plain",
            "--project", project, "--runs-dir", str((args.out / "tuner_runs").resolve()), "--seed", str(args.seed),
            "--overwrite"]  # an arm interrupted before it was recorded starts again: its budget is whole
    cwd = Path.cwd()
    os.chdir(args.out)  # its models/ and reports/ go beside the arms' record
    try:
        code = run_cli.main(argv)
    finally:
        os.chdir(cwd)
    if code != 0:
        raise UserError(f"arm search: python -m search.run {' '.join(argv)} ended with status {code}")
    meta = json.loads((args.out / "reports" / project / "metrics.json").read_text())
    best = next(m for m in meta["models"] if m["name"] == meta["best"])
    return {"arm": "search", "command": "python -m search.run " + " ".join(argv), "best": best["name"],
            "val_accuracy": best["val"]["accuracy"], "val_macro_f1": best["val"]["macro_f1"],
            "test_accuracy": best["test"]["accuracy"], "test_macro_f1": best["test"]["macro_f1"], "minutes": minutes}


def run_arm(arm: str, args, splits: dict | None) -> dict:
    started = time.time()
    if arm == "search":
        row = search_arm(args, 0.0)
    else:
        import keras
        keras.mixed_precision.set_global_policy("float32")  # an earlier search arm may have left its own
        recipe = fixed_point(arm, args.space)
        print(f"{arm}: {recipe.name}: {', '.join(f'{k}={v}' for k, v in recipe.pins.items()) or 'defaults'}",
              flush=True)
        fit_args = argparse.Namespace(minutes=args.minutes, epochs=None, max_epochs=args.max_epochs,
                                      patience=5, seed=args.seed, tta="none")
        row = {"arm": arm, **tta_bench.train_and_score(recipe, splits, fit_args)}
    row["minutes"], row["budget"] = round((time.time() - started) / 60, 2), args.budget
    return row


def arm_line(row: dict) -> str:
    return (f"arm={row['arm']} val_accuracy={row['val_accuracy']:.4f} val_macro_f1={row['val_macro_f1']:.4f} "
            f"test_accuracy={row['test_accuracy']:.4f} "
            f"test_macro_f1={row['test_macro_f1']:.4f} minutes={row['minutes']:g}")


def build_parser() -> argparse.ArgumentParser:
    from fer.command import command_parser
    parser = command_parser(PROG, __doc__, ("python bench/search_value.py --budget 40m",))
    parser.add_argument("--budget", default="40m", help="each arm's wall clock (40m, 2h)")
    parser.add_argument("--space", default="cnn")
    parser.add_argument("--data", default="data/fer2013", help="a prepared FER-2013 folder (or demo)")
    parser.add_argument("--arms", nargs="+", choices=ARMS, default=list(ARMS))
    parser.add_argument("--max-epochs", type=int, default=100, help="(a), (b): the cap their schedule is planned over")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=Path("bench/results/search_value/run"),
                        help="arms.json (resumed), and arm (c)'s tuner_runs/, models/, reports/")
    return parser


def main(argv=None) -> int:
    from search.budget import parse_duration
    args = build_parser().parse_args(argv)
    print(f"cpu flags: {tta_bench.cpu_flags()}; {os.cpu_count()} cores; {time.strftime('%Y-%m-%d %H:%M %Z')}", flush=True)
    try:
        args.minutes = parse_duration(args.budget) / 60
        args.out.mkdir(parents=True, exist_ok=True)
        record = args.out / "arms.json"
        rows = json.loads(record.read_text()) if record.is_file() else []
        other = sorted({r["budget"] for r in rows} - {args.budget})
        if other:
            raise UserError(f"{record}: holds arms of --budget {', '.join(other)}, not {args.budget}; "
                            "give another --out")
        done = {r["arm"] for r in rows}
        splits = None
        for arm in [a for a in args.arms if a not in done]:
            if arm != "search" and splits is None:
                splits = tta_bench.load_splits(args.data)
            rows.append(run_arm(arm, args, splits))
            from fer.cache import atomic_write_text
            atomic_write_text(record, json.dumps(rows, indent=2) + "\n")  # resumable at the next arm
            print(arm_line(rows[-1]), flush=True)
    except UserError as e:
        return print_user_error(e, PROG)
    print(f"budget {args.budget} per arm; the test split scored once per arm: add a row per arm to "
          "bench/results/TEST_LOOKS.md")
    for row in sorted(rows, key=lambda r: ARMS.index(r["arm"])):
        print(arm_line(row))
    return 0


if __name__ == "__main__":
    sys.exit(main())
