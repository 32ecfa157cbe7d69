"""Do random points learn? How many trials of a random search end their first round at the majority class.

Why: on the real data, 4 of the 6 trials of a quick search stayed at or below the majority class
(20-25% validation accuracy: SGD at 2e-3, RMSprop at 5-7e-3, 2 epochs): most of the budget went to
points that learned nothing. The goal is fewer than 1 trial in 5. This runs the harness's own
`python -m search.run --tuner random --max-epochs 2` per space, nothing pinned, and prints per
trial its key hyperparameters, validation accuracy and whether that is at or below the majority
rate of the data's validation split (+ --margin, 1 point: a net calling nearly every face 'happy'
scores a hair above it), then "k of n at the majority class" per space.

--parallel P splits each space's trials over P ordinary random searches (seeds seed..seed+P-1), all
run at once: GPU steps of these small nets are mostly Python's overhead, so 10+ trials per space fit
a few minutes. Every search gets --time-budget and is stopped --grace seconds after it; trials cut by
the budget before their last epoch, and failed ones, are listed but not counted. Nothing is pinned;
bench/experiments/gpu_recipe.sh passes --batch-size 128 (a run flag, not a hyperparameter): half the updates of
64 in the 2 epochs, so if anything it makes learning in the first round harder, not easier.

    python bench/bench_random_points.py --data data/fer2013 --spaces cnn resnet --max-trials 12 \
        --parallel 4 --batch-size 128 --time-budget 100s --out random_points.csv

On a 2-core CPU a round of the whole train split takes 10-15 minutes per trial (and a random cnn
point trains at 12-35 img/s); --train-sample and --val-sample search stratified samples instead
(fewer steps per round: a harder test, not an easier one):

    python bench/bench_random_points.py --data data/fer2013 --spaces cnn --max-trials 10 \
        --train-sample 4000 --val-sample 1000 --precision float32 --out bench/results/random_points/random_points_cpu.csv
"""
import argparse
import csv
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # the project, also where it is not pip-installed (the device machine)
from fer.constants import NUM_CLASSES  # noqa: E402 - after the path above
RUNS = ROOT / "tuner_runs"
SHOW = {"optimizer": ("opt", 5), "lr": ("lr", 7), "weight_decay": ("decay", 5), "lr_schedule": ("sched", 7),
        "arch": ("arch", 8), "batch_norm": ("bn", 5), "augment": ("aug", 6), "mixup": ("mixup", 5),
        "label_smoothing": ("smooth", 6), "class_weight": ("weights", 8)}  # column: (header, width)


def majority_rate(data: str) -> float:
    y = np.load((ROOT / "data/demo" if data == "demo" else Path(data)) / "y_val.npy")
    return float(np.bincount(y).max() / len(y))


def stratified(y: np.ndarray, n: int, rng) -> np.ndarray:
    """Sorted indices of about n items of y with y's class proportions."""
    return np.sort(np.concatenate([rng.permutation(np.flatnonzero(y == c))[:round(n * np.mean(y == c))]
                                   for c in np.unique(y)]))


def sampled_data(data: str, sizes: dict, seed: int) -> str:
    """A prepared folder holding stratified samples of the splits named in `sizes` ({"train": 4000,
    "val": 1000}) and the rest whole (tuner_runs/rp-data/): the first round of a search on a 2-core
    CPU then takes minutes. Fewer training faces mean fewer steps in the round, so a point that
    leaves the majority class here would leave it on the whole split too; not the other way round.
    The validation sample keeps the split's class proportions, hence its majority rate."""
    import json

    from fer.cache import sha256_file
    from fer.dataset import Dataset
    ds, rng = Dataset.open(data), np.random.default_rng(seed)
    meta = json.loads((Path(data) / "meta.json").read_text())
    out = RUNS / "rp-data" / ("-".join(f"{s}{n}" for s, n in sizes.items() if n) + f"-seed{seed}")
    out.mkdir(parents=True, exist_ok=True)
    for split in ("train", "val", "test"):
        x, y = ds.split(split)
        keep = stratified(np.asarray(y), sizes[split], rng) if sizes.get(split) else np.arange(len(y))
        np.save(out / f"x_{split}.npy", np.asarray(x[keep]))
        np.save(out / f"y_{split}.npy", np.asarray(y[keep]))
        meta["counts"][split] = int(len(keep))
        meta.get("split", {}).pop("counts", None)  # per class: the sample's are its own
    meta["sha256"] = {f.name: sha256_file(f) for f in sorted(out.glob("*.npy"))}
    meta["sampled"] = {"from": str(Path(data).resolve()), **meta["counts"], "seed": seed,
                       "by": "bench/bench_random_points.py --train-sample/--val-sample"}
    (out / "meta.json").write_text(json.dumps(meta, indent=2) + "\n")
    print(f"data: a stratified sample of {data}: {meta['counts']} faces -> {out}")
    return str(out)


def launch(space: str, part: int, trials: int, a, extra: list[str], env: dict) -> tuple:
    project = f"rp-{space}-{part}"
    cmd = [sys.executable, "-m", "search.run", "--space", space, "--tuner", "random", "--data", a.data,
           "--max-trials", str(trials), "--max-epochs", str(a.max_epochs), "--seed", str(a.seed + part),
           "--project", project, "--overwrite", "--plain", "--no-tensorboard"]
    cmd += ["--time-budget", a.time_budget] if a.time_budget else []
    cmd += ["--batch-size", str(a.batch_size)] if a.batch_size else []
    log = RUNS / "rp-logs" / f"{project}.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    print("$ python", " ".join(cmd[1:]), f"> {log}", flush=True)
    return project, log, subprocess.Popen(cmd + extra, stdout=open(log, "w"), stderr=subprocess.STDOUT, env=env, cwd=ROOT)


def wait_all(procs: list, limit: float | None) -> None:
    """Wait for every search; at the limit, stop those still running (all at once) and go on."""
    end = None if limit is None else time.time() + limit
    for project, log, p in procs:
        try:
            p.wait(None if end is None else max(0.1, end - time.time()))
        except subprocess.TimeoutExpired:
            print(f"{project}: still running at the limit; stopped (its leaderboard counts as it is)", flush=True)
            p.terminate()
    for project, log, p in procs:
        try:
            p.wait(10)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
        if p.returncode:
            print(f"{project}: exit status {p.returncode}; the end of {log}:", flush=True)
            print("".join(open(log).readlines()[-15:]), flush=True)


def trial_view(row: dict) -> dict:
    opt = row.get("optimizer", "")
    lr = row.get("sgd_learning_rate") if opt == "sgd" else row.get("learning_rate")
    lean = "L" if str(row.get("lean_first_block")) == "True" else ""  # one conv in the first block
    arch = (f"{row['conv_blocks']}x{row['filters']}x{row['convs_per_block']}{lean}" if row.get("conv_blocks")
            else f"{row.get('blocks', '?')}@{row.get('width', '?')}")
    return {**row, "lr": f"{float(lr):.2g}" if lr else "", "arch": arch,
            "weight_decay": f"{float(row['weight_decay']):.1g}" if row.get("weight_decay") else ""}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", default="data/fer2013")
    p.add_argument("--spaces", nargs="+", default=["cnn", "resnet"])
    p.add_argument("--max-trials", type=int, default=12, help="per space")
    p.add_argument("--max-epochs", type=int, default=2, help="the first round's length")
    p.add_argument("--parallel", type=int, default=1, help="searches per space run at once")
    p.add_argument("--batch-size", type=int, default=None, help="search.run's (64) when not given")
    p.add_argument("--time-budget", default=None, help="passed to every search.run, e.g. 100s")
    p.add_argument("--grace", type=float, default=60.0, help="seconds after the budget: start-up, the last epoch")
    p.add_argument("--train-sample", type=int, default=None,
                   help="search a stratified sample of this many training faces (a 2-core CPU's budget)")
    p.add_argument("--val-sample", type=int, default=None, help="and validate on this many")
    p.add_argument("--margin", type=float, default=0.01, help="above the majority rate still counted as majority")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default=None, help="also write every trial's row to this CSV")
    a, extra = p.parse_known_args()  # anything else goes to search.run as is (e.g. --precision float32)
    extra = [x for x in extra if x != "--"]
    a.data = a.data if a.data == "demo" else str(Path(a.data).resolve())  # the searches run in ROOT
    if (a.train_sample or a.val_sample) and a.data != "demo":
        a.data = sampled_data(a.data, {"train": a.train_sample, "val": a.val_sample}, a.seed)
    env = dict(os.environ)
    env.setdefault("OMP_NUM_THREADS", str(max(1, (os.cpu_count() or 1) // (a.parallel * len(a.spaces)))))
    per = -(-a.max_trials // a.parallel)
    started = time.time()
    procs = [launch(s, i, min(per, a.max_trials - i * per), a, extra, env)
             for s in a.spaces for i in range(a.parallel) if a.max_trials - i * per > 0]
    from search.budget import parse_duration
    wait_all(procs, parse_duration(a.time_budget) + a.grace if a.time_budget else None)
    wall, rate = time.time() - started, majority_rate(a.data)
    bar = rate + a.margin
    one_class_f1 = 2 * rate / (1 + rate) / NUM_CLASSES  # the macro-F1 of calling every face the majority class
    print(f"\nmajority class of the validation split: {rate:.1%}; counted at the majority class: val acc <= {bar:.1%}"
          f"\n(calling every face the majority class scores macro-F1 {one_class_f1:.3f}: class weights can put a"
          f" learning net's accuracy below the majority rate, so each trial's macro-F1 is shown beside it)")
    rows, summary = [], []
    for space in a.spaces:
        mine = []
        for project, _, _ in (x for x in procs if x[0].startswith(f"rp-{space}-")):
            board = RUNS / project / "leaderboard.csv"
            mine += [{**r, "space": space, "project": project} for r in csv.DictReader(open(board))] if board.is_file() else []
        print(f"\n{space}: {len(mine)} trials")
        print(f"  {'search':>11s} ep " + " ".join(f"{h:>{w}s}" for h, w in SHOW.values()) + " val_acc val_f1")
        counted = at_majority = failed = cut = 0
        f1s = []
        for r in mine:
            v = trial_view(r)
            acc = float(r["val_accuracy"]) if r.get("val_accuracy") else None
            full = r["status"] == "COMPLETED" and not r.get("cut_by_budget") and int(r.get("epochs") or 0) >= a.max_epochs
            if r["status"] != "COMPLETED":
                verdict, failed = f"{r['status']}: {r.get('reason', '')[:60]}", failed + 1
            elif not full:
                verdict, cut = "cut by the budget (not counted)", cut + 1
            else:
                counted += 1
                f1s.append(float(r.get("val_macro_f1") or "nan"))
                at_majority += acc is not None and acc <= bar
                verdict = "MAJORITY" if acc is not None and acc <= bar else "learns"
            v["verdict"] = verdict
            rows.append(v)
            print(f"  {r['project'][3:]:>8.8s}/{r['trial_id']:<2s} {r.get('epochs', ''):>2s} "
                  + " ".join(f"{str(v.get(c, '')):>{w}.{w}s}" for c, (_, w) in SHOW.items())
                  + f" {acc if acc is not None else float('nan'):7.3f} {float(r.get('val_macro_f1') or 'nan'):6.3f} {verdict}")
        met = counted >= 10 and at_majority * 5 < counted
        summary.append(f"{space}: {at_majority} of {counted} at the majority class ({cut} cut by the budget, {failed} failed);"
                       f" goal fewer than 1 in 5 over 10+ trials: {'met' if met else 'NOT met' if counted >= 10 else 'too few trials'};"
                       f" macro-F1 {min(f1s, default=float('nan')):.3f} at the lowest (one class: {one_class_f1:.3f})")
    print("\n" + "\n".join(summary) + f"\nwall clock {wall:.0f} s")
    if a.out and rows:
        cols = ["space", "project", "trial_id", "status", "epochs", "cut_by_budget", *SHOW, "val_accuracy",
                "val_macro_f1", "seconds", "precision", "verdict"]
        cols += list(dict.fromkeys(k for r in rows for k in r if k not in cols))  # and every hyperparameter
        with open(a.out, "w", newline="") as f:
            (w := csv.DictWriter(f, cols, extrasaction="ignore")).writeheader()
            w.writerows(rows)


if __name__ == "__main__":
    main()
