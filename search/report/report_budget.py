"""`search.report --time-budget`: the whole report inside it, not only the retraining.

Before anything trains, the first winner's model (untrained) is timed on a batch here; scoring
every winner on validation and test, the TTA views and the figures are reserved from that pace
(search.planner.evaluation_seconds), TTA stepping down (ten-crop, flip, none) when it would take more
than a tenth of the budget (of the one command's whole budget when it runs the report: the plan
judged TTA by that, so the two agree); the retraining gets the rest, each winner an equal share of
what is left.
"""
from dataclasses import replace

from search.budget import TimeBudget, fmt_duration, now, parse_duration
from search.planner import EVALUATION_SHARE, MARGIN, Pace, affordable_tta, evaluation_seconds


MIN_EPOCHS_AT_RETRAIN_FIX = 3  # --retrain-fix is dropped when fewer epochs at its values fit a winner's share


def winner_builder(config, row: dict, overrides: dict | None = None):
    """build(hp) of the winner in `row` with `overrides` (its own hyperparameters, whatever hp is given)."""
    from search.project import space_options
    from search.report.retrain import trial_record, winner_hyperparameters
    from spaces import get_space
    hp = winner_hyperparameters(trial_record(config.project_dir, row["trial_id"]), overrides)
    return lambda _: get_space(config.space).build(hp, space_options(config))


def winner_image_seconds(config, row: dict, overrides: dict | None = None) -> float:
    """Seconds per image of one forward pass of the winner in `row` (with `overrides`), built untrained."""
    from search.pace import estimate_image_seconds
    return estimate_image_seconds(config, winner_builder(config, row, overrides))


def report_budget(config, best: list[dict], data: dict, options, console, started: float) -> tuple:
    """(options with the TTA that fits, the retraining's TimeBudget or None without --time-budget);
    the budget counts from `started` (the report's start: opening the data is inside it)."""
    if not options.time_budget:
        return options, None
    total = parse_duration(options.time_budget)
    pace = Pace(epoch_seconds=0.0, image_seconds=winner_image_seconds(config, best[0], options.retrain_fix),
                n_val=len(data["val"][1]) if options.train_on == "train" else 0, n_test=len(data["test"][1]))
    basis = parse_duration(options.tta_budget) if options.tta_budget else total
    planned = affordable_tta(pace, options.tta, basis, winners=len(best))
    tta = affordable_tta(pace, options.tta, basis, len(best), within=total * (1 - MARGIN) - (now() - started))
    if tta != options.tta:
        why = (f"would take over {EVALUATION_SHARE:.0%} of the {fmt_duration(basis)} budget" if planned != options.tta
               else f"would not fit the {fmt_duration(total)} the report has")
        console.line(f"--tta {options.tta} {why} at {pace.image_seconds * 1000:.2f} ms an image here (measured): "
                     f"scoring {tta or 'without TTA'}")
    reserved = evaluation_seconds(pace, tta, len(best))
    retraining = max(0.0, total * (1 - MARGIN) - reserved - (now() - started))
    console.line(f"time budget {fmt_duration(total)}: {fmt_duration(reserved)} kept for scoring {len(best)} "
                 f"winner{'s' * (len(best) != 1)}{f' with {tta} TTA' if tta else ''} and the figures, "
                 f"{fmt_duration(retraining)} for retraining (each winner what is left divided by the winners still "
                 "to train); an epoch that would not fit its share does not start")
    options = replace(options, tta=tta, retrain_fix=affordable_retrain_fix(config, best[0], data, options,
                                                                          retraining / len(best), console))
    return options, TimeBudget(seconds=retraining, deadline=now() + retraining)


def affordable_retrain_fix(config, row: dict, data: dict, options, share: float, console) -> dict:
    """options.retrain_fix when MIN_EPOCHS_AT_RETRAIN_FIX epochs at its values (timed here) fit `share`, else {}."""
    from search.pace import estimate_epoch_seconds
    from search.project import retraining_precision
    if not options.retrain_fix:
        return {}
    fixed = ", ".join(f"{k}={v}" for k, v in options.retrain_fix.items())
    if share <= 0:
        console.line(f"--retrain-fix {fixed}: the budget leaves no time to retrain: retraining at the trials' own values")
        return {}
    epoch = estimate_epoch_seconds(config, len(data["train"][1]), winner_builder(config, row, options.retrain_fix),
                                   retraining_precision(config, options.precision))
    if share < MIN_EPOCHS_AT_RETRAIN_FIX * epoch:
        console.line(f"--retrain-fix {fixed}: an epoch would take about {fmt_duration(epoch)} here (measured), fewer "
                     f"than {MIN_EPOCHS_AT_RETRAIN_FIX} fit each winner's {fmt_duration(share)}: retraining at the "
                     "trials' own values")
        return {}
    console.line(f"retraining at {fixed}: about {fmt_duration(epoch)} an epoch here (measured), "
                 f"{int(share // epoch)} fit each winner's {fmt_duration(share)}")
    return dict(options.retrain_fix)
