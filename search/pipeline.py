"""`search.run --time-budget 2h --report`: one duration for the search, the winners' retraining,
their scoring (TTA included) and the report.

Before the first trial the pace is measured (an epoch of the space's default model, a forward pass
per image) and search.planner splits the budget; the plan is printed and recorded in config.json.
The search runs under its share; then the report, in the same command, under what is left to the
deadline (search.report.report_budget keeps its scoring inside it). pipeline.json in the project
says which phase was reached, so `--resume` continues an interrupted plan: the rest of the search
and then the report, or the report alone once the search had ended.
"""
import json
from pathlib import Path

from fer.cache import atomic_write_text
from fer.errors import UserError
from search.budget import TimeBudget, fmt_duration, now, parse_duration
from search.planner import Pace, PipelinePlan, plan_lines, plan_pipeline

PIPELINE_FILE = "pipeline.json"
DEFAULT_TTA = "ten-crop"  # the one command scores TTA; the planner steps it down when it would not fit


def report_wishes(config) -> dict:
    """What the report is asked for: the recipe's [report] table over search.report's own defaults
    (its --top, and the search's --max-epochs as the epochs cap)."""
    from search.report.report_config import ReportConfig
    table = ((config.recipe or {}).get("contents") or {}).get("report") or {}
    return {"top": table.get("top", ReportConfig.top), "epochs": table.get("epochs", config.max_epochs),
            "tta": table.get("tta", DEFAULT_TTA), "retrain_fix": table.get("retrain_fix", {})}


def pace_builder(config):
    """build(hp) of the model the plan is paced on: the portfolio's first point (the search's first
    trial, and its likely winner) with the --fix pins over it, or the space's default point."""
    from search.fixed import fixed_point_builder
    from search.portfolio import load_portfolio
    from search.project import space_options
    points = load_portfolio(config.space)
    return fixed_point_builder(config, space_options(config), points[0].values if points else None)


def measured_plan(config, seconds: float, started: float, n_train: int, n_val: int, n_test: int) -> PipelinePlan:
    """The plan for `seconds` from `started` at the pace measured here (pace_builder's model)."""
    from search.pace import estimate_epoch_seconds, estimate_image_seconds
    wishes = report_wishes(config)
    build = pace_builder(config)
    pace = Pace(estimate_epoch_seconds(config, n_train, build), estimate_image_seconds(config, build), n_val, n_test)
    trial_epochs = hyperband_first_epochs(config.max_epochs) if config.tuner == "hyperband" else config.max_epochs
    return plan_pipeline(seconds, pace, trial_epochs=trial_epochs, max_trials=config.trials_cap,
                         top=wishes["top"], final_epochs_cap=wishes["epochs"], tta=wishes["tta"],
                         spent=now() - started)


def hyperband_first_epochs(max_epochs: int) -> int:
    """The epochs of the first round of Hyperband's most aggressive bracket (keras-tuner's own plan)."""
    import keras_tuner as kt

    from search.tuners import HYPERBAND_FACTOR
    oracle = kt.oracles.HyperbandOracle(kt.Objective("val_accuracy", "max"), max_epochs=max_epochs,
                                        factor=HYPERBAND_FACTOR)
    return oracle._get_epochs(oracle._get_num_brackets() - 1, 0)


def apply_plan(config, plan: PipelinePlan) -> None:
    """A random or Bayesian search runs the plan's trials at its fidelity (Hyperband keeps its own
    brackets, and the search's share of the budget stops them)."""
    if config.tuner != "hyperband":
        config.max_epochs, config.max_trials = plan.trial_epochs, plan.trials


def read_state(project_dir: Path) -> dict:
    path = Path(project_dir) / PIPELINE_FILE
    try:
        return json.loads(path.read_text()) if path.is_file() else {}
    except ValueError:
        raise UserError(f"{path}: damaged; delete it to resume the search as a search without its report") from None


def write_state(project_dir: Path, **fields) -> None:
    state = {**read_state(project_dir), **fields}
    atomic_write_text(Path(project_dir) / PIPELINE_FILE, json.dumps(state, indent=2) + "\n")


def start_search_share(config, ds, data: tuple, started: float, console_lines: list) -> TimeBudget:
    """Plan (or, on --resume, continue the plan of) the pipeline; the search's TimeBudget. The plan
    goes into config.resolved["plan"] and pipeline.json; its lines into `console_lines`."""
    n_train, n_val, n_test = len(data[1]), len(data[3]), len(ds.split("test")[1])
    state = read_state(config.project_dir) if config.resume else {}
    if state.get("plan") and not config.time_budget:  # the rest of the plan that was interrupted
        plan = PipelinePlan(**state["plan"])
        search_left = max(0.0, plan.search_seconds - searched_seconds(config.project_dir))
        deadline = started + search_left + plan.report_seconds
        console_lines.append(f"continuing the plan: {fmt_duration(search_left)} of search left, then the report "
                             f"({fmt_duration(plan.report_seconds)})")
    else:
        if not config.time_budget:
            raise UserError("--report plans one duration for the search and its report: give --time-budget "
                            "(e.g. --time-budget 2h)")
        plan = measured_plan(config, parse_duration(config.time_budget), started, n_train, n_val, n_test)
        search_left, deadline = plan.search_seconds, started + parse_duration(config.time_budget)
        apply_plan(config, plan)
        console_lines.extend(plan_lines(plan, report_wishes(config)["tta"]))
    config.resolved["plan"] = {**plan.record(), "deadline": deadline}
    config.resolved["time_budget"] = {"seconds": search_left, "deadline": now() + search_left}
    return TimeBudget(search_left, now() + search_left)


def searched_seconds(project_dir: Path) -> float:
    """The search's wall clock so far: its logged sessions (budget.json), plus the span of the trials
    that ended after the last of them (a session killed outright logs nothing; its trials do)."""
    from search import leaderboard
    from search.budget import BUDGET_FILE
    path = Path(project_dir) / BUDGET_FILE
    sessions = json.loads(path.read_text()) if path.is_file() else []
    last = max((s.get("ended", 0.0) for s in sessions), default=0.0)
    later = [info for info in leaderboard.load_info(project_dir).values() if info.get("ended", 0.0) > last]
    unlogged = (max(i["ended"] for i in later) - min(i["ended"] - i.get("seconds", 0.0) for i in later)) if later else 0.0
    return sum(s.get("wall_seconds", 0.0) for s in sessions) + unlogged


def searched_already(config) -> bool:
    """Whether a --resume'd --report run had finished its search (then only the report is left)."""
    return bool(config.resume and config.report and read_state(config.project_dir).get("phase") == "report")


def run_report_phase(config, plain: bool | None) -> int:
    """The report of the search just run, under what is left until the plan's deadline."""
    from search.report.outputs import reporting_run
    from search.report.progress import ReportConsole
    from search.report.report_config import ReportConfig
    from search.report.run_report import report_run
    from search.report.winners import completed_trials
    plan = config.resolved["plan"]
    wishes = read_state(config.project_dir).get("wishes") or report_wishes(config)  # the plan's, on --resume too
    left = plan["deadline"] - now()
    distinct = len(completed_trials(str(config.project_dir), 1)[2])
    # the epochs cap, not the plan's estimate: the time left decides, at the winners' own pace
    options = ReportConfig(run=str(config.project_dir), top=min(plan["winners"], distinct),
                           epochs=wishes["epochs"], tta=plan["tta"], time_budget=f"{max(1, int(left))}s",
                           tta_budget=f"{int(plan['total_seconds'])}s",  # TTA judged as the plan judged it
                           retrain_fix=wishes["retrain_fix"])
    console = ReportConsole(plain=plain)
    console.line(f"report: {options.top} winner{'s' * (options.top != 1)}, up to {options.epochs} epochs each, "
                 f"{options.tta or 'no'} TTA, in the {fmt_duration(max(0.0, left))} left of the plan")
    with reporting_run(options.run, options) as outcome:
        report_run(options.run, options, console)
    write_state(config.project_dir, phase="done")
    return 1 if outcome.left_out else 0


def record_plan(config) -> None:
    """pipeline.json once config.json is written: the phase, the plan and the report's wishes (a
    resumed plan keeps the wishes it started with)."""
    state = read_state(config.project_dir) if config.resume else {}
    write_state(config.project_dir, phase="search", wishes=state.get("wishes") or report_wishes(config),
                plan={k: v for k, v in config.resolved["plan"].items() if k != "deadline"})


def run_pipeline(config, run, plain: bool | None, dist, started: float) -> int:
    """The search (`run`, unless a resumed plan had finished it), then its report."""
    if searched_already(config):
        state = read_state(config.project_dir)
        plan = dict(state["plan"])
        if config.time_budget:  # the rest of the new budget; TTA judged on the smaller of the two
            given = parse_duration(config.time_budget)
            seconds, plan["total_seconds"] = given - (now() - started), min(plan["total_seconds"], given)
        else:
            seconds = PipelinePlan(**plan).report_seconds
        config.resolved["plan"] = {**plan, "deadline": now() + seconds}
        return run_report_phase(config, plain)
    code = run(config, plain=plain, dist=dist, command_started=started)
    if code != 0:
        return code
    write_state(config.project_dir, phase="report")
    return run_report_phase(config, plain)
