"""Start from what is known: each space's portfolio (search/portfolios/<space>.toml), the points that
measured best with where the measurement is, proposed first by every tuner; then the search goes on
around the best so far.

The oracles are keras-tuner's own, subclassed at the one place each of them draws a fresh point
(`_random_values`: a random trial, a Bayesian initial point, a Hyperband bracket's first round).
There a portfolio point not yet tried comes first (completed with the space's defaults, --fix'ed
values winning); after them, half the fresh points are the best completed trial with NEIGHBOUR_CHANGES
of its hyperparameters drawn anew, the other half keras-tuner's random ones. A point already tried
(a resumed search) is not proposed again.
"""
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import keras_tuner as kt

from fer.errors import UserError

PORTFOLIOS_DIR = Path(__file__).parent / "portfolios"
NEIGHBOUR_SHARE, NEIGHBOUR_CHANGES = 0.5, 2


@dataclass(frozen=True)
class PortfolioPoint:
    name: str
    values: dict = field(default_factory=dict)  # what differs from the space's defaults
    provenance: str = ""


def load_portfolio(space: str) -> list[PortfolioPoint]:
    """The space's portfolio ([] when it ships none); a point may take a shipped recipe's [pins]."""
    path = PORTFOLIOS_DIR / f"{space}.toml"
    if not path.is_file():
        return []
    from search.recipe_files import load_recipe
    points = []
    for entry in tomllib.loads(path.read_text())["point"]:
        values = dict(load_recipe(entry["recipe"]).pins(space)) if "recipe" in entry else {}
        points.append(PortfolioPoint(entry["name"], {**values, **entry.get("values", {})}, entry["provenance"]))
    return points


def fits(hp, value) -> bool:
    """Whether `value` is one `hp` (a keras-tuner hyperparameter) can take."""
    if isinstance(hp, kt.engine.hyperparameters.Choice):
        return value in hp.values
    if isinstance(hp, (kt.engine.hyperparameters.Int, kt.engine.hyperparameters.Float)):
        return isinstance(value, (int, float)) and hp.min_value <= value <= hp.max_value
    if isinstance(hp, kt.engine.hyperparameters.Boolean):
        return isinstance(value, bool)
    return False


class PortfolioMixin:
    """An oracle that proposes `portfolio` (PortfolioPoint list) first, then searches around the best."""

    def __init__(self, *args, portfolio=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.portfolio = list(portfolio)

    def complete(self, wanted: dict, draw: set = frozenset()) -> dict:
        """Values for the whole space: `wanted` where it fits, a fresh draw for the names in `draw`,
        the space's default elsewhere (a Fixed hyperparameter keeps its value)."""
        hps = kt.HyperParameters()
        for hp in self.hyperparameters.space:
            hps.merge([hp])
            if not hps.is_active(hp):
                continue
            if isinstance(hp, kt.engine.hyperparameters.Fixed):
                hps.values[hp.name] = hp.value
            elif hp.name in draw:
                hps.values[hp.name] = hp.random_sample(self._seed_state)
                self._seed_state += 1
            else:
                hps.values[hp.name] = wanted[hp.name] if hp.name in wanted and fits(hp, wanted[hp.name]) else hp.default
        return hps.values

    def _random_values(self):
        for point in self.portfolio:
            values = self.complete(point.values)
            if not self._duplicate(values):
                return values
        best = [t for t in (self.get_best_trials(1) if self.trials else []) if t.status == "COMPLETED"]
        if best and self._random_state_draw() < NEIGHBOUR_SHARE:
            values = self.neighbour(best[0].hyperparameters.values)
            if values is not None:
                return values
        return super()._random_values()

    def neighbour(self, values: dict) -> dict | None:
        """`values` with NEIGHBOUR_CHANGES of its searched hyperparameters drawn anew (None: only repeats)."""
        import random
        names = [hp.name for hp in self.hyperparameters.space
                 if hp.name in values and not isinstance(hp, kt.engine.hyperparameters.Fixed)]
        rng = random.Random(self._seed_state)
        for _ in range(10):
            self._seed_state += 1
            drawn = self.complete(values, set(rng.sample(names, min(NEIGHBOUR_CHANGES, len(names)))))
            if names and not self._duplicate(drawn):
                return drawn
        return None

    def _random_state_draw(self) -> float:
        import random
        self._seed_state += 1
        return random.Random(self._seed_state).random()


class PortfolioRandomOracle(PortfolioMixin, kt.oracles.RandomSearchOracle):
    pass


class PortfolioBayesianOracle(PortfolioMixin, kt.oracles.BayesianOptimizationOracle):
    pass


class PortfolioHyperbandOracle(PortfolioMixin, kt.oracles.HyperbandOracle):
    pass


def check_portfolio(space: str, points: list[PortfolioPoint]) -> None:
    """One line for a point naming a hyperparameter the space does not have."""
    from search.space_info import declared_hyperparameters
    declared = declared_hyperparameters(space)
    for point in points:
        unknown = sorted(set(point.values) - {hp.name for hp in declared})
        if unknown:
            raise UserError(f"{PORTFOLIOS_DIR / (space + '.toml')}: point {point.name!r} sets {', '.join(unknown)}, "
                            f"which the {space} space does not have")


def portfolio_lines(points: list[PortfolioPoint]) -> list[str]:
    if not points:
        return []
    return [f"portfolio: {len(points)} point{'s' * (len(points) != 1)} proposed first, then the search around the "
            f"best: " + "; ".join(f"{p.name} ({p.provenance})" for p in points)]
