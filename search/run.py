"""`python -m search.run --space NAME`: a Keras Tuner search over a space, with a live leaderboard.

Results go to tuner_runs/<project>/ (keras-tuner's oracle and trials, config.json with the
full configuration, leaderboard.csv rewritten after every trial). The validation split drives
early stopping and selection; the test split is never touched here.
"""
import argparse
import os
import shutil
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from fer.constants import DEMO_NOTICE, DEMO_SOURCE  # noqa: E402
from fer.errors import UserError, report  # noqa: E402
from search.config import CONFIG_FILE, OBJECTIVES, PRECISIONS, QUICK, TUNERS, RunConfig  # noqa: E402

def build_parser() -> argparse.ArgumentParser:
    from spaces import SPACES
    d = RunConfig()
    p = argparse.ArgumentParser(prog="python -m search.run", description=__doc__.splitlines()[0])
    p.add_argument("--space", choices=list(SPACES), default=d.space)
    p.add_argument("--tuner", choices=TUNERS, default=d.tuner)
    p.add_argument("--data", default=d.data, help="a folder written by fer.prepare, or 'demo' (prepared on first use)")
    p.add_argument("--max-trials", type=int, help=f"trials to run (a cap for hyperband; default {d.max_trials})")
    p.add_argument("--max-epochs", type=int, help=f"epochs per trial at most (default {d.max_epochs})")
    p.add_argument("--batch-size", type=int, default=d.batch_size)
    p.add_argument("--objective", choices=list(OBJECTIVES), default=d.objective)
    p.add_argument("--seed", type=int, default=d.seed)
    p.add_argument("--project", help="name under tuner_runs/ (default <space>-<tuner>)")
    p.add_argument("--runs-dir", default=d.runs_dir, help=argparse.SUPPRESS)
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--overwrite", action="store_true", help="start fresh, deleting an existing project")
    mode.add_argument("--resume", action="store_true", help="continue an interrupted search")
    p.add_argument("--precision", choices=PRECISIONS, default=d.precision)
    p.add_argument("--weights", default="imagenet",
                   help="mobilenet backbone: imagenet (default), a local .h5 file, or none (random init)")
    p.add_argument("--patience", type=int, default=d.patience, help="early-stopping patience in epochs")
    p.add_argument("--quick", action="store_true",
                   help=f"a small budget for a first look ({QUICK['max_trials']} trials, {QUICK['max_epochs']} epochs)")
    p.add_argument("--plain", action="store_true", help="plain lines instead of the live view")
    return p


def config_from_args(args) -> RunConfig:
    budget = QUICK if args.quick else {"max_trials": RunConfig.max_trials, "max_epochs": RunConfig.max_epochs}
    weights = None if args.weights.lower() == "none" else args.weights
    for name, value in (("--max-trials", args.max_trials), ("--max-epochs", args.max_epochs),
                        ("--batch-size", args.batch_size)):
        if value is not None and value < 1:
            raise UserError(f"{name} must be at least 1, got {value}")
    return RunConfig(space=args.space, tuner=args.tuner, data=args.data,
                     max_trials=args.max_trials or budget["max_trials"],
                     max_epochs=args.max_epochs or budget["max_epochs"], batch_size=args.batch_size,
                     objective=args.objective, seed=args.seed, project=args.project, overwrite=args.overwrite,
                     resume=args.resume, precision=args.precision, quick=args.quick, weights=weights,
                     runs_dir=args.runs_dir, patience=args.patience)


def open_data(spec: str):
    from fer.dataset import Dataset
    from fer.prepare import ensure_demo
    return Dataset.open(ensure_demo() if spec == DEMO_SOURCE else spec)


def prepare_project(config: RunConfig) -> bool:
    """Check --overwrite/--resume against what exists; returns keras-tuner's overwrite flag."""
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
        return False
    if config.overwrite and config.project_dir.exists():
        shutil.rmtree(config.project_dir)
    return True


def run(config: RunConfig, plain: bool | None = None) -> int:
    import keras

    from search import leaderboard
    from search.console import make_console
    from search.hypermodel import FerHyperModel
    from fer.cache import atomic_write_text
    from search.precision import choose
    from search.tuners import make_tuner
    from spaces import SpaceOptions, get_space
    from spaces.mobilenet import check_weights, weights_label

    ds = open_data(config.data)
    x_train, y_train = (a[:] for a in ds.split("train"))
    x_val, y_val = (a[:] for a in ds.split("val"))
    weights = config.weights if config.space == "mobilenet" else None
    if config.space == "mobilenet":
        check_weights(weights)
    overwrite = prepare_project(config)
    options = SpaceOptions(weights=weights)
    space = get_space(config.space)
    precision = choose(config.precision, config.space, lambda hp: space.build(hp, SpaceOptions(weights=None)),
                       options.input_shape, config.runs_dir)
    keras.mixed_precision.set_global_policy(precision["policy"])
    keras.utils.set_random_seed(config.seed)

    labels = {"weights": weights_label(weights) if config.space == "mobilenet" else "", "precision": precision["policy"]}
    config.resolved = {"data_path": str(ds.path), "data_meta": ds.meta["sha256"], "data_is_demo": ds.is_demo,
                       "precision": precision, "weights": labels["weights"], "keras": keras.__version__,
                       "backend": keras.backend.backend(), "train_images": int(len(y_train)),
                       "val_images": int(len(y_val))}
    tuner = make_tuner(config, FerHyperModel(config, options), overwrite)
    config.project_dir.mkdir(parents=True, exist_ok=True)
    atomic_write_text(config.project_dir / CONFIG_FILE, config.to_json())

    console = make_console(plain)
    key_hps = list(getattr(space, "KEY_HPS", []))
    tuner.setup_reporting(config, console, len(y_train), key_hps, labels)
    data_note = f"data {ds.path}" + (f" ({DEMO_NOTICE})" if ds.is_demo else "")
    console.search_begin(f"{config.space} / {config.tuner} / {config.objective} / {precision['policy']} / {data_note}",
                         tuner.planned_trials())
    try:
        tuner.search(x_train, y_train, validation_data=(x_val, y_val), epochs=config.max_epochs, verbose=0)
    except KeyboardInterrupt:
        console.stop()
        again = [a for a in sys.argv[1:] if a not in ("--overwrite", "--resume")] + ["--resume"]
        print(f"interrupted; continue with: python -m search.run {' '.join(again)}", file=sys.stderr)
        return 130
    finally:
        console.stop()
    rows = leaderboard.trial_rows(tuner.oracle, leaderboard.load_info(config.project_dir))  # written after each trial
    console.search_end(rows, config.direction, key_hps,
                       f"{config.project_dir}/ (leaderboard.csv, config.json)")
    if not leaderboard.ranked(rows, config.direction):
        print("error: no trial completed; see the reasons above", file=sys.stderr)
        return 1
    return 0


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return run(config_from_args(args), plain=True if args.plain else None)
    except UserError as e:
        return report(e, parser.prog)


if __name__ == "__main__":
    sys.exit(main())
