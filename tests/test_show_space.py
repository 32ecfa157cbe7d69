"""search.run --show-space lists every hyperparameter a space declares, and --fix is checked against
it: a typo or a value the space cannot take is one line, exit status 2, nothing written."""
import keras
import keras_tuner as kt
import pytest

from search.run import main
from search.space_info import check_pins, declared_hyperparameters
from spaces import SPACES, SpaceOptions, get_space


def shown_names(out: str) -> list[str]:
    """The first column of --show-space's table (after its title and header lines)."""
    lines = out.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("name ")) + 1
    return [line.split()[0] for line in lines[start:] if line.strip()]


def names_built(space: str, seeds=range(3)) -> set[str]:
    """The names builds with fresh HyperParameters declare: at the defaults, then at random points
    of keras-tuner's own sampling (as trials visit branches)."""
    build = get_space(space).build
    hp = kt.HyperParameters()
    build(hp, SpaceOptions(weights=None))
    names, drawn = {p.name for p in hp.space}, list(hp.space)
    for seed in seeds:
        point = kt.HyperParameters()
        point.values.update({p.name: p.random_sample(seed * 101 + i) for i, p in enumerate(drawn)})
        try:
            build(point, SpaceOptions(weights=None))
        except ValueError:  # a point the space refuses (mobilenet's alphas without weights)
            pass
        names |= {p.name for p in point.space}
        keras.backend.clear_session()
    return names


@pytest.mark.parametrize("space", SPACES)
def test_show_space_lists_every_hyperparameter_the_build_declares(workdir, capsys, space):
    assert main(["--space", space, "--show-space", "--data", "demo"]) == 0
    out = capsys.readouterr().out
    shown = shown_names(out)
    assert len(shown) == len(set(shown)) and set(shown) >= names_built(space)
    assert f"the {space} space (spaces/{space}.py): {len(shown)} hyperparameters, 0 held" in out
    assert list(workdir.iterdir()) == []  # no data prepared, nothing written


def test_a_hyperparameter_declared_on_one_branch_shows(monkeypatch):
    """head_units is declared only on builds with head=dense (not the default): it still shows,
    with its condition."""
    monkeypatch.setitem(SPACES, "branchy", "branchy_space")
    declared = {p.name: p for p in declared_hyperparameters("branchy")}
    assert "head_units" not in names_built("branchy", seeds=[])
    assert [(c.name, list(c.values)) for c in declared["head_units"].conditions] == [("head", ["dense"])]


def test_show_space_marks_what_the_recipe_and_fix_hold(workdir, capsys):
    assert main(["--recipe", "cpu-2h", "--show-space", "--fix", "crop_size=40", "--fix", "dropout=0.2"]) == 0
    out = capsys.readouterr().out
    rows = {line.split()[0]: line for line in out.splitlines()[3:]}
    assert out.startswith("recipe cpu-2h (") and "14 held" in out.splitlines()[1]
    assert rows["augment"].endswith("recipe cpu-2h: light")
    assert rows["crop_size"].endswith("--fix: 40 (over recipe cpu-2h: 44)")
    assert rows["dropout"].endswith("--fix: 0.2") and rows["optimizer"].endswith("always")  # searched: no mark
    assert "optimizer in adam, adamw" in rows["learning_rate"] and "log sampling" in rows["learning_rate"]
    assert list(workdir.iterdir()) == []


@pytest.mark.parametrize("fix, words", [
    ("learning_rat=1e-3", ["--fix learning_rat=0.001", "closest: learning_rate, sgd_learning_rate"]),
    ("augment=extreme", ["--fix augment=extreme", "augment takes one of off, light, medium, strong"]),
    ("conv_blocks=9", ["conv_blocks takes a whole number from 2 to 4"]),
    ("crop_size=44.5", ["crop_size takes one of 48, 44, 40"]),
    ("batch_norm=1", ["batch_norm takes true or false"]),
    ("dropout=1.5", ["dropout takes a number from 0 to below 1"]),
    ("tuner/epochs=3", ["--fix 'tuner/epochs=3': expected NAME=VALUE"]),
])
def test_a_bad_fix_is_one_line_and_writes_nothing(workdir, capsys, fix, words):
    assert main(["--fix", fix, "--data", "demo", "--plain"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("python -m search.run: error: ")
    for w in words:
        assert w in err
    assert list(workdir.iterdir()) == []  # no tuner_runs/, no data/


def test_pins_a_space_declares_only_when_pinned_stay_valid():
    """cnn's dropout, block_dropout and batch_norm are Fixed in its build and class_weight=balanced is
    not drawn: each is still a valid pin (spaces' PINNED_ONLY), and a value beside it is not."""
    check_pins("cnn", {"dropout": 0.2, "block_dropout": 0.25, "batch_norm": False, "class_weight": "balanced",
                       "mixup": 0, "random_erasing": 0, "lean_first_block": True}, "--fix")
    check_pins("resnet", {"batch_norm": False, "blocks": "2-2-2-2"}, "--fix")
    with pytest.raises(Exception, match="class_weight takes one of none, sqrt, balanced"):
        check_pins("cnn", {"class_weight": "inverse"}, "--fix")
    with pytest.raises(Exception, match="the baseline space has no hyperparameter 'block_dropout'"):
        check_pins("baseline", {"block_dropout": 0.1}, "--fix")
