"""Recipes by name (search/recipes/*.toml): each loads and fits its space, flags and --fix override
it, config.json records it, the report takes its defaults from it, and a bad file is one line."""
import hashlib
import json
import tomllib

import pytest

from fer.command import given_dests
from search import leaderboard
from search.recipe_files import RECIPES_DIR, load_recipe, shipped_recipes
from search.run import main
from search.space_info import check_pins
from spaces import SPACES, quick_fixed


def run_config(*argv):
    from search.run import build_parser, config_from_args
    return config_from_args(build_parser().parse_args(list(argv)), given_dests(build_parser, list(argv)))


def report_config(*argv):
    from search.report.cli import build_parser, config_from_args
    return config_from_args(build_parser().parse_args(list(argv)), given_dests(build_parser, list(argv)))


def test_the_recommended_recipes_ship():
    assert {"cpu-2h", "gpu", "quick"} <= set(shipped_recipes())


@pytest.mark.parametrize("name", shipped_recipes())
def test_every_shipped_recipe_loads_and_its_pins_fit_its_space(name):
    recipe = load_recipe(name)
    assert recipe.contents == tomllib.loads((RECIPES_DIR / f"{name}.toml").read_text())
    spaces = [recipe.search["space"]] if "space" in recipe.search else list(SPACES)  # quick: any --space
    for space in spaces:
        pins = recipe.pins(space)
        assert pins, f"{name} holds nothing in {space}"
        check_pins(space, pins, name)  # raises on a name or value the space cannot take


def test_cpu_recipe_is_the_bench_scripts_search_and_report(workdir):
    config = run_config("--recipe", "cpu-2h")
    assert (config.space, config.tuner, config.max_trials, config.max_epochs, config.time_budget) == \
        ("cnn", "random", 3, 1, "20m")
    assert config.fixed == {"crop_size": 44, "lr_schedule": "cosine", "augment": "light", "conv_blocks": 3,
                            "filters": 32, "convs_per_block": 2, "lean_first_block": True, "batch_norm": True,
                            "pooling": "flatten", "dense_units": 256, "mixup": 0, "random_erasing": 0,
                            "class_weight": "sqrt"}
    assert config.project_name == "cpu-2h"
    assert load_recipe("cpu-2h").contents["report"] == {"top": 1, "epochs": 100, "time_budget": "92m", "tta": "ten-crop"}


def test_flags_and_fix_override_the_recipe(workdir):
    """--fix replaces a pin and keeps the others; a flag given wins even when it equals the default."""
    config = run_config("--recipe", "cpu-2h", "--fix", "crop_size=40", "--fix", "dropout=0.2", "--max-trials", "5",
                        "--tuner", "hyperband", "--project", "mine")
    assert config.fixed["crop_size"] == 40 and config.fixed["dropout"] == 0.2 and config.fixed["augment"] == "light"
    assert (config.tuner, config.max_trials, config.max_epochs, config.project_name) == ("hyperband", 5, 1, "mine")
    text = (RECIPES_DIR / "cpu-2h.toml").read_bytes()
    assert config.recipe == {"name": "cpu-2h", "path": str(RECIPES_DIR / "cpu-2h.toml"),
                             "sha256": hashlib.sha256(text).hexdigest(), "contents": tomllib.loads(text.decode())}


def test_quick_is_the_quick_recipe_with_the_spaces_own_pins(workdir):
    quick, named = run_config("--quick", "--space", "baseline"), run_config("--recipe", "quick", "--space", "baseline")
    assert quick == named
    assert (quick.tuner, quick.max_trials, quick.max_epochs) == ("hyperband", 6, 6)
    assert quick.fixed == quick_fixed("baseline") and run_config("--quick").fixed == quick_fixed("cnn")
    assert quick.project_name == "baseline-hyperband"  # a first look at each space keeps its own folder


def test_a_recipe_search_is_recorded_and_its_report_takes_the_recipes_options(workdir, tiny_demo, capsys):
    path = workdir / "tiny.toml"
    path.write_text('description = "a test"\n[search]\nspace = "baseline"\ntuner = "random"\nmax_trials = 2\n'
                    'max_epochs = 1\n[pins]\naugment = "off"\ndropout = 0.3\n'
                    '[report]\ntop = 1\nepochs = 2\ntta = "flip"\ntime_budget = "5m"\n')
    assert main(["--recipe", str(path), "--fix", "dropout=0.2", "--data", str(tiny_demo), "--precision", "float32",
                 "--batch-size", "32", "--plain"]) == 0  # no --project
    folder = workdir / "tuner_runs" / "tiny"  # named after the recipe
    config = json.loads((folder / "config.json").read_text())
    assert config["recipe"]["name"] == "tiny" and config["recipe"]["contents"]["report"]["epochs"] == 2
    assert config["recipe"]["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert config["fixed"] == {"augment": "off", "dropout": 0.2} and config["max_trials"] == 2
    rows = leaderboard.read_csv(folder)
    assert len(rows) == 2 and {r["dropout"] for r in rows} == {"0.2"} and {r["augment"] for r in rows} == {"off"}
    assert "held at one value: augment=off, dropout=0.2 (recipe tiny;" in capsys.readouterr().out
    report = report_config("--run", str(folder), "--epochs", "3")
    assert (report.top, report.epochs, report.tta, report.time_budget, report.train_on) == (1, 3, "flip", "5m", "train")
    assert report.recipe == {"name": "tiny", "options": {"top": 1, "tta": "flip", "time_budget": "5m"}}
    from search.report.report_config import recipe_words
    assert recipe_words(report).startswith("recipe tiny (from the search's config.json): --top 1 --tta flip")
    plain = report_config("--run", str(folder), "--top", "1", "--tta", "flip",
                          "--time-budget", "5m", "--epochs", "2")
    assert plain.recipe == {} and recipe_words(plain) is None  # every option given: none from the recipe


BAD = {
    "unknown key": ('[search]\nspace = "cnn"\nmax_trial = 3\n', "unknown key 'max_trial' in [search]"),
    "unknown table": ('[serach]\nspace = "cnn"\n', "unknown key 'serach'"),
    "wrong type": ('[search]\nmax_trials = "3"\n', "[search] max_trials must be a whole number, got '3'"),
    "bool for int": ('[report]\ntop = true\n', "[report] top must be a whole number, got True"),
    "bad choice": ('[search]\ntuner = "randm"\n', "[search] tuner must be one of hyperband, bayesian, random"),
    "bad duration": ('[search]\ntime_budget = "20x"\n', "[search] --time-budget '20x'"),
    "not TOML": ("[search\n", "not a readable TOML file"),
    "bad pin": ('[search]\nspace = "cnn"\n[pins]\ncrop_size = 45\n', "[pins] crop_size=45: crop_size takes one of"),
    "unknown pin": ('[pins]\nlearning_rat = 0.001\n', "closest: learning_rate"),
}


@pytest.mark.parametrize("case", BAD)
def test_a_bad_recipe_is_one_line_naming_the_file(workdir, capsys, case):
    text, words = BAD[case]
    (workdir / "r.toml").write_text(text)
    assert main(["--recipe", "r.toml", "--data", "demo"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "r.toml" in err and words in err, err
    assert sorted(p.name for p in workdir.iterdir()) == ["r.toml"]  # nothing written


@pytest.mark.parametrize("spec, words", [("missing.toml", "--recipe missing.toml: missing.toml not found"),
                                         ("cpu-1h", "--recipe cpu-1h: no such recipe (shipped: cpu-2h, cpu-fast, gpu, mobilenet-cpu-2h, mobilenet-gpu, quick")])
def test_a_missing_recipe_is_one_line(workdir, capsys, spec, words):
    assert main(["--recipe", spec]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and words in err
    assert list(workdir.iterdir()) == []
