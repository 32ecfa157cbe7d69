"""Time to accuracy: a recipe's model trained for M minutes of wall clock on the real train split, its
best epoch on PublicTest (val) scored once on val and once on PrivateTest (test).

    python bench/time_to_accuracy.py --minutes 12                       # cpu-2h's cnn point
    python bench/time_to_accuracy.py --minutes 12 --compare cpu-fast    # cpu-2h, then cpu-fast, same M
    python bench/time_to_accuracy.py --minutes 12 --recipe cpu-2h+ema   # one ingredient over cpu-2h

A recipe is a TOML recipe (a name under search/recipes/, or a path) or a name of BENCH_RECIPES below
(a shipped recipe with a few pins more). Its space is built with its [pins] and everything else at the
space's defaults: the point its search starts from, not what its random trials would pick. The model
is fitted by the training core (search.training.fit) under a TimeBudget of M minutes, as
`--time-budget` fits a report's winner: no epoch starts that would not fit, and a cosine or linear
schedule is planned to end at M, re-planned at each epoch's pace; --max-epochs (the report's 100)
only caps that plan. The core's checkpoint keeps the best epoch on val; that model (its inference
model, as saved) is scored on val and on test, once each. Every run looks at the test split: add a
row to bench/results/TEST_LOOKS.md for it.

The last line is `val_accuracy=0.xxxx test_accuracy=0.xxxx minutes=M epochs=E recipe=NAME`; with
--compare, one such line per recipe, today's first. Timings mean something only on a machine no one
else is using (the CPU flags are printed first).
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from fer.errors import UserError, print_user_error  # noqa: E402

PROG = "bench/time_to_accuracy.py"
TODAY = "cpu-2h"  # the recommended CPU recipe (README)
# name: (the shipped recipe it starts from, the pins it adds): one speedrun ingredient at a time
BENCH_RECIPES = {
    "cpu-2h+whitening": (TODAY, {"patch_whitening": 2}),
    "cpu-2h+ema": (TODAY, {"weight_ema": 0.99}),
    "cpu-2h+flips": (TODAY, {"flip_mode": "alternating"}),
    "cpu-2h+linear": (TODAY, {"lr_schedule": "linear"}),
    "cpu-2h+smoothing": (TODAY, {"label_smoothing": 0.2}),
    "cpu-2h+sgd": (TODAY, {"optimizer": "sgd"}),
    # progressive resizing needs a pooled head: its baseline is cpu-2h with that head alone
    "cpu-2h+gap": (TODAY, {"pooling": "gap"}),
    "cpu-2h+gap+progressive": (TODAY, {"pooling": "gap", "progressive_resize": 36}),
}
CPU_FLAGS = r"grep -o -w 'avx512[a-z_0-9]*\|avx2\|amx[a-z_]*' /proc/cpuinfo | sort -u"


@dataclass(frozen=True)
class BenchRecipe:
    name: str
    space: str
    pins: dict = field(default_factory=dict)
    batch_size: int = 64


def resolve(spec: str) -> BenchRecipe:
    """The space, pins and batch size `spec` names (UserError for an unknown one or a bad pin)."""
    from search.config import RunConfig
    from search.recipe_files import load_recipe
    from search.space_info import check_pins
    if spec in BENCH_RECIPES:
        base, extra = BENCH_RECIPES[spec]
        recipe = resolve(base)
        recipe = replace(recipe, name=spec, pins={**recipe.pins, **extra})
        check_pins(recipe.space, extra, f"{PROG} BENCH_RECIPES {spec}")
        return recipe
    recipe = load_recipe(spec)
    space = recipe.search.get("space")
    if space is None:
        raise UserError(f"--recipe {spec}: takes its space from --space; give a recipe that names one")
    pins = recipe.pins(space)
    check_pins(space, pins, f"{recipe.path} [pins]")
    return BenchRecipe(recipe.name, space, pins, recipe.search.get("batch_size", RunConfig.batch_size))


def cpu_flags() -> str:
    found = subprocess.run(CPU_FLAGS, shell=True, capture_output=True, text=True).stdout.split()
    return " ".join(found) or "none of avx2, avx512*, amx*"


def load_splits(data: str) -> dict:
    """{split: (x, y)} in memory, from a prepared folder (or `demo`)."""
    from search.project import open_data
    ds = open_data(data)
    return {name: tuple(a[:] for a in ds.split(name)) for name in ("train", "val", "test")}


def build(recipe: BenchRecipe, seed: int):
    """The recipe's model (weights=None: random init) and the hyperparameter values it holds."""
    import keras
    import keras_tuner as kt

    from spaces import SpaceOptions, get_space
    keras.backend.clear_session()
    keras.utils.set_random_seed(seed)
    hp = kt.HyperParameters()
    for name, value in recipe.pins.items():
        hp.Fixed(name, value)
    return get_space(recipe.space).build(hp, SpaceOptions(weights=None)), dict(hp.values)


def epoch_printer(name: str):
    import keras

    class EpochLines(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.began = time.time()

        def on_epoch_end(self, epoch, logs=None):
            logs = logs or {}
            print(f"  {name} epoch {epoch + 1}: {time.time() - self.began:.0f} s, loss {logs.get('loss', 0):.4f}, "
                  f"val_accuracy {logs.get('val_accuracy', 0):.4f}, lr {logs.get('learning_rate', 0):.2e}", flush=True)
    return EpochLines()


def scores(model, x, y, tta: str) -> tuple[float, float]:
    """(accuracy, macro-F1) of `model` on (x, y), averaged over `tta`'s views."""
    import numpy as np

    from fer.metrics import class_report
    from fer.tta import model_crop_size, predict_tta
    probs = predict_tta(lambda v: model.predict(v, batch_size=256, verbose=0), x, tta,
                        model_crop=model_crop_size(model))
    report = class_report(np.asarray(y).reshape(-1), np.argmax(probs, axis=1))
    return float(report["accuracy"]), float(report["macro_f1"])


def train_and_score(recipe: BenchRecipe, splits: dict, args) -> dict:
    """Fit `recipe` for args.minutes on train, keep its best epoch on val, score it on val and test."""
    import numpy as np

    from search.budget import TimeBudget
    from search.training import Fitting, fit
    from spaces.inference import inference_model
    model, values = build(recipe, args.seed)
    fitting = Fitting(recipe.batch_size, "val_accuracy", "max", args.patience, args.seed)
    (x, y), validation = splits["train"], splits["val"]
    with tempfile.TemporaryDirectory() as tmp:
        checkpoint = Path(tmp) / "best.weights.h5"
        started = time.time()
        result = fit(model, values, x, y, fitting, validation=validation, checkpoint=checkpoint,
                     budget=None if args.epochs else TimeBudget.starting_now(args.minutes * 60),
                     callbacks=[epoch_printer(recipe.name)], epochs=args.epochs or args.max_epochs)
        wall = time.time() - started
        if checkpoint.is_file():
            model.load_weights(checkpoint)
    history = result.history.history
    scoring = inference_model(model)  # what search.report saves: its centre crop is what TTA windows fit
    return {"recipe": recipe.name, "space": recipe.space, "pins": recipe.pins,
            "minutes": round(wall / 60, 2) if args.epochs else args.minutes, "planned_epochs": args.epochs,
            "wall_minutes": round(wall / 60, 2), "epochs": len(history["loss"]),
            "best_epoch": 1 + int(np.argmax(history["val_accuracy"])), "tta": args.tta,
            **scored(scoring, validation, splits["test"], args.tta), "history": {k: [float(v) for v in vs] for k, vs in history.items()}}


def scored(model, validation, test, tta: str) -> dict:
    (val, val_f1), (test, test_f1) = scores(model, *validation, tta), scores(model, *test, tta)
    return {"val_accuracy": val, "val_macro_f1": val_f1, "test_accuracy": test, "test_macro_f1": test_f1}


def row_line(row: dict) -> str:
    line = (f"val_accuracy={row['val_accuracy']:.4f} test_accuracy={row['test_accuracy']:.4f} "
            f"minutes={row['minutes']:g} epochs={row['epochs']} recipe={row['recipe']}")
    return line + (f" tta={row['tta']}" if row["tta"] != "none" else "")


def build_parser() -> argparse.ArgumentParser:
    from fer.command import command_parser
    parser = command_parser(PROG, __doc__, ("python bench/time_to_accuracy.py --minutes 12",
                                            "python bench/time_to_accuracy.py --minutes 12 --compare cpu-fast"))
    parser.add_argument("--minutes", type=float, default=12.0, help="wall clock each recipe trains for")
    parser.add_argument("--recipe", default=TODAY, help="recipe name or TOML path, or a BENCH_RECIPES name")
    parser.add_argument("--compare", metavar="NEW", help="then train NEW for the same minutes; one row each")
    parser.add_argument("--data", default="data/fer2013", help="a prepared FER-2013 folder (or demo)")
    parser.add_argument("--max-epochs", type=int, default=100, help="the cap the schedule is planned over")
    parser.add_argument("--epochs", type=int,
                        help="instead of --minutes: exactly this many epochs, the schedule planned for them (equal "
                             "epochs, not equal minutes: ingredients that leave an epoch's cost alone compared on a "
                             "machine that is not quiet; minutes= then says the wall clock they took)")
    parser.add_argument("--patience", type=int, default=5, help="early stopping's, under a plateau schedule")
    parser.add_argument("--tta", choices=("none", "flip", "ten-crop"), default="none",
                        help="views averaged when scoring (multi-crop evaluation)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, help="also write the rows, with each epoch's history, as JSON")
    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    print(f"cpu flags: {cpu_flags()}; {os.cpu_count()} cores; {time.strftime('%Y-%m-%d %H:%M %Z')}", flush=True)
    try:
        if args.minutes <= 0 or args.max_epochs < 1 or (args.epochs is not None and args.epochs < 1):
            raise UserError(f"--minutes {args.minutes:g} --max-epochs {args.max_epochs} --epochs {args.epochs}: "
                            "each must be positive")
        recipes = [resolve(spec) for spec in [args.recipe, *([args.compare] if args.compare else [])]]
        splits = load_splits(args.data)
        import keras
        keras.mixed_precision.set_global_policy("float32")
        rows = []
        for recipe in recipes:
            print(f"{recipe.name}: {recipe.space}, batch {recipe.batch_size}, "
                  f"{', '.join(f'{k}={v}' for k, v in recipe.pins.items())}; "
                  + (f"{args.epochs} epochs" if args.epochs else f"{args.minutes:g} minutes"), flush=True)
            rows.append(train_and_score(recipe, splits, args))
            print(f"  {recipe.name}: {rows[-1]['epochs']} epochs in {rows[-1]['wall_minutes']} min, "
                  f"best on val: epoch {rows[-1]['best_epoch']}", flush=True)
        if args.out:
            from fer.cache import atomic_write_text
            atomic_write_text(args.out, json.dumps(rows, indent=2) + "\n")
    except UserError as e:
        return print_user_error(e, PROG)
    print(f"scored the test split once per model ({len(rows)}): add a row to bench/results/TEST_LOOKS.md")
    for row in rows:
        print(row_line(row))
    return 0


if __name__ == "__main__":
    sys.exit(main())
