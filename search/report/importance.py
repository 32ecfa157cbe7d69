"""Which hyperparameters mattered: a random-forest estimate over the completed trials.

A forest regresses the objective on the hyperparameters (categorical ones one-hot encoded) and
each hyperparameter's importance is the sum of its columns' impurity decrease, normalised to 1.
A conditional number (SGD's rate, empty in Adam's trials) stays a number: its empty cells take a
value below its range, which a tree can tell apart, rather than turning every rate into a category.
With few trials this is a hint, not a measurement; the report says how many trials it used.
"""
import numpy as np
import pandas as pd
from sklearn.ensemble import RandomForestRegressor

from search.config import typed_value

MIN_TRIALS = 4


def typed_rows(rows: list[dict], hps: list[str]) -> list[dict]:
    """Leaderboard rows (CSV strings) with numbers and booleans restored."""
    return [{**r, "objective": float(r["objective"]), **{h: typed_value(r.get(h)) for h in hps}} for r in rows]


def missing(value) -> bool:
    return value is None or value == "" or (isinstance(value, float) and np.isnan(value))


def is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def below_range(values: list) -> list:
    """Numbers as they are, missing ones a value under the smallest (a tree's 'inactive')."""
    present = [v for v in values if not missing(v)]
    low, high = min(present), max(present)
    return [low - (high - low) - 1.0 if missing(v) else v for v in values]


def varied(rows: list[dict], hps: list[str]) -> list[str]:
    return [h for h in hps if len({str(r.get(h)) for r in rows}) > 1]


def encode(rows: list[dict], hps: list[str]) -> tuple[pd.DataFrame, list[str]]:
    """The forest's inputs: a column per number (missing cells below its range), one per category
    value; and which hyperparameters are numbers."""
    frame = pd.DataFrame([{h: r.get(h) for h in hps} for r in rows], dtype=object)
    numeric = [h for h in hps if all(missing(v) or is_number(v) for v in frame[h])
               and not all(missing(v) for v in frame[h])]
    for h in numeric:
        frame[h] = below_range(list(frame[h]))
    encoded = pd.get_dummies(frame.astype({h: str for h in hps if h not in numeric}),
                             columns=[h for h in hps if h not in numeric], prefix_sep="=")
    return encoded, numeric


def importance(rows: list[dict], hps: list[str], seed: int = 0) -> dict[str, float] | None:
    """{hyperparameter: share of importance}, highest first; None with fewer than MIN_TRIALS."""
    hps = varied(rows, hps)
    if len(rows) < MIN_TRIALS or not hps:
        return None
    encoded, numeric = encode(rows, hps)
    forest = RandomForestRegressor(n_estimators=300, random_state=seed, min_samples_leaf=1)
    forest.fit(encoded.to_numpy(dtype=float), np.array([r["objective"] for r in rows]))
    totals = {h: 0.0 for h in hps}
    for column, share in zip(encoded.columns, forest.feature_importances_):
        totals[column.split("=", 1)[0] if column not in numeric else column] += float(share)
    norm = sum(totals.values()) or 1.0
    return dict(sorted(((h, v / norm) for h, v in totals.items()), key=lambda kv: -kv[1]))
