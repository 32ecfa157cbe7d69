"""What a search holds at one value: `--fix NAME=VALUE` and `--quick`'s pins, parsed, merged and
said at start-up (so a reader knows what the search did not explore)."""
from fer.errors import UserError
from search.config import RunConfig, typed_value


def quick_pins(args) -> dict:
    """--quick: the space's QUICK_FIX (the plain recipe, a narrower space), which --fix overrides;
    on --resume the search keeps the pins it started with (its config's `fixed`)."""
    from spaces import quick_fixed
    return quick_fixed(args.space) if args.quick and not args.resume else {}


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
    """What the search holds at one value (--fix, and --quick's pins), so a reader knows what it did not explore."""
    if not config.fixed:
        return []
    held = ", ".join(f"{k}={v}" for k, v in config.fixed.items())
    quick = config.quick and not config.resume
    return [f"held at one value: {held}" + (" (--quick's first look; --fix NAME=VALUE overrides)" if quick else "")]


def fixed_hyperparameters(config: RunConfig):
    """--fix NAME=VALUE: keras-tuner HyperParameters registered in advance as Fixed (None when
    nothing is pinned); the space tunes the rest."""
    if not config.fixed:
        return None
    import keras_tuner as kt
    hp = kt.HyperParameters()
    for name, value in config.fixed.items():
        hp.Fixed(name, value)
    return hp


def fixed_point_builder(config: RunConfig, options):
    """build(hp) of the space's default model with the --fix'ed hyperparameters held: what a timing
    before the search measures (precision, the budget's epoch estimate)."""
    from spaces import get_space
    space = get_space(config.space)
    return lambda hp: space.build(fixed_hyperparameters(config) or hp, options)
