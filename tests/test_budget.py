"""Search budgets: whole Hyperband plans, and the wall-clock --time-budget (issue 11)."""
import json

import pytest

from conftest import search_args
from fer.errors import UserError
from search import budget, leaderboard, pace, tuners
from search.budget import parse_duration
from search.run import main


@pytest.mark.parametrize("text,seconds", [("90m", 5400), ("2h", 7200), ("1h30m", 5400), ("45s", 45),
                                          ("1.5h", 5400), (" 2H ", 7200)])
def test_durations_parse(text, seconds):
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "90", "abc", "0m", "1m1m", "m30", "1h-5m"])
def test_bad_durations_are_one_line_errors(text):
    with pytest.raises(UserError, match="--time-budget"):
        parse_duration(text)


def test_whole_hyperband_plan_trains_the_best_configuration_to_max_epochs(workdir, tiny_demo, capsys):
    """No --max-trials: the whole plan runs (6 trials at 3 epochs), so the best round-0 configuration
    is continued to 3 epochs, and the start-up lines print the plan."""
    assert main(search_args(tiny_demo, "hb", "--space", "baseline", "--max-epochs", 3)) == 0
    out = capsys.readouterr().out
    assert "bracket 1: 3 x 1 -> 1 x 3 epochs" in out and "bracket 0: 2 x 3 epochs" in out
    assert "6 trials, 11 epochs of training" in out and "cuts this plan" not in out
    rows = leaderboard.read_csv(workdir / "tuner_runs" / "hb")
    assert len(rows) == 6 and all(r["status"] == "COMPLETED" for r in rows)
    first = [r for r in rows if r["bracket"] == "1" and r["round"] == "0"]
    continued = [r for r in rows if r["bracket"] == "1" and r["round"] == "1"]
    assert len(first) == 3 and len(continued) == 1
    best_first = max(first, key=lambda r: float(r["objective"]))
    hps = [h for h in leaderboard.hp_columns(rows)]
    same = [r for r in continued if all(r[h] == best_first[h] for h in hps)]
    assert same, "the best 2-epoch configuration was not continued"
    record = json.loads((workdir / "tuner_runs" / "hb" / f"trial_{same[0]['trial_id']}" / "trial.json").read_text())
    assert record["hyperparameters"]["values"]["tuner/epochs"] == 3


def test_a_max_trials_cap_says_how_it_cuts_the_plan(workdir, tiny_demo, capsys):
    assert main(search_args(tiny_demo, "cap", "--space", "baseline", "--max-epochs", 6, "--max-trials", 3)) == 0
    out = capsys.readouterr().out
    assert ("--max-trials 3 cuts this plan: bracket 1 round 0 runs 3 of its 5 trials; 2 later rounds never run; "
            "6 epochs of training, and no configuration trains beyond 2 epochs (the whole plan reaches 6)") in out
    assert len(leaderboard.read_csv(workdir / "tuner_runs" / "cap")) == 3


@pytest.fixture
def fake_clock(monkeypatch):
    """Wall clock that moves 100 s at the end of every training epoch of a search, and not otherwise."""
    now = {"t": 1_000_000.0}
    monkeypatch.setattr(budget, "now", lambda: now["t"])
    original = tuners.ReportingMixin.on_epoch_end

    def on_epoch_end(self, trial, model, epoch, logs=None):
        now["t"] += 100.0
        return original(self, trial, model, epoch, logs=logs)

    monkeypatch.setattr(tuners.ReportingMixin, "on_epoch_end", on_epoch_end)
    return now


def test_time_budget_stops_before_an_epoch_that_would_not_fit_and_resume_continues(workdir, tiny_demo, capsys,
                                                                                   fake_clock):
    args = search_args(tiny_demo, "tb", "--space", "baseline", "--tuner", "random", "--max-trials", 10,
                       "--max-epochs", 4, "--patience", 10)
    assert main([*args, "--time-budget", "250s"]) == 0
    project = workdir / "tuner_runs" / "tb"
    rows = leaderboard.read_csv(project)
    # epochs of 100 s end at 100 and 200 s: a third would end at 300 > 250, so the trial stops after its
    # second epoch and keeps it; 50 s are left, less than an epoch, so no other trial starts
    assert [r["status"] for r in rows] == ["COMPLETED"]
    assert rows[0]["epochs"] == "2" and rows[0]["cut_by_budget"] == "yes" and float(rows[0]["objective"]) > 0
    assert "time budget spent" in capsys.readouterr().out
    sessions = json.loads((project / "budget.json").read_text())
    assert len(sessions) == 1 and sessions[0]["budget_seconds"] == 250 and sessions[0]["stopped_by_budget"]

    assert main([*args, "--resume", "--time-budget", "450s"]) == 0  # 4 more epochs fit, not a fifth
    rows = leaderboard.read_csv(project)
    assert len(rows) == 2 and all(r["status"] == "COMPLETED" for r in rows)
    assert [r["epochs"] for r in rows] == ["2", "4"] and [r["cut_by_budget"] for r in rows] == ["yes", ""]
    assert len(json.loads((project / "budget.json").read_text())) == 2


def test_a_budget_smaller_than_one_epoch_is_a_one_line_error(workdir, tiny_demo, capsys, monkeypatch):
    monkeypatch.setattr(pace, "estimate_epoch_seconds", lambda config, n_train: 120.0)
    code = main(search_args(tiny_demo, "small", "--space", "baseline", "--time-budget", "1m"))
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1
    assert "--time-budget 1m" in err and "2m00s" in err
    assert not (workdir / "tuner_runs" / "small").exists()


@pytest.mark.parametrize("leaving,seconds_left,by_budget", [("budget", 600, True), ("done", 600, False),
                                                            ("recycled", -1, True)])
def test_the_chief_records_a_budget_stop_its_workers_report(tmp_path, leaving, seconds_left, by_budget):
    """A local worker whose next trial would not fit the budget exits with BUDGET_EXIT before the
    deadline; the chief must still record the session as stopped by the budget (a clean-clone CI
    run once saw both workers stop at 16 s of a 20 s budget and budget.json say otherwise). A
    worker leaving to be recycled after the deadline is not restarted (these have no command to
    restart with: a restart would fail the test)."""
    import subprocess
    import sys
    import threading
    from types import SimpleNamespace

    from search.distributed.chief import Chief, free_port
    from search.distributed.workers import BUDGET_EXIT, RECYCLE_EXIT
    # statuses no other exit means: success 0, failure 1, a user's error 2, a shell's 126-127, a signal's 128+
    assert len({BUDGET_EXIT, RECYCLE_EXIT, 0, 1, 2}) == 5 and max(BUDGET_EXIT, RECYCLE_EXIT) < 126
    exit_status = {"budget": BUDGET_EXIT, "done": 0, "recycled": RECYCLE_EXIT}[leaving]
    elsewhere = SimpleNamespace(trial_id="9")  # a trial running on a remote worker: the deadline alone ends nothing
    oracle = SimpleNamespace(ongoing_trials={"remote": elsewhere}, tuner_ids=set(), verbose=1,
                             create_trial=lambda tuner_id: None, end_trial=lambda trial: None)
    tuner = SimpleNamespace(oracle=oracle, console=None, fer_config=SimpleNamespace(project_dir=tmp_path),
                            budget=budget.TimeBudget.starting_now(seconds_left), save=lambda: None)
    exit_with = [sys.executable, "-c", f"raise SystemExit({exit_status})"]
    workers = [{"tuner_id": f"tuner{k}", "proc": subprocess.Popen(exit_with)} for k in range(2)]
    chief = Chief(tuner)
    serving = threading.Thread(target=chief.serve, args=("127.0.0.1", free_port(), workers), daemon=True)
    serving.start()
    serving.join(timeout=30)
    assert not serving.is_alive(), "the chief kept serving after every worker had left"
    assert all(w["gone"] for w in workers) and chief.stopped_by_budget is by_budget
    assert all(w["proc"].returncode == exit_status for w in workers)  # none was restarted


@pytest.mark.parametrize("code,local,status", [(76, True, 76), (76, False, 0), (75, True, 75), (0, False, 0),
                                               (1, False, 1)])
def test_a_worker_says_budget_only_to_a_local_chief(code, local, status):
    from search.distributed.roles import worker_exit_status
    from search.distributed.workers import PARENT_ENV
    assert worker_exit_status(code, {PARENT_ENV: "123"} if local else {}) == status
