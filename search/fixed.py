"""What a search holds at one value: `--fix NAME=VALUE` parsed, and what is held (with a recipe's
pins) said at start-up, so a reader knows what the search did not explore."""
from fer.errors import UserError
from search.config import RunConfig, typed_value


def parse_fixed(items: list[str]) -> dict:
    """{name: value} from NAME=VALUE strings, values as int, float, bool or text."""
    fixed = {}
    for item in items:
        name, sep, text = item.partition("=")
        if not sep or not name.strip() or not text.strip() or name.startswith("tuner/"):
            raise UserError(f"--fix {item!r}: expected NAME=VALUE with a hyperparameter of the space, "
                            "e.g. --fix input_size=96")
        fixed[name.strip()] = typed_value(text.strip())
    return fixed


def fixed_lines(config: RunConfig) -> list[str]:
    """What the search holds at one value (--fix, and a recipe's pins), so a reader knows what it did not explore."""
    if not config.fixed:
        return []
    held = ", ".join(f"{k}={v}" for k, v in config.fixed.items())
    recipe = config.recipe.get("name") if not config.resume else None
    return [f"held at one value: {held}" + (f" (recipe {recipe}; --fix NAME=VALUE overrides its pins)" if recipe else "")]


def fixed_hyperparameters(config: RunConfig, under: dict | None = None):
    """--fix NAME=VALUE (over the values `under`, when given): keras-tuner HyperParameters
    registered in advance as Fixed (None when nothing is held); the space tunes the rest."""
    values = {**(under or {}), **config.fixed}
    if not values:
        return None
    import keras_tuner as kt
    hp = kt.HyperParameters()
    for name, value in values.items():
        hp.Fixed(name, value)
    return hp


def fixed_point_builder(config: RunConfig, options, under: dict | None = None):
    """build(hp) of the space's default model with the --fix'ed hyperparameters held (over the
    values `under`, when given): what a timing before the search measures (precision, the budget's
    epoch estimate, a --report plan's pace)."""
    from spaces import get_space
    space = get_space(config.space)
    return lambda hp: space.build(fixed_hyperparameters(config, under) or hp, options)
