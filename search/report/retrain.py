"""Retrain a search's winners from their hyperparameters and save them as .h5 and .keras.

What is saved is the inference model (`spaces.inference`): the trained weights without the
training-only layers and uncompiled, so `keras.models.load_model` opens it without this project.

A winner is rebuilt by its space's `build(hp)` from the trial's saved hyperparameters and
trained from scratch with the trial's whole recipe (optimizer, schedule, mixup, class weights;
early stopping under a plateau schedule) plus a checkpoint of the best epoch. Its schedule runs
over the epochs given, so a winner of 10-epoch trials retrained for 60 gets its warm-up and
cosine stretched to 60. With `train_on="train+val"` there is
no validation split left to stop on, so it trains for the epochs the trial's best took (or
--epochs), with the trial's schedule: a cosine as it is, a plateau watching the training loss
instead (same factor, same patience).
"""
import json
import logging
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import keras
import keras_tuner as kt
import numpy as np

from fer.cache import atomic_write_text
from fer.errors import UserError
from search.config import RunConfig
from search.leaderboard import searched_values, trial_dir
from search.project import space_options
from search.training import Fitting, fit
from spaces import get_space
from spaces.inference import inference_model, nonstandard_layers


@dataclass
class Winner:
    """One retrained model and where it lies; what the report is written from."""
    rank: int
    trial_id: str
    name: str
    hyperparameters: dict
    search_objective: float | None  # None: the trial recorded no score
    train_on: str
    epochs: int
    best_epoch: int
    seconds: float
    params: int
    history: dict
    paths: dict = field(default_factory=dict)
    val: dict = field(default_factory=dict)
    cut_by_budget: bool = False


def trial_record(project_dir: Path, trial_id: str) -> dict:
    path = trial_dir(project_dir, trial_id) / "trial.json"
    if not path.is_file():
        raise UserError(f"{path}: missing; the leaderboard lists trial {trial_id} but its record is gone")
    return json.loads(path.read_text())


def trial_hyperparameters(record: dict) -> kt.HyperParameters:
    return kt.HyperParameters.from_config(record["hyperparameters"])


def winner_hyperparameters(record: dict, overrides: dict | None = None) -> kt.HyperParameters:
    """The trial's hyperparameters, with `overrides` for those it has (a value its space cannot take
    is one line naming it)."""
    from search.portfolio import fits
    hp = trial_hyperparameters(record)
    for name, value in (overrides or {}).items():
        known = next((h for h in hp.space if h.name == name), None)
        if known is None:
            raise UserError(f"--retrain-fix {name}={value}: the trial has no hyperparameter {name}")
        if not (isinstance(known, kt.engine.hyperparameters.Fixed) or fits(known, value)):
            raise UserError(f"--retrain-fix {name}={value}: not a value {name} takes ({known.get_config()})")
        hp.values[name] = value
    return hp


class EpochProgress(keras.callbacks.Callback):
    """Hands each finished epoch's logs to the console."""

    def __init__(self, report):
        super().__init__()
        self.report = report

    def on_epoch_end(self, epoch, logs=None):
        self.report(epoch + 1, {k: float(v) for k, v in (logs or {}).items()})


def save_atomic(model: keras.Model, path: Path) -> None:
    tmp = path.with_name(f".{path.stem}.tmp-{os.getpid()}{path.suffix}")
    absl = logging.getLogger("absl")
    level = absl.level
    absl.setLevel(logging.ERROR)  # .h5 is what users asked for; Keras' "legacy format" warning is noise here
    try:
        model.save(tmp)
    finally:
        absl.setLevel(level)
    os.replace(tmp, path)


def save_inference_model(model: keras.Model, paths: dict) -> keras.Model:
    """Save the trained model's inference model to paths["h5"] and paths["keras"]; returns it."""
    inference = inference_model(model)
    leftover = nonstandard_layers(inference)
    if leftover:  # a new custom layer that is not training-only: the files would not load elsewhere
        raise RuntimeError(f"{model.name}: layers only this project can load: {', '.join(leftover)}")
    for ext in ("h5", "keras"):
        save_atomic(inference, Path(paths[ext]))
    return inference


def retrain(config: RunConfig, trial_id: str, rank: int, data: dict, models_dir: Path,
            epochs: int | None = None, train_on: str = "train", on_epoch=None,
            budget=None, overrides: dict | None = None) -> tuple[Winner, keras.Model]:
    """Train one winner from scratch and save it; returns the record and the trained model.

    With a `budget` (a TimeBudget), training stops at the end of the epoch in which it runs out;
    `overrides` ({name: value}) change the trial's hyperparameters (`--retrain-fix`)."""
    record = trial_record(config.project_dir, trial_id)
    hp = winner_hyperparameters(record, overrides)
    values = searched_values(hp.values)
    best_step = int(record.get("best_step") or 0)
    keras.backend.clear_session()
    keras.utils.set_random_seed(config.seed + rank)
    model = get_space(config.space).build(hp, space_options(config))
    (x, y), (xv, yv) = data["train"], data["val"]
    name = f"rank{rank}-trial{trial_id}"
    models_dir.mkdir(parents=True, exist_ok=True)
    checkpoint = models_dir / f".{name}.best-{os.getpid()}.weights.h5"
    if train_on == "train+val":  # nothing held out: a fixed number of epochs, the schedule on the training loss
        x, y = np.concatenate([x, xv]), np.concatenate([y, yv])
        epochs = epochs or best_step + 1
        validation = None
    else:
        epochs = epochs or config.max_epochs
        validation = (xv, yv)
    start = time.perf_counter()
    result = fit(model, values, x, y, Fitting.of(config).seeded(rank), validation=validation, budget=budget,
                 checkpoint=checkpoint, callbacks=[EpochProgress(on_epoch)] if on_epoch else [], epochs=epochs)
    history = result.history.history
    seconds = time.perf_counter() - start
    best_epoch = len(history["loss"])
    if validation is not None:
        if checkpoint.is_file():  # the best epoch, not the last
            model.load_weights(checkpoint)
            checkpoint.unlink()
        scores = history[config.objective]
        best_epoch = 1 + int(np.argmax(scores) if config.direction == "max" else np.argmin(scores))
    paths = {ext: str(models_dir / f"{name}.{ext}") for ext in ("h5", "keras", "json")}
    save_inference_model(model, paths)
    winner = Winner(rank=rank, trial_id=trial_id, name=name, hyperparameters=values,
                    search_objective=None if record.get("score") is None else float(record["score"]), train_on=train_on,
                    epochs=len(history["loss"]), best_epoch=best_epoch, seconds=round(seconds, 2),
                    params=int(model.count_params()), paths=paths,
                    history={k: [float(v) for v in vs] for k, vs in history.items()},
                    cut_by_budget=result.cut_by_budget)
    atomic_write_text(Path(paths["json"]), json.dumps(asdict(winner), indent=2) + "\n")
    return winner, model
