"""search.run on tiny demo data: each tuner, seeding, failures, resume, leaderboard, console."""
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import keras_tuner as kt
import numpy as np
import pytest

from conftest import SMALL_CNN, search_args
from search import leaderboard
from search.config import RunConfig
from search.training import NanGuard
from search.run import main
from spaces import SPACES

ROOT = Path(__file__).resolve().parents[1]


def load_oracle_trials(project_dir: Path) -> dict:
    """keras-tuner's own records: trial id -> (status, score, hyperparameter values)."""
    out = {}
    for f in project_dir.glob("trial_*/trial.json"):
        t = json.loads(f.read_text())
        out[t["trial_id"]] = (t["status"], t["score"], t["hyperparameters"]["values"])
    return out


@pytest.mark.parametrize("tuner", ["hyperband", "bayesian", "random"])
def test_each_tuner_completes_a_tiny_search(workdir, tiny_demo, capsys, tuner):
    args = search_args(tiny_demo, f"t-{tuner}", "--space", "baseline", "--tuner", tuner, "--max-trials", 2,
                       "--max-epochs", 2, "--objective", "val_macro_f1")
    assert main(args) == 0
    project = workdir / "tuner_runs" / f"t-{tuner}"
    rows = leaderboard.read_csv(project)
    oracle = load_oracle_trials(project)
    assert len(rows) == len(oracle) == 2
    for row in rows:  # the CSV matches the tuner's own records
        status, score, values = oracle[row["trial_id"]]
        assert row["status"] == status == "COMPLETED"
        assert float(row["objective"]) == pytest.approx(score)
        assert float(row["val_macro_f1"]) == pytest.approx(score)
        assert 0 <= float(row["val_accuracy"]) <= 1 and int(row["epochs"]) >= 1 and float(row["seconds"]) > 0
        rate = "sgd_learning_rate" if values["optimizer"] == "sgd" else "learning_rate"  # each optimizer's own
        assert float(row[rate]) == pytest.approx(values[rate])
        assert row["precision"] == "float32"
    config = json.loads((project / "config.json").read_text())
    assert config["space"] == "baseline" and config["tuner"] == tuner and config["max_trials"] == 2
    assert config["resolved"]["data_is_demo"] is True and config["resolved"]["val_images"] == 56
    out = capsys.readouterr().out
    assert "final leaderboard" in out and "not FER-2013" in out  # plain mode prints the final table
    best = max(rows, key=lambda r: float(r["objective"]))
    marked = [line.split("|") for line in out[out.index("final leaderboard"):].splitlines() if line.startswith("| * |")]
    assert len(marked) == 1 and marked[0][2].strip() == best["trial_id"]


def test_same_seed_same_hyperparameters(workdir):
    """The tuner search.run makes draws the same points for the same --seed (the oracle alone: what
    it proposes does not depend on training)."""
    from search.run import build_parser, config_from_args
    from search.tuners import search_tuner

    def hps(project, seed):
        args = build_parser().parse_args(["--space", "cnn", "--tuner", "random", "--max-trials", "3",
                                          "--seed", str(seed), "--project", project])
        config = config_from_args(args)
        tuner = search_tuner(config, overwrite=True)
        return [tuner.oracle.create_trial(f"tuner{i}").hyperparameters.values for i in range(3)]
    a, b, c = hps("a", 7), hps("b", 7), hps("c", 8)
    assert a == b and a != c and len(a) == 3 and len({str(v) for v in a}) == 3


def test_balanced_class_weights_are_drawn_only_when_pinned(workdir):
    """A random search never draws class_weight=balanced; --fix class_weight=balanced gives it to
    every trial, and it reaches fit as the balanced weights (the oracle alone: no training)."""
    from search.run import build_parser, config_from_args
    from search.tuners import search_tuner
    from spaces.common import class_weights

    def drawn(project, *fix):
        args = build_parser().parse_args(["--space", "cnn", "--tuner", "random", "--max-trials", "12",
                                          "--seed", "3", "--project", project, *fix])
        config = config_from_args(args)
        tuner = search_tuner(config, overwrite=True)
        return [tuner.oracle.create_trial(f"tuner{i}").hyperparameters.get("class_weight") for i in range(12)]
    free, pinned = drawn("free"), drawn("pinned", "--fix", "class_weight=balanced")
    assert set(free) == {"none", "sqrt"} and pinned == ["balanced"] * 12
    y = np.array([0] * 90 + [1] * 10)
    assert class_weights(pinned[0], y, 2) == pytest.approx({0: 100 / 180, 1: 100 / 20})


def test_failing_trial_is_recorded_and_search_goes_on(workdir, tiny_demo, monkeypatch):
    from search import portfolio
    monkeypatch.setitem(SPACES, "broken", "broken_space")
    monkeypatch.setattr(portfolio, "NEIGHBOUR_SHARE", 0.0)  # keras-tuner's own draws: some fail
    assert main(search_args(tiny_demo, "broken", "--space", "broken", "--tuner", "random", "--max-trials", 6,
                            "--max-epochs", 1, "--seed", 0)) == 0
    rows = leaderboard.read_csv(workdir / "tuner_runs" / "broken")
    failed = [r for r in rows if r["status"] == "FAILED"]
    done = [r for r in rows if r["status"] == "COMPLETED"]
    assert failed and done and len(rows) == 6
    assert all(r["mode"] == "fail" and "impossible combination: mode=fail" in r["reason"] for r in failed)
    assert all(r["mode"] == "ok" for r in done)


def test_nan_loss_fails_the_trial_with_its_reason():
    with pytest.raises(kt.errors.FailedTrialError, match="loss became nan at batch 3"):
        NanGuard().on_train_batch_end(2, {"loss": float("nan")})
    NanGuard().on_train_batch_end(0, {"loss": 1.5})  # finite: nothing happens


def test_existing_project_needs_resume_or_overwrite(workdir, tiny_demo, capsys):
    args = search_args(tiny_demo, "p", "--space", "baseline", "--tuner", "random", "--max-trials", 1, "--max-epochs", 1)
    assert main(args) == 0
    capsys.readouterr()
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--resume" in err and "--overwrite" in err
    assert main(args + ["--overwrite"]) == 0
    assert main(search_args(tiny_demo, "q", "--resume")) == 2  # nothing to resume
    assert main(search_args(workdir / "missing", "r")) == 2   # no prepared data


def test_resume_after_kill_keeps_completed_trials(workdir, tiny_demo):
    args = search_args(tiny_demo, "k", "--space", "cnn", "--tuner", "random", "--max-trials", 3, "--max-epochs", 2,
                       "--seed", 3, *SMALL_CNN)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-m", "search.run", *args], cwd=workdir, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    board = workdir / "tuner_runs" / "k" / "leaderboard.csv"
    deadline = time.time() + 240
    while time.time() < deadline and proc.poll() is None:
        if board.is_file() and len(leaderboard.read_csv(board.parent)) >= 1:
            break
        time.sleep(0.2)
    assert proc.poll() is None, "search ended before it could be killed"
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    before = {r["trial_id"]: r for r in leaderboard.read_csv(board.parent) if r["status"] == "COMPLETED"}
    assert 1 <= len(before) < 3
    assert main(args + ["--resume"]) == 0
    after = leaderboard.read_csv(board.parent)
    ids = [r["trial_id"] for r in after]
    assert len(ids) == len(set(ids)) == 3 and all(r["status"] == "COMPLETED" for r in after)
    for trial_id, row in before.items():  # completed trials kept, not re-run
        again = next(r for r in after if r["trial_id"] == trial_id)
        assert again["objective"] == row["objective"] and again["seconds"] == row["seconds"]


def test_run_config_round_trips(tmp_path):
    c = RunConfig(space="mobilenet", tuner="bayesian", runs_dir=str(tmp_path), weights=None, max_trials=7)
    c.project_dir.mkdir(parents=True)
    (c.project_dir / "config.json").write_text(c.to_json())
    back = RunConfig.load(c.project_dir)
    assert back.project_name == "mobilenet-bayesian" and back.max_trials == 7 and back.weights is None


def test_fixed_hyperparameters_hold_in_every_trial(workdir, tiny_demo, capsys):
    args = search_args(tiny_demo, "fixed", "--space", "baseline", "--tuner", "random", "--max-trials", 3,
                       "--max-epochs", 1, "--fix", "learning_rate=0.002", "--fix", "augment=off")
    assert main(args) == 0
    rows = leaderboard.read_csv(workdir / "tuner_runs" / "fixed")
    assert len(rows) == 3 and {r["learning_rate"] for r in rows} == {"0.002"} and {r["augment"] for r in rows} == {"off"}
    assert len({r["dropout"] for r in rows}) > 1  # the rest is still searched
    config = json.loads((workdir / "tuner_runs" / "fixed" / "config.json").read_text())
    assert config["fixed"] == {"learning_rate": 0.002, "augment": "off"}
    assert main(search_args(tiny_demo, "bad", "--fix", "learning_rate")) == 2
    assert "--fix 'learning_rate': expected NAME=VALUE" in capsys.readouterr().err


@pytest.mark.graph_mode  # --precision auto times traced steps, as a user's search does
def test_quick_holds_the_plain_recipe_and_the_cnn_width_unless_fixed_otherwise(workdir, tiny_demo, capsys,
                                                                                 monkeypatch):
    from search import precision
    from spaces.cnn import QUICK_FIX
    monkeypatch.setattr(precision, "has_cuda_gpu", lambda: False)  # the timing below is a CPU's
    args = search_args(tiny_demo, "quick", "--space", "cnn", "--tuner", "random", "--quick", "--max-trials", 2,
                       "--max-epochs", 1, "--fix", "filters=16", "--fix", "conv_blocks=2", "--precision", "auto")
    assert main(args) == 0
    rows = leaderboard.read_csv(workdir / "tuner_runs" / "quick")
    assert len(rows) == 2
    for r in rows:
        assert (r["optimizer"], r["lr_schedule"], r["filters"], r["convs_per_block"]) == ("adam", "plateau", "16", "2")
        assert float(r["mixup"]) == 0.0 and float(r["label_smoothing"]) == 0.0
    config = json.loads((workdir / "tuner_runs" / "quick" / "config.json").read_text())
    assert config["fixed"] == {**QUICK_FIX, "filters": 16, "conv_blocks": 2} and QUICK_FIX["filters"] == 32  # --fix wins
    assert "held at one value: optimizer=adam, lr_schedule=plateau" in capsys.readouterr().out
    # --precision auto timed the held point (16 filters), not the space's default, and keyed it so
    cache = json.loads((workdir / "tuner_runs" / ".precision_cache.json").read_text())
    assert [k for k in cache if k.startswith("cnn|") and '"filters": 16' in k]
    # a resumed search keeps what it held: keras-tuner reloads its space, so another --fix would not reach it
    assert main(search_args(tiny_demo, "quick", "--space", "cnn", "--tuner", "random", "--resume",
                            "--fix", "filters=32")) == 2
    assert "--resume: " in capsys.readouterr().err


def test_auto_precision_takes_bfloat16_only_when_clearly_faster():
    from search.precision import MARGIN, faster_policy
    assert faster_policy({"float32": 0.158, "mixed_bfloat16": 0.1569}) == "float32"  # a tie stays float32
    assert faster_policy({"float32": 0.2, "mixed_bfloat16": 0.3}) == "float32"
    assert faster_policy({"float32": 0.3, "mixed_bfloat16": 0.1}) == "mixed_bfloat16"
    edge = 1.0 - MARGIN
    assert faster_policy({"float32": 1.0, "mixed_bfloat16": edge - 0.01}) == "mixed_bfloat16"
    assert faster_policy({"float32": 1.0, "mixed_bfloat16": edge + 0.01}) == "float32"


def test_auto_precision_rejudges_a_tie_cached_under_the_old_rule(tmp_path, monkeypatch):
    from search import precision
    monkeypatch.setattr(precision, "has_cuda_gpu", lambda: False)
    key = precision.cache_key("cnn", {"filters": 32})
    tie = {"policy": "mixed_bfloat16", "how": "measured", "seconds_per_step": {"float32": 0.158, "mixed_bfloat16": 0.1569}}
    (tmp_path / precision.CACHE_FILE).write_text(json.dumps({key: tie}))

    def not_timed_again(hp):
        raise AssertionError("a cached space was timed again")
    chosen = precision.choose("auto", "cnn", not_timed_again, (48, 48, 1), str(tmp_path), {"filters": 32})
    assert chosen["policy"] == "float32" and chosen["seconds_per_step"] == tie["seconds_per_step"]
    assert json.loads((tmp_path / precision.CACHE_FILE).read_text())[key]["policy"] == "float32"  # rewritten


def test_resume_keeps_the_searchs_settings_unless_given_again(workdir, tiny_demo):
    first = search_args(tiny_demo, "keep", "--space", "baseline", "--tuner", "random", "--max-trials", 1,
                        "--max-epochs", 2, "--patience", 7)
    assert main(first) == 0
    assert main(["--project", "keep", "--space", "baseline", "--tuner", "random", "--resume", "--max-trials", "2",
                 "--plain", "--precision", "float32"]) == 0  # no --data, --max-epochs, --batch-size, --patience
    config = json.loads((workdir / "tuner_runs" / "keep" / "config.json").read_text())
    assert (config["max_trials"], config["max_epochs"], config["batch_size"], config["patience"]) == (2, 2, 32, 7)
    assert config["data"] == str(tiny_demo) and len(leaderboard.read_csv(workdir / "tuner_runs" / "keep")) == 2
