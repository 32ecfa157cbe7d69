"""Keras Tuner's Hyperband / Bayesian / Random tuners, with hooks for timings and the leaderboard.

The oracle and the tuner stay keras-tuner's own (that is what makes --resume and distributed
search work); the mixin only observes: it times each trial, counts its epochs, rewrites
leaderboard.csv after every trial and feeds the console.
"""
import math
import os
import time
import warnings

import keras
import keras_tuner as kt

from search import leaderboard, plan, tf_memory
from search.budget import BudgetSpent
from search.config import MAX_CONSECUTIVE_FAILED, RunConfig
from search.console import fmt_seconds
from search.fixed import fixed_hyperparameters
from search.leaderboard import TUNER_PREFIX

HYPERBAND_FACTOR = 3  # keras-tuner's default: each round keeps the best third, trained 3x longer


class Recycle(Exception):
    """Raised in a worker that has run its `recycle_after` trials: it exits and the chief restarts it."""


class ReportingMixin:
    """Observe trials: timings, epochs, leaderboard.csv and the console."""

    def setup_reporting(self, config: RunConfig, console, n_train: int, budget=None, writes_leaderboard: bool = True):
        """What the search reports to: its console and leaderboard (with the space's key columns and
        the run's own, `run_columns`). `writes_leaderboard=False` on distributed workers: only the
        chief writes leaderboard.csv."""
        from search.project import run_columns
        from spaces import get_space
        self.fer_config, self.console = config, console
        self.key_hps, self.run_columns = list(get_space(config.space).key_hps), run_columns(config)
        self.steps = max(1, math.ceil(n_train / config.batch_size))
        self.writes_leaderboard = writes_leaderboard
        self.recycle_after, self.trials_run = None, 0
        self.trial_start, self.epochs_run = time.perf_counter(), 0
        self.memory_mark = tf_memory.mark()
        self.budget, self.paced = budget, False
        if hasattr(self.hypermodel, "budget"):  # the training core stops on it; a cosine ends its decay with what fits
            self.hypermodel.budget = budget

    def pre_create_trial(self):
        # The budget first: a process about to be recycled knows the pace, its fresh successor does not.
        if self.budget is not None and not self.budget.fits(self.budget.fastest_epoch):
            raise BudgetSpent()  # spent, or too little left for one epoch at the fastest pace seen
        if self.recycle_after and self.trials_run >= self.recycle_after:
            raise Recycle()

    def run_search(self, x_train, y_train, x_val, y_val) -> None:
        """The search over the training split, validated on the validation split (the test split is never seen)."""
        from search.hypermodel import search_callbacks
        self.search(x_train, y_train, validation_data=(x_val, y_val), epochs=self.fer_config.max_epochs, verbose=0,
                    callbacks=search_callbacks(self.fer_config))

    def plan_lines(self) -> list[str]:
        """What the search will spend (printed at start): Hyperband's plan, or trials x epochs."""
        if isinstance(self.oracle, kt.oracles.HyperbandOracle):
            return plan.describe_hyperband(self.oracle, self.oracle.max_trials)
        return plan.describe_trials(self.oracle.max_trials, self.fer_config.max_epochs)

    def planned_epochs(self) -> int:
        if isinstance(self.oracle, kt.oracles.HyperbandOracle):
            return plan.planned_epochs(plan.hyperband_rounds(self.oracle), self.oracle.max_trials)
        return self.oracle.max_trials * self.fer_config.max_epochs

    def show_pace(self, seconds: float) -> None:
        """After the search's first epoch: how long the plan would take at that pace."""
        self.paced = True
        total = self.planned_epochs()
        text = (f"first epoch took {seconds:.0f} s: the plan's {total} epochs would take ~{fmt_seconds(seconds * total)} "
                "at this pace (models differ; early stopping ends many plateau-schedule trials sooner)")
        if self.budget is not None:
            text += f"; time budget left {fmt_seconds(max(0.0, self.budget.left()))}"
        self.console.line(text)

    def planned_trials(self) -> int | None:
        oracle = self.oracle
        if isinstance(oracle, kt.oracles.HyperbandOracle):
            try:
                per_iteration = sum(oracle._get_size(b, r) for b in range(oracle._get_num_brackets())
                                    for r in range(oracle._get_num_rounds(b)))
                total = per_iteration * oracle.hyperband_iterations
            except (AttributeError, TypeError):
                return oracle.max_trials
            return min(total, oracle.max_trials) if oracle.max_trials else total
        return oracle.max_trials

    def trial_epochs(self, values: dict) -> int:
        if f"{TUNER_PREFIX}epochs" in values:
            return values[f"{TUNER_PREFIX}epochs"] - values.get(f"{TUNER_PREFIX}initial_epoch", 0)
        return self.fer_config.max_epochs

    def announce(self, trial, where: str = "", steps: int = 0) -> None:
        """Tell the console a trial began: its number, id, place in Hyperband and hyperparameters.

        Called by this tuner for its own trials, and by a distributed chief for its workers'.
        """
        values = trial.hyperparameters.values
        if f"{TUNER_PREFIX}bracket" in values:
            where += f", bracket {values[TUNER_PREFIX + 'bracket']} round {values[TUNER_PREFIX + 'round']}"
        n = "?"  # a worker's oracle is the chief's, out of reach
        if self.writes_leaderboard:
            n = len([t for t in self.oracle.trials.values() if t.status != "RUNNING"]) + len(self.oracle.ongoing_trials)
        self.console.trial_begin(n, self.planned_trials(), trial.trial_id, where,
                                 leaderboard.searched_values(values), self.trial_epochs(values), steps)

    def publish(self, trial_id: str) -> None:
        """Rewrite leaderboard.csv from the oracle and per-trial records; show the trial's result."""
        project = self.fer_config.project_dir
        rows = leaderboard.trial_rows(self.oracle, leaderboard.load_info(project))
        leaderboard.write(project, rows)
        done = len([t for t in self.oracle.trials.values() if t.status not in ("RUNNING", "IDLE")])
        row = next(r for r in rows if r["trial_id"] == trial_id)
        self.console.trial_end(row, rows, done, self.planned_trials(), self.fer_config.direction, self.key_hps)

    def on_trial_begin(self, trial):
        super().on_trial_begin(trial)
        self.trial_start, self.epochs_run = time.perf_counter(), 0
        if hasattr(self.hypermodel, "last_fit"):
            self.hypermodel.last_fit = None
        self.memory_mark = tf_memory.mark()
        self.announce(trial, steps=self.steps)

    def on_batch_end(self, trial, model, batch, logs=None):
        self.console.batch(batch + 1)

    def on_epoch_end(self, trial, model, epoch, logs=None):
        super().on_epoch_end(trial, model, epoch, logs=logs)
        self.epochs_run += 1
        epochs, logs = self.trial_epochs(trial.hyperparameters.values), {k: float(v) for k, v in (logs or {}).items()}
        self.console.epoch_end(self.epochs_run, epochs, logs)
        if not self.paced and self.writes_leaderboard:
            self.show_pace(time.perf_counter() - self.trial_start)
        if not self.writes_leaderboard:  # a worker: the chief shows this epoch from the shared folder
            leaderboard.save_progress(self.fer_config.project_dir, trial.trial_id,
                                      {"epoch": self.epochs_run, "epochs": epochs, "logs": logs})

    def cut_by_budget(self) -> bool:
        """Whether the time budget stopped the trial that just ended before its last planned epoch."""
        last = getattr(self.hypermodel, "last_fit", None)
        return bool(last and last.cut_by_budget)

    def on_trial_end(self, trial):
        seconds = time.perf_counter() - self.trial_start
        tf_memory.release(self.memory_mark)  # the trial's model is garbage by now; measure what stays
        info = {"seconds": round(seconds, 2), "epochs": self.epochs_run, "tuner_id": self.tuner_id,
                "pid": os.getpid(), "rss_mb": tf_memory.rss_mb(), "ended": time.time(), "cut_by_budget": self.cut_by_budget(),
                **self.run_columns, "hyperparameters": trial.hyperparameters.values}  # resume's copy (project_files)
        leaderboard.save_trial_info(self.fer_config.project_dir, trial.trial_id, info)  # before the oracle hears
        super().on_trial_end(trial)  # the oracle records the result and saves
        self.trials_run += 1
        if self.writes_leaderboard:
            self.publish(trial.trial_id)
        else:
            self.console.line(f"trial {trial.trial_id} {trial.status} ({seconds:.0f} s)")


class FerHyperband(ReportingMixin, kt.Hyperband):
    def __init__(self, hypermodel, oracle, **kwargs):
        kt.Tuner.__init__(self, oracle=oracle, hypermodel=hypermodel, **kwargs)  # Hyperband's own only makes the oracle

    def _build_hypermodel(self, hp):
        """A continuation starts from its parent's checkpoint with a fresh optimizer (keras-tuner's
        design); Keras warns about the parent's optimizer variables it skips. Expected: not shown."""
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="Skipping variable loading for optimizer")
            return super()._build_hypermodel(hp)


class FerBayesian(ReportingMixin, kt.BayesianOptimization):
    def __init__(self, hypermodel, oracle, **kwargs):
        kt.Tuner.__init__(self, oracle=oracle, hypermodel=hypermodel, **kwargs)


class FerRandom(ReportingMixin, kt.RandomSearch):
    def __init__(self, hypermodel, oracle, **kwargs):
        kt.Tuner.__init__(self, oracle=oracle, hypermodel=hypermodel, **kwargs)


def search_tuner(config: RunConfig, overwrite: bool):
    """The configured tuner over the space's FerHyperModel: what a search in this process, a
    distributed chief and each worker run (`setup_reporting` then says where results go)."""
    from search.hypermodel import FerHyperModel
    from search.project import space_options
    return make_tuner(config, FerHyperModel(config, space_options(config)), overwrite)


def make_tuner(config: RunConfig, hypermodel, overwrite: bool):
    """The configured keras-tuner tuner, seeded, its oracle proposing the space's portfolio first.

    Python's, NumPy's and the backend's generators are seeded first: keras-tuner takes seed 0 (our
    default) as "no seed" and draws one from Python's global generator, so without this the same
    --seed would not give the same hyperparameters.
    """
    from search import portfolio
    keras.utils.set_random_seed(config.seed)
    oracle_args = dict(objective=kt.Objective(config.objective, direction=config.direction), seed=config.seed,
                       hyperparameters=fixed_hyperparameters(config), max_consecutive_failed_trials=MAX_CONSECUTIVE_FAILED,
                       portfolio=portfolio.load_portfolio(config.space))
    tuner_args = dict(directory=config.runs_dir, project_name=config.project_name, overwrite=overwrite)
    if config.tuner == "hyperband":
        oracle = portfolio.PortfolioHyperbandOracle(max_epochs=config.max_epochs, factor=HYPERBAND_FACTOR,
                                                    hyperband_iterations=config.hyperband_iterations, **oracle_args)
        tuner = FerHyperband(hypermodel, oracle, **tuner_args)
        tuner.oracle.max_trials = config.trials_cap  # None: the whole plan; a number cuts it
        return tuner
    if config.tuner == "bayesian":
        return FerBayesian(hypermodel, portfolio.PortfolioBayesianOracle(max_trials=config.trials_cap, **oracle_args),
                           **tuner_args)
    return FerRandom(hypermodel, portfolio.PortfolioRandomOracle(max_trials=config.trials_cap, **oracle_args),
                     **tuner_args)
