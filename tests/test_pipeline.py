"""`search.run --time-budget D --report` (search.pipeline): the plan, the report in the same command
inside the budget, and --resume continuing an interrupted plan."""
import json
import time

from search import pipeline
from search import run as run_cli
from search.report import run_report
from tests.conftest import search_args

BUDGET_SECONDS = 40


SEARCH = ("--space", "baseline", "--tuner", "random", "--max-epochs", 1)


def pipeline_args(tiny_demo, *extra):
    return search_args(tiny_demo, "p", *SEARCH, "--time-budget", f"{BUDGET_SECONDS}s", "--report", *extra)


def test_the_whole_command_stays_inside_its_budget_and_records_its_plan(workdir, tiny_demo, capsys):
    started = time.time()
    assert run_cli.main(pipeline_args(tiny_demo)) == 0
    wall = time.time() - started
    assert wall <= BUDGET_SECONDS * 1.03, wall
    out = capsys.readouterr().out
    assert "plan for 0m40s: one epoch of the search's first point takes" in out
    config = json.loads((workdir / "tuner_runs/p/config.json").read_text())
    plan = config["resolved"]["plan"]
    assert (config["max_trials"], config["max_epochs"]) == (plan["trials"], plan["trial_epochs"])  # the plan ran
    assert plan["winners"] >= 1 and plan["final_epochs"] >= 1
    assert len(list((workdir / "tuner_runs/p").glob("trial_*"))) <= plan["trials"]
    metrics = json.loads((workdir / "reports/p/metrics.json").read_text())
    from search import leaderboard
    completed = [r for r in leaderboard.read_csv(workdir / "tuner_runs/p") if r["status"] == "COMPLETED"]
    assert len([m for m in metrics["models"] if m["name"] != "ensemble"]) == min(plan["winners"], len(completed))
    assert json.loads((workdir / "tuner_runs/p/pipeline.json").read_text())["phase"] == "done"
    report = json.loads((workdir / "reports/p/report_config.json").read_text())
    assert report["tta_budget"] == f"{int(plan['total_seconds'])}s"  # TTA judged as the plan judged it


def test_a_run_interrupted_after_its_search_resumes_into_its_report(workdir, tiny_demo, monkeypatch):
    calls = []
    real = run_report.report_run

    def interrupted(*args, **kwargs):
        calls.append("report")
        raise KeyboardInterrupt

    monkeypatch.setattr(run_report, "report_run", interrupted)
    assert run_cli.main(pipeline_args(tiny_demo)) == 130
    trials = sorted(p.name for p in (workdir / "tuner_runs/p").glob("trial_*"))
    assert calls == ["report"] and trials
    assert json.loads((workdir / "tuner_runs/p/pipeline.json").read_text())["phase"] == "report"
    monkeypatch.setattr(run_report, "report_run", real)
    assert run_cli.main(search_args(tiny_demo, "p", *SEARCH, "--resume")) == 0  # what the interruption printed
    assert sorted(p.name for p in (workdir / "tuner_runs/p").glob("trial_*")) == trials  # no trial re-run
    assert (workdir / "reports/p/metrics.json").is_file()
    assert pipeline.read_state(workdir / "tuner_runs/p")["phase"] == "done"


def test_the_search_time_counts_a_session_killed_outright_by_its_trials(tmp_path):
    """--resume continues the plan with what is left of its search share: budget.json's sessions,
    plus the wall-clock span of the trials that ended after the last of them (a session killed
    outright logs none); parallel workers' trials overlap and count once."""
    def trial(n, ended, seconds):
        (tmp_path / f"trial_{n}").mkdir()
        (tmp_path / f"trial_{n}" / "fer_trial.json").write_text(json.dumps({"ended": ended, "seconds": seconds}))
    trial(0, 1100.0, 100.0)  # in the logged session (1000-1190)
    trial(1, 2100.0, 80.0)   # two workers of a session killed outright: 2020-2100 and 2050-2150
    trial(2, 2150.0, 100.0)
    assert pipeline.searched_seconds(tmp_path) == 1150.0  # no session logged: all the trials' span, 1000-2150
    (tmp_path / "budget.json").write_text(json.dumps([{"wall_seconds": 190.0, "ended": 1190.0}]))
    assert pipeline.searched_seconds(tmp_path) == 190.0 + 130.0
    (tmp_path / "budget.json").write_text(json.dumps([{"wall_seconds": 190.0, "ended": 1190.0},
                                                      {"wall_seconds": 200.0, "ended": 2200.0}]))
    assert pipeline.searched_seconds(tmp_path) == 390.0  # every trial inside a logged session
