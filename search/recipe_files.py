"""Recipes: a search's space, pins, tuner and budgets and its report's options, in one TOML file.

The shipped ones are package data, search/recipes/NAME.toml, chosen with `search.run --recipe NAME`;
any other file with `--recipe path/to/file.toml`. A recipe sets defaults: flags given on the command
line override its values, and `--fix` its pins. The run's config.json records it (name, path, the
sha256 of its text, its contents), and `search.report --run` takes the report's options from there.
"""
import hashlib
import tomllib
from dataclasses import dataclass
from pathlib import Path

from fer.errors import UserError
from search.config import OBJECTIVES, PRECISIONS, TUNERS

RECIPES_DIR = Path(__file__).parent / "recipes"
RECIPE_SUFFIX = ".toml"
# What each table may hold: key -> (type, choices or None). [search]'s keys are search.run's flags.
SEARCH_KEYS = {"space": (str, "spaces"), "tuner": (str, TUNERS), "objective": (str, tuple(OBJECTIVES)),
               "max_trials": (int, None), "max_epochs": (int, None), "iterations": (int, None),
               "time_budget": (str, None), "batch_size": (int, None), "patience": (int, None), "seed": (int, None),
               "precision": (str, PRECISIONS), "tensorboard": (bool, None), "report": (bool, None),
               "quick_pins": (bool, None)}  # hold the space's own quick pins (spaces.quick_fixed) under [pins]
TOP_KEYS = ("description", "search", "pins", "report")
AT_LEAST_ONE = ("max_trials", "max_epochs", "iterations", "batch_size", "top", "epochs")
TYPE_WORDS = {int: "a whole number", str: "a string", bool: "true or false", float: "a number", dict: "a table"}


@dataclass(frozen=True)
class Recipe:
    name: str
    path: Path
    sha256: str
    contents: dict

    @property
    def search(self) -> dict:
        return self.contents.get("search", {})

    @property
    def project(self) -> str | None:
        """The project a search with this recipe is named after when --project is not given: the
        recipe's name; a recipe that takes its space from --space (quick) keeps <space>-<tuner>,
        so a first look at each space gets its own folder."""
        return self.name if "space" in self.search else None

    def pins(self, space: str) -> dict:
        """What the recipe holds at one value in `space`: the space's quick pins when it asks for
        them, then its [pins]."""
        from spaces import quick_fixed
        return {**(quick_fixed(space) if self.search.get("quick_pins") else {}), **self.contents.get("pins", {})}

    def record(self) -> dict:
        """config.json's record of the recipe a search ran with."""
        return {"name": self.name, "path": str(self.path), "sha256": self.sha256, "contents": self.contents}


def shipped_recipes() -> list[str]:
    return sorted(p.stem for p in RECIPES_DIR.glob(f"*{RECIPE_SUFFIX}"))


def recipe_path(spec: str) -> Path:
    """A shipped recipe by name, or a TOML file by path."""
    if spec.endswith(RECIPE_SUFFIX) or "/" in spec:
        path = Path(spec)
    else:
        path = RECIPES_DIR / f"{spec}{RECIPE_SUFFIX}"
        if not path.is_file():
            raise UserError(f"--recipe {spec}: no such recipe (shipped: {', '.join(shipped_recipes())}; "
                            "or give the path of a .toml file)")
    if not path.is_file():
        raise UserError(f"--recipe {spec}: {path} not found")
    return path


def load_recipe(spec: str) -> Recipe:
    """The recipe `spec` names, checked: one line naming the file for anything it cannot hold."""
    path = recipe_path(spec)
    data = path.read_bytes()
    try:
        contents = tomllib.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as e:
        raise UserError(f"{path}: not a readable TOML file ({e})") from None
    check_recipe(contents, path)
    return Recipe(path.stem, path, hashlib.sha256(data).hexdigest(), contents)


def check_recipe(contents: dict, path: Path) -> None:
    """UserError for the first unknown key or wrongly typed value (the pins are checked against the
    space by search.space_info, once the space is known)."""
    from search.report.report_config import RECIPE_KEYS
    for key, value in contents.items():
        if key not in TOP_KEYS:
            raise UserError(f"{path}: unknown key {key!r} (a recipe holds {', '.join(TOP_KEYS)})")
        wanted = str if key == "description" else dict
        if not isinstance(value, wanted):
            raise UserError(f"{path}: {key} must be {'a string' if wanted is str else 'a table, [' + key + ']'}")
    check_table(contents.get("search", {}), SEARCH_KEYS, "search", path)
    check_table(contents.get("report", {}), RECIPE_KEYS, "report", path)
    for name, value in contents.get("pins", {}).items():
        if not isinstance(value, (str, int, float, bool)):
            raise UserError(f"{path}: [pins] {name} must be a string, number or true/false, got {value!r}")


def check_table(table: dict, keys: dict, title: str, path: Path) -> None:
    for key, value in table.items():
        if key not in keys:
            raise UserError(f"{path}: unknown key {key!r} in [{title}] (it takes {', '.join(keys)})")
        wanted, choices = keys[key]
        if not isinstance(value, wanted) or (wanted is int and isinstance(value, bool)):
            raise UserError(f"{path}: [{title}] {key} must be {TYPE_WORDS[wanted]}, got {value!r}")
        if choices == "spaces":
            from spaces import SPACES
            choices = tuple(SPACES)
        if choices and value not in choices:
            raise UserError(f"{path}: [{title}] {key} must be one of {', '.join(choices)}, got {value!r}")
        if key in AT_LEAST_ONE and value < 1:
            raise UserError(f"{path}: [{title}] {key} must be at least 1, got {value}")
        if key == "time_budget":
            from search.budget import parse_duration
            try:
                parse_duration(value)
            except UserError as e:
                raise UserError(f"{path}: [{title}] {e}") from None
