"""spaces: one module per model family, each a pure `build(hp, options)`; the registry.

Adding a space means adding one module and one line in SPACES; the tests are parametrised
over this registry, so a new space is tested automatically.
"""
import importlib
from types import ModuleType

from fer.errors import UserError

SPACES = {
    "baseline": "spaces.baseline",
    "cnn": "spaces.cnn",
    "mobilenet": "spaces.mobilenet",
    "resnet": "spaces.resnet",
}


def get_space(name: str) -> ModuleType:
    if name not in SPACES:
        raise UserError(f"unknown space {name!r} (choose from {', '.join(SPACES)})")
    return importlib.import_module(SPACES[name])


def quick_fixed(name: str) -> dict:
    """The hyperparameters `search.run --quick` holds for this space: its QUICK_FIX, else the recipe's."""
    from spaces.recipe import QUICK_FIX
    return dict(getattr(get_space(name), "QUICK_FIX", QUICK_FIX))


def pinned_only(name: str) -> dict:
    """Values `--fix` may give although the space's build does not draw them: the shared ones
    (spaces.common.PINNED_ONLY) and the space module's own PINNED_ONLY (its Fixed hyperparameters)."""
    from spaces.common import PINNED_ONLY
    return {**PINNED_ONLY, **getattr(get_space(name), "PINNED_ONLY", {})}


def __getattr__(name):  # lazy: the registry's names must not import Keras (`--help` stays fast)
    if name == "SpaceOptions":
        from spaces.common import SpaceOptions
        return SpaceOptions
    raise AttributeError(name)


__all__ = ["SPACES", "SpaceOptions", "get_space", "pinned_only", "quick_fixed"]
