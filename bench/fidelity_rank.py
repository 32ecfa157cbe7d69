"""Which cheap trial ranks configurations as a long training does? For N configurations of a space (its
portfolio's first point, then random draws), each cheap score beside the validation accuracy after a
long training, and the rank correlation (Spearman) between them over the configurations.

    python bench/fidelity_rank.py --configs 8 --long-minutes 20        # resumes from --out's configs.json

Fidelities (their cost in epochs of the full train split):
    epochs1, epochs2, epochs3   val accuracy after epoch k of a 3-epoch run (its schedule planned for 3)
    loss_sum3                   minus the sum of that run's training losses ("Revisiting the train loss")
    extrapolated3               its val accuracies fitted as a + b*log(epoch), read at epoch 30
    subset4                     val accuracy after 4 epochs on a stratified quarter of the train split
    crop40_2                    val accuracy after 2 epochs at crop_size 40 (a smaller input: 0.83 of the cost)
The long training: --long-minutes of wall clock (the schedule planned to end there, as --time-budget
does, capped at --max-epochs), its best epoch's val accuracy. Only the validation split (PublicTest)
is used. Each configuration is written to configs.json as it ends. The last line names the cheapest
fidelity with Spearman at least --target (or the best): `fidelity=NAME spearman=X configs=N`.
"""
import argparse
import json
import math
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]

import time_to_accuracy as tta_bench  # noqa: E402

from fer.errors import UserError, print_user_error  # noqa: E402

PROG = "bench/fidelity_rank.py"
COST = {"epochs1": 1, "subset4": 1, "crop40_2": 1.7, "epochs2": 2, "epochs3": 3, "loss_sum3": 3, "extrapolated3": 3}
SUBSET_SHARE, SUBSET_EPOCHS, SHORT_EPOCHS = 0.25, 4, 3
SMALL_CROP, SMALL_CROP_EPOCHS = 40, 2
EXTRAPOLATE_AT = 30  # the epoch the fitted curve is read at, the same for every configuration


def configurations(space: str, n: int, seed: int) -> list[dict]:
    """The portfolio's first point (the space's defaults when it has none), then n - 1 random draws."""
    import keras_tuner as kt

    from search.portfolio import load_portfolio
    from spaces import SpaceOptions, get_space
    hp = kt.HyperParameters()
    get_space(space).build(hp, SpaceOptions(weights=None))
    oracle = kt.oracles.RandomSearchOracle(objective=kt.Objective("val_accuracy", "max"), max_trials=n,
                                           hyperparameters=hp, seed=seed + 1)  # keras-tuner takes 0 as "draw one"
    points = load_portfolio(space)
    first = {"name": f"portfolio-{points[0].name}", "values": dict(points[0].values)} if points else \
        {"name": "default", "values": {}}
    return [first] + [{"name": f"random-{i}", "values": oracle._random_values()} for i in range(1, n)]


def stratified_quarter(y, seed: int):
    import numpy as np
    rng = np.random.default_rng(seed)
    y = np.asarray(y).reshape(-1)
    keep = [rng.permutation(np.flatnonzero(y == c))[:max(1, int(SUBSET_SHARE * (y == c).sum()))]
            for c in np.unique(y)]
    return np.sort(np.concatenate(keep))


def train(space: str, values: dict, x, y, validation, seed: int, epochs: int, minutes: float | None = None) -> dict:
    """Fit the point through the training core; its history (val accuracy, loss per epoch)."""
    from search.budget import TimeBudget
    from search.training import Fitting, fit
    model, hp_values = tta_bench.build(tta_bench.BenchRecipe("point", space, values), seed)
    budget = TimeBudget.starting_now(minutes * 60) if minutes else None
    result = fit(model, hp_values, x, y, Fitting(64, "val_accuracy", "max", 5, seed), validation=validation,
                 budget=budget, epochs=epochs)
    return {k: [float(v) for v in vs] for k, vs in result.history.history.items()}


def extrapolate(val: list[float], at: int) -> float:
    """a + b*log(epoch) fitted to the val accuracies, read at epoch `at`."""
    import numpy as np
    b, a = np.polyfit(np.log(np.arange(1, len(val) + 1)), val, 1)
    return float(a + b * math.log(max(at, 1)))


def study_one(config: dict, splits: dict, args) -> dict:
    (x, y), validation = splits["train"], splits["val"]
    started = time.time()
    short = train(args.space, config["values"], x, y, validation, args.seed, SHORT_EPOCHS)
    part = stratified_quarter(y, args.seed)
    subset = train(args.space, config["values"], x[part], y[part], validation, args.seed, SUBSET_EPOCHS)
    small = train(args.space, {**config["values"], "crop_size": SMALL_CROP}, x, y, validation, args.seed,
                  SMALL_CROP_EPOCHS)
    long = train(args.space, config["values"], x, y, validation, args.seed, args.max_epochs, args.long_minutes)
    scores = {f"epochs{k}": short["val_accuracy"][k - 1] for k in (1, 2, 3)}
    scores |= {"loss_sum3": -sum(short["loss"]), "subset4": subset["val_accuracy"][-1],
               "crop40_2": small["val_accuracy"][-1], "extrapolated3": extrapolate(short["val_accuracy"], EXTRAPOLATE_AT)}
    return {**config, "scores": scores, "long_val_accuracy": max(long["val_accuracy"]),
            "long_epochs": len(long["val_accuracy"]), "minutes": round((time.time() - started) / 60, 2)}


def spearman(rows: list[dict]) -> dict:
    """{fidelity: Spearman's rho against the long run's val accuracy} (nan below 3 configurations)."""
    from scipy.stats import spearmanr
    long = [r["long_val_accuracy"] for r in rows]
    return {f: float(spearmanr([r["scores"][f] for r in rows], long)[0]) if len(rows) >= 3 else float("nan")
            for f in COST}


def choice(rhos: dict, target: float) -> tuple[str, float]:
    """The cheapest fidelity with rho at least `target`, else the best one."""
    ranked = [f for f in sorted(COST, key=COST.get) if not math.isnan(rhos[f])]
    good = [f for f in ranked if rhos[f] >= target]
    name = good[0] if good else max(ranked, key=rhos.get, default="epochs1")
    return name, rhos.get(name, float("nan"))


def build_parser() -> argparse.ArgumentParser:
    from fer.command import command_parser
    parser = command_parser(PROG, __doc__, ("python bench/fidelity_rank.py --configs 8 --long-minutes 20",))
    parser.add_argument("--space", default="cnn")
    parser.add_argument("--data", default="data/fer2013", help="a prepared FER-2013 folder (or demo)")
    parser.add_argument("--configs", type=int, default=8)
    parser.add_argument("--long-minutes", type=float, default=20.0, help="each long training's wall clock")
    parser.add_argument("--max-epochs", type=int, default=100, help="the cap the long schedule is planned over")
    parser.add_argument("--target", type=float, default=0.7, help="the rank correlation a fidelity must reach")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=Path("bench/results/fidelity_rank/run"))
    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    print(f"cpu flags: {tta_bench.cpu_flags()}; {os.cpu_count()} cores; {time.strftime('%Y-%m-%d %H:%M %Z')}", flush=True)
    try:
        if args.configs < 3:
            raise UserError(f"--configs {args.configs}: a rank correlation needs at least 3")
        args.out.mkdir(parents=True, exist_ok=True)
        record = args.out / "configs.json"
        rows = json.loads(record.read_text()) if record.is_file() else []
        import keras
        keras.mixed_precision.set_global_policy("float32")
        splits = None
        for config in configurations(args.space, args.configs, args.seed)[len(rows):]:
            splits = splits or {k: v for k, v in tta_bench.load_splits(args.data).items() if k != "test"}
            rows.append(study_one(config, splits, args))
            from fer.cache import atomic_write_text
            atomic_write_text(record, json.dumps(rows, indent=2) + "\n")  # resumable at the next configuration
            print(f"{rows[-1]['name']}: long val {rows[-1]['long_val_accuracy']:.4f} ({rows[-1]['long_epochs']} epochs); "
                  + ", ".join(f"{k} {v:.4f}" for k, v in rows[-1]["scores"].items()), flush=True)
    except UserError as e:
        return print_user_error(e, PROG)
    rhos = spearman(rows)
    for name in sorted(COST, key=COST.get):
        print(f"  {name:14s} cost {COST[name]:g} epoch{'s' * (COST[name] != 1)}  spearman {rhos[name]:.3f}")
    name, rho = choice(rhos, args.target)
    print(f"fidelity={name} spearman={rho:.3f} configs={len(rows)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
