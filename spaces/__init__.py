"""spaces: one module per model family, each a pure `build(hp, options)`; the registry.

Adding a space means adding one module, ending with its `SPACE = Space(...)` declaration
(`spaces.interface`), and one line in SPACES; the tests are parametrised over this registry, so
a new space is tested automatically.
"""
import importlib

from fer.errors import UserError
from spaces.interface import LegacyRebuild, Space

SPACES = {
    "baseline": "spaces.baseline",
    "cnn": "spaces.cnn",
    "mobilenet": "spaces.mobilenet",
    "resnet": "spaces.resnet",
}


def get_space(name: str) -> Space:
    """The registered space's declaration (its module's SPACE)."""
    if name not in SPACES:
        raise UserError(f"unknown space {name!r} (choose from {', '.join(SPACES)})")
    return importlib.import_module(SPACES[name]).SPACE


def quick_fixed(name: str) -> dict:
    """The hyperparameters `search.run --quick` holds for this space."""
    return dict(get_space(name).quick_fix)


def pinned_only(name: str) -> dict:
    """Values `--fix` may give although the space's build does not draw them: the shared ones
    (spaces.common.PINNED_ONLY) and the space's own (`Space.pinned_only`: its Fixed hyperparameters)."""
    from spaces.common import PINNED_ONLY
    return {**PINNED_ONLY, **get_space(name).pinned_only}


def __getattr__(name):  # lazy: the registry's names must not import Keras (`--help` stays fast)
    if name == "SpaceOptions":
        from spaces.common import SpaceOptions
        return SpaceOptions
    raise AttributeError(name)


__all__ = ["SPACES", "LegacyRebuild", "Space", "SpaceOptions", "get_space", "pinned_only", "quick_fixed"]
