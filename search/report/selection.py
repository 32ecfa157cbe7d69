"""Which retrained model is best: by validation, always; test scores are shown, never used to choose.

The score is the search's objective (val_accuracy, val_loss or val_macro_f1) measured on the
validation split after retraining. A model retrained on train+val has no held-out validation
left: its validation columns read TRAINED_ON_VAL, and such models are ranked by the validation
score their trial reached in the search (trained on train only), the one honest validation
number they have.
"""
TRAINED_ON_VAL = "trained on val"


def unmeasured_val() -> dict:
    """A retrained model's `val` entry when the validation split was part of its training data."""
    return {"loss": None, "accuracy": None, "macro_f1": None, "note": TRAINED_ON_VAL}


def validation_score(model: dict, objective: str) -> float | None:
    """The model's validation score of `objective`: retrained, or the search's when trained on val
    (None for an ensemble of models trained on val: it has neither)."""
    held_out = model["val"].get(objective.removeprefix("val_"))
    score = model.get("search_objective") if held_out is None else held_out
    return None if score is None else float(score)


def ranked_by_validation(models: list[dict], objective: str, direction: str) -> list[dict]:
    """Best first by validation; ties keep the given order (the search's rank); models without a
    validation score are not ranked."""
    scored = [m for m in models if validation_score(m, objective) is not None]
    return sorted(scored, key=lambda m: validation_score(m, objective), reverse=direction == "max")


def best_by_validation(models: list[dict], objective: str, direction: str) -> dict:
    """What a report records as its best: the model, and the score and split it was chosen on."""
    best = ranked_by_validation(models, objective, direction)[0]
    held_out = best["val"].get(objective.removeprefix("val_")) is not None
    return {"name": best["name"], "objective": objective, "direction": direction,
            "score": validation_score(best, objective),
            "on": "validation split, after retraining" if held_out else
                  "validation split, in the search (retrained on train+val: nothing held out)"}


def selection_words(best: dict) -> str:
    """How the best model was chosen, for the summary line."""
    return f"chosen by {best['objective']} {best['score']:.4f} on the {best['on']}"
