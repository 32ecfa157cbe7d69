"""Refuse, before anything is retrained, winners that the space as it is now cannot rebuild.

A search saved by an earlier version of a space may hold values the space no longer offers (an
optimizer dropped from its choices) or a hyperparameter the space now uses only under other
conditions (an unconditional `learning_rate` beside `optimizer=sgd`, where SGD now has its own
`sgd_learning_rate`). Rebuilt as they are, the first fails deep inside keras-tuner and the second
quietly trains with another rate than the trial's; both get one line saying what and why.
"""
import keras_tuner as kt

from fer.errors import UserError


def stale_values(declared: kt.HyperParameters, values: dict, held: set = frozenset()) -> list[str]:
    """What in a trial's `values` the `declared` space cannot take as it is; `held`: the names the
    search held at one value (--fix), which the space takes as they are, wherever they lie."""
    from spaces.common import PINNED_ONLY  # imports Keras: only when a report checks its trials

    space = {p.name: p for p in declared.space}
    problems = []
    for name, value in values.items():
        p = space.get(name)
        if value is None or p is None or name in held or isinstance(p, kt.engine.hyperparameters.Fixed):
            continue  # a hyperparameter a space dropped is ignored by its build; a Fixed one is the trial's
        if isinstance(p, kt.engine.hyperparameters.Choice) and value not in (*p.values, *PINNED_ONLY.get(name, ())):
            problems.append(f"{name}={value} is not among {list(p.values)}")
        for c in p.conditions:
            if values.get(c.name) not in c.values:
                problems.append(f"{name} is used only with {c.name} in {list(c.values)}, the trial has "
                                f"{c.name}={values.get(c.name)}")
    return problems


def check_trials_fit_space(config, trials: list[dict]) -> None:
    """UserError naming the first trial whose saved hyperparameters the space cannot rebuild."""
    import keras

    from search.report.retrain import trial_hyperparameters, trial_record
    from spaces import SpaceOptions, get_space
    declared = kt.HyperParameters()
    get_space(config.space).build(declared, SpaceOptions(weights=None))  # declares the whole space
    keras.backend.clear_session()  # the model built for it is not needed
    for row in trials:
        saved = trial_hyperparameters(trial_record(config.project_dir, row["trial_id"]))
        held = {p.name for p in saved.space if isinstance(p, kt.engine.hyperparameters.Fixed)}
        problems = stale_values(declared, saved.values, held)
        if problems:
            raise UserError(f"{config.project_dir}: trial {row['trial_id']} was searched by an earlier version of "
                            f"the {config.space} space ({'; '.join(problems)}); search again with --overwrite")
