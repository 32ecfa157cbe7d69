"""What a space's build declares: every hyperparameter with its values, default and condition
(`search.run --show-space`), and the check of `--fix` and recipe pins against them.

Nothing is trained: the space is built with random-init weights (`weights=None`) to collect its
hyperparameters, and the models are dropped at once.
"""
import difflib
import functools

from fer.errors import UserError

MAX_PARENT_VALUES = 16  # an Int parent with more values than this is not built at each of them


@functools.lru_cache(maxsize=None)  # one process asks twice: checking the pins, then --show-space
def declared_hyperparameters(space: str) -> tuple:
    """keras-tuner's hyperparameters of the space, each name once, in the order its build declares them.

    A build registers only the declarations its code reaches: under `hp.conditional_scope(parent,
    values)` keras-tuner registers what the scope declares whatever the parent holds, but a space
    may put a plain `if` on the parent's value inside the scope (keras-tuner's model-selection
    pattern), and then what it declares shows only on builds that take that branch. So the space is
    built at its defaults, noting the parent of every conditional scope it opens, then once at each
    other value of each parent (a parent first opened by such a build: from that build's values),
    each time with fresh HyperParameters holding those values. Every build holds the speedrun's
    ingredients at their off values, so those the space takes register (spaces.speedrun)."""
    import keras

    from spaces import SpaceOptions, get_space
    from spaces.speedrun import OFF
    build, found, known_parents, todo = get_space(space).build, {}, set(), [{}]
    while todo:
        preset = todo.pop(0)
        hp = scope_recorder()()
        hp.values.update({**OFF, **preset})  # a hyperparameter keeps a value already present when it registers
        try:
            build(hp, SpaceOptions(weights=None))
        except Exception:  # noqa: BLE001 - a branch the space refuses still declared what it reached
            if not preset:
                raise  # the defaults must build
        finally:
            keras.backend.clear_session()
        for p in hp.space:
            found.setdefault(p.name, p)
        for parent in sorted(hp.parents - known_parents):
            todo += [{**preset, parent: v} for v in parent_values(found[parent]) if v != hp.values.get(parent)]
        known_parents |= hp.parents
    return tuple(found.values())


@functools.lru_cache(maxsize=None)
def scope_recorder():
    """A kt.HyperParameters class that notes the parent of each conditional scope a build opens
    (made on first use: keras-tuner is imported only then)."""
    import contextlib

    import keras_tuner as kt

    class ScopeRecorder(kt.HyperParameters):
        def __init__(self):
            super().__init__()
            self.parents = set()

        @contextlib.contextmanager
        def conditional_scope(self, parent_name, parent_values):
            self.parents.add(parent_name)
            with super().conditional_scope(parent_name, parent_values):
                yield
    return ScopeRecorder


def parent_values(p) -> list:
    """The values a condition's parent is built with: all of a Choice's, a Boolean's or a small Int's."""
    kind = type(p).__name__
    if kind == "Choice":
        return list(p.values)
    if kind == "Boolean":
        return [False, True]
    if kind == "Int" and (p.max_value - p.min_value) // (p.step or 1) < MAX_PARENT_VALUES:
        return list(range(p.min_value, p.max_value + 1, p.step or 1))
    return []


def text(value) -> str:
    """A value as --fix spells it (true/false in lower case)."""
    return str(value).lower() if isinstance(value, bool) else str(value)


def bound(value) -> str:
    """A range's end, short (0.0003, 1e-05)."""
    return f"{value:g}" if isinstance(value, float) else str(value)


def values_text(p, extra=()) -> str:
    """What a hyperparameter takes: its choices, or its range with step and sampling; and what else
    `--fix` may give it (its PINNED_ONLY entry `extra`)."""
    kind = type(p).__name__
    if kind in ("Choice", "Boolean", "Fixed"):
        out = ", ".join(text(v) for v in declared_values(p))
    else:
        out = f"{bound(p.min_value)} to {bound(p.max_value)}"
        out += f", step {bound(p.step)}" if p.step not in (None, 1) else ""
        out += f", {p.sampling} sampling" if p.sampling not in (None, "linear") else ""
    others = pinned_extra(p, extra)
    return out + (f" (--fix also: {others})" if others else "")


def declared_values(p) -> list:
    kind = type(p).__name__
    return list(p.values) if kind == "Choice" else [True, False] if kind == "Boolean" else [p.value]


def pinned_extra(p, extra) -> str:
    """What `--fix` may give beyond the declared values: a PinRange, or the values not declared."""
    if not isinstance(extra, tuple):
        return str(extra)
    if type(p).__name__ not in ("Choice", "Boolean", "Fixed"):
        return ", ".join(text(v) for v in extra)
    return ", ".join(text(v) for v in extra if not any(same_kind(v, d) and v == d for d in declared_values(p)))


def condition_text(p) -> str:
    return "; ".join(f"{c.name} in {', '.join(text(v) for v in c.values)}" for c in p.conditions)


def same_kind(value, ref) -> bool:
    """Whether `value` has the type `ref` has (an int serves where a float is declared, a bool never
    serves as a number)."""
    if isinstance(ref, bool) or isinstance(value, bool):
        return isinstance(ref, bool) and isinstance(value, bool)
    if isinstance(ref, str) or isinstance(value, str):
        return isinstance(ref, str) and isinstance(value, str)
    return isinstance(value, int) if isinstance(ref, int) else isinstance(value, (int, float))


def value_problem(p, value, extra=()) -> str | None:
    """Why `value` does not fit hyperparameter `p` (None when it does); `extra`: its PINNED_ONLY entry."""
    if not isinstance(extra, tuple):
        if value in extra:
            return None
        return f"{p.name} takes a number from {extra}"
    kind = type(p).__name__
    if kind in ("Choice", "Boolean", "Fixed"):
        allowed = declared_values(p) + [e for e in extra if not any(same_kind(e, d) and e == d for d in declared_values(p))]
        if any(same_kind(value, a) and value == a for a in allowed):
            return None
        words = " or ".join(map(text, allowed)) if len(allowed) <= 2 else "one of " + ", ".join(map(text, allowed))
        return f"{p.name} takes {words}"
    number = int if kind == "Int" else (int, float)
    if isinstance(value, number) and not isinstance(value, bool) and p.min_value <= value <= p.max_value:
        return None
    return f"{p.name} takes {'a whole number' if kind == 'Int' else 'a number'} from {bound(p.min_value)} to {bound(p.max_value)}"


def check_pins(space: str, pins: dict, source: str, declared: tuple | None = None) -> None:
    """A one-line UserError for the first pin the space cannot hold: an unknown name (with the
    closest valid names), a value outside its choices or range, or of the wrong type.
    `source` says where the pin came from ("--fix", "search/recipes/cpu-2h.toml [pins]")."""
    from spaces import pinned_only
    if not pins:
        return
    by_name = {p.name: p for p in (declared if declared is not None else declared_hyperparameters(space))}
    extra = pinned_only(space)
    for name, value in pins.items():
        p = by_name.get(name)
        if p is None:
            close = difflib.get_close_matches(name, list(by_name), n=3, cutoff=0.6)
            hint = f"closest: {', '.join(close)}" if close else f"it has {', '.join(by_name)}"
            raise UserError(f"{source} {name}={text(value)}: the {space} space has no hyperparameter {name!r} "
                            f"({hint}; python -m search.run --space {space} --show-space lists them)")
        problem = value_problem(p, value, extra.get(name, ()))
        if problem:
            raise UserError(f"{source} {name}={text(value)}: {problem} in the {space} space")


def space_lines(space: str, held: dict, declared: tuple | None = None) -> list[str]:
    """`--show-space`: a table of every hyperparameter the space declares; `held` maps a pinned name
    to what holds it ("recipe cpu-2h: 44", "--fix: 44")."""
    from spaces import SPACES, pinned_only
    declared = declared if declared is not None else declared_hyperparameters(space)
    extra = pinned_only(space)
    header = ("name", "type", "values", "default", "active when", "held")
    rows = [(p.name, type(p).__name__, values_text(p, extra.get(p.name, ())),
             text(p.value if type(p).__name__ == "Fixed" else p.default), condition_text(p) or "always",
             held.get(p.name, "")) for p in declared]
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    lines = [f"the {space} space ({SPACES[space].replace('.', '/')}.py): {len(rows)} hyperparameters, "
             f"{sum(1 for r in rows if r[5])} held; built with weights=None, nothing trained"]
    lines += ["  ".join(cell.ljust(w) for cell, w in zip(r, widths)).rstrip() for r in [header, *rows]]
    return lines
