"""Each space's portfolio (search/portfolio.py): proposed first by every tuner, completed with the
space's defaults, --fix'ed values winning, never twice; then the search goes on around the best."""
import keras_tuner as kt
import pytest

from search import portfolio
from search.portfolio import PortfolioPoint
from spaces import SPACES


def space_hp(fixed_a=None):
    hp = kt.HyperParameters()
    if fixed_a is not None:
        hp.Fixed("a", fixed_a)
    else:
        hp.Choice("a", [1, 2, 3], default=1)
    hp.Float("lr", 1e-4, 1e-2, sampling="log", default=1e-3)
    hp.Boolean("bn", default=False)
    return hp


def oracle(kind, points, hp):
    objective = kt.Objective("val_accuracy", "max")
    if kind == "hyperband":
        return portfolio.PortfolioHyperbandOracle(objective=objective, max_epochs=3, hyperparameters=hp, seed=1,
                                                  portfolio=points)
    cls = portfolio.PortfolioRandomOracle if kind == "random" else portfolio.PortfolioBayesianOracle
    return cls(objective=objective, max_trials=5, hyperparameters=hp, seed=1, portfolio=points)


POINTS = [PortfolioPoint("first", {"a": 3, "lr": 5e-3}, "test"), PortfolioPoint("second", {"bn": True}, "test")]


@pytest.mark.parametrize("kind", ["random", "bayesian", "hyperband"])
def test_the_portfolio_is_what_each_tuner_proposes_first(kind):
    o = oracle(kind, POINTS, space_hp())
    assert o._random_values() == {"a": 3, "lr": 5e-3, "bn": False}  # the rest at the space's defaults
    o._tried_so_far.add(o._compute_values_hash({"a": 3, "lr": 5e-3, "bn": False}))
    assert o._random_values() == {"a": 1, "lr": 1e-3, "bn": True}


@pytest.mark.parametrize("kind", ["random", "bayesian", "hyperband"])
def test_the_first_trial_each_oracle_populates_is_the_point_with_fixed_values_winning(kind):
    o = oracle(kind, POINTS, space_hp(fixed_a=2))
    values = o.populate_space("0")["values"]
    assert {k: values[k] for k in ("a", "lr", "bn")} == {"a": 2, "lr": 5e-3, "bn": False}
    assert kind != "hyperband" or values["tuner/epochs"] >= 1  # a first-round trial of a bracket


def test_a_value_the_space_cannot_take_falls_back_to_its_default():
    o = oracle("random", [PortfolioPoint("odd", {"a": 7, "lr": 1.0}, "test")], space_hp())
    assert o._random_values() == {"a": 1, "lr": 1e-3, "bn": False}


def test_a_neighbour_changes_at_most_two_values_of_the_best():
    o = oracle("random", [], space_hp())
    best = {"a": 3, "lr": 5e-3, "bn": True}
    for _ in range(5):
        near = o.neighbour(best)
        assert near is not None and sum(near[k] != best[k] for k in best) <= portfolio.NEIGHBOUR_CHANGES


@pytest.mark.parametrize("space", list(SPACES))
def test_every_shipped_portfolio_point_belongs_to_its_space_and_builds(space):
    import keras

    from spaces import SpaceOptions, get_space
    points = portfolio.load_portfolio(space)
    portfolio.check_portfolio(space, points)
    for point in points:
        assert point.provenance
        hp = kt.HyperParameters()
        for name, value in point.values.items():
            hp.Fixed(name, value)
        keras.backend.clear_session()
        model = get_space(space).build(hp, SpaceOptions(weights=None))
        assert model.output_shape == (None, 7)
        assert {k: hp.values[k] for k in point.values} == point.values
    if space in ("cnn", "mobilenet"):
        assert points, f"{space} ships a portfolio"


def test_a_cnn_search_trains_the_portfolio_point_first(workdir, tiny_demo, capsys):
    import json

    from search import run as run_cli
    from tests.conftest import search_args
    assert run_cli.main(search_args(tiny_demo, "pf", "--space", "cnn", "--tuner", "random", "--max-trials", 1,
                                    "--max-epochs", 1, "--fix", "filters=16")) == 0
    assert "portfolio: 1 point proposed first" in capsys.readouterr().out
    values = json.loads((workdir / "tuner_runs/pf/trial_0/trial.json").read_text())["hyperparameters"]["values"]
    pins = portfolio.load_portfolio("cnn")[0].values
    assert values["filters"] == 16  # --fix wins over the point
    assert {k: values[k] for k in pins if k != "filters"} == {k: v for k, v in pins.items() if k != "filters"}
