"""One duration for the whole pipeline (`search.run --time-budget 2h --report`): how it is split
between the search, the final training of the winners and their evaluation, decided from the pace
measured on this machine before anything trains (and recorded in config.json).

The final training gets what makes a model good (up to `final_epochs_cap` epochs per winner; up to
`top` winners, an ensemble, while each still trains half that cap), the search at least its portfolio at the
trials' fidelity and SEARCH_SHARE of the epochs, and evaluation (validation, test, TTA, Grad-CAM
and figures, per image of the model at hand) what it costs. TTA steps down (ten-crop, flip, none)
rather than take more than EVALUATION_SHARE of the budget. So a slow machine spends nearly all of
it on one final training, a fast one searches with what a final training cannot use.
"""
import math
from dataclasses import asdict, dataclass

from fer.errors import UserError

MARGIN = 0.02  # of the budget, for start-up and the pace drifting (the promise is 3%)
EVALUATION_SHARE = 0.10
SEARCH_SHARE = 0.2  # of the training epochs, at least, when the final training cannot use them all
ENSEMBLE_MEMBER_SHARE = 0.5  # more winners (an ensemble) only while each still trains half the epochs cap
TTA_VIEWS = {None: 0, "flip": 2, "ten-crop": 10}  # forward passes per test image on top of the plain one
TTA_STEPS = ("ten-crop", "flip", None)
VAL_PASSES = 2  # the report's evaluate() and predict() on the validation split


@dataclass(frozen=True)
class Pace:
    """What the plan is computed from, measured here (search.pace) or given by a test."""
    epoch_seconds: float        # one training epoch (with its validation pass) of the model at hand
    image_seconds: float        # one forward pass of one image
    n_val: int
    n_test: int
    model_seconds: float = 5.0  # per model beyond its forward passes: saving, Grad-CAM, its figures
    shared_seconds: float = 5.0  # once per report: the shared figures, the page, the ensemble


def evaluation_seconds(pace: Pace, tta: str | None, winners: int) -> float:
    """What scoring `winners` models with `tta` and drawing the report costs at this pace."""
    passes = VAL_PASSES * pace.n_val + pace.n_test * (1 + TTA_VIEWS[tta])
    return winners * (passes * pace.image_seconds + pace.model_seconds) + pace.shared_seconds


def affordable_tta(pace: Pace, wanted: str | None, seconds: float, winners: int = 1,
                   within: float = math.inf) -> str | None:
    """`wanted`, or the first cheaper TTA whose evaluation takes at most EVALUATION_SHARE of `seconds`
    and at most `within` seconds (what is left to score in)."""
    if wanted is None:
        return None
    for tta in TTA_STEPS[TTA_STEPS.index(wanted):]:
        if evaluation_seconds(pace, tta, winners) <= min(EVALUATION_SHARE * seconds, within):
            return tta
    return None


@dataclass(frozen=True)
class PipelinePlan:
    total_seconds: float
    epoch_seconds: float
    search_seconds: float      # the search's time budget
    final_seconds: float       # the winners' retraining
    evaluation_seconds: float  # scoring, TTA and figures, reserved after the retraining
    trial_epochs: int          # each trial's fidelity
    trials: int
    winners: int
    final_epochs: int          # per winner
    tta: str | None

    def record(self) -> dict:
        return asdict(self)

    @property
    def report_seconds(self) -> float:
        return self.final_seconds + self.evaluation_seconds


def plan_pipeline(total: float, pace: Pace, *, trial_epochs: int, max_trials: int | None, top: int,
                  final_epochs_cap: int, tta: str | None, min_trials: int = 2, spent: float = 0.0) -> PipelinePlan:
    """The split of `total` seconds, `spent` of them gone already (start-up, measuring the pace), at
    `pace` (a UserError when not even a search of `min_trials` one-epoch trials and a one-epoch
    final training fit)."""
    usable = total * (1 - MARGIN) - spent
    tta = affordable_tta(pace, tta, usable)
    epochs = (usable - evaluation_seconds(pace, tta, 1)) / pace.epoch_seconds
    if epochs < min_trials * trial_epochs + 1:
        trial_epochs = 1  # too short for the trials' fidelity: the search shrinks first
    if epochs < min_trials + 1:
        need = (min_trials + 1) * pace.epoch_seconds + evaluation_seconds(pace, None, 1) + spent
        from search.budget import fmt_duration
        raise UserError(f"--time-budget {fmt_duration(total)}: at {pace.epoch_seconds:.1f} s an epoch here (measured) a "
                        f"search of {min_trials} trials, a final training and its scoring do not fit; give at least "
                        f"{math.ceil(need / (1 - MARGIN))}s")
    search_min = max(min_trials * trial_epochs, SEARCH_SHARE * epochs)
    left = lambda k: (usable - evaluation_seconds(pace, tta, k)) / pace.epoch_seconds - search_min  # noqa: E731
    winners = next((k for k in range(top, 1, -1) if left(k) / k >= ENSEMBLE_MEMBER_SHARE * final_epochs_cap), 1)
    final_epochs = max(1, min(final_epochs_cap, math.floor(left(winners) / winners)))
    tta = affordable_tta(pace, tta, usable, winners)  # their scoring too stays within a tenth
    evaluation = evaluation_seconds(pace, tta, winners)
    search_epochs = (usable - evaluation) / pace.epoch_seconds - winners * final_epochs
    trials = max(1, min(max_trials or math.inf, math.floor(search_epochs / trial_epochs)))
    return PipelinePlan(total, pace.epoch_seconds, search_epochs * pace.epoch_seconds,
                        winners * final_epochs * pace.epoch_seconds, evaluation, trial_epochs, int(trials),
                        winners, final_epochs, tta)


def plan_lines(plan: PipelinePlan, wanted_tta: str | None) -> list[str]:
    """What the run prints at start: the pace, the shares, the fidelity, the winners and the TTA."""
    from search.budget import fmt_duration as d
    tta = f"{plan.tta or 'no'} TTA" + (f" (not {wanted_tta}: it would take over {EVALUATION_SHARE:.0%} of the budget)"
                                       if wanted_tta != plan.tta else "")
    return [f"plan for {d(plan.total_seconds)}: one epoch of the search's first point takes {plan.epoch_seconds:.0f} s "
            f"here (measured); search {d(plan.search_seconds)} (up to {plan.trials} trials of {plan.trial_epochs} "
            f"epoch{'s' * (plan.trial_epochs != 1)}), final training {d(plan.final_seconds)} ({plan.winners} "
            f"winner{'s' * (plan.winners != 1)}, up to {plan.final_epochs} epochs each), evaluation "
            f"{d(plan.evaluation_seconds)} ({tta}); {MARGIN:.0%} kept in hand"]
