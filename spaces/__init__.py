"""spaces: one module per model family, each a pure `build(hp, options)`; the registry.

Adding a space means adding one module and one line in SPACES; the tests are parametrised
over this registry, so a new space is tested automatically.
"""
import importlib
from types import ModuleType

from fer.errors import UserError
from spaces.common import SpaceOptions

SPACES = {
    "baseline": "spaces.baseline",
    "cnn": "spaces.cnn",
    "mobilenet": "spaces.mobilenet",
}


def get_space(name: str) -> ModuleType:
    if name not in SPACES:
        raise UserError(f"unknown space {name!r} (choose from {', '.join(SPACES)})")
    return importlib.import_module(SPACES[name])


__all__ = ["SPACES", "SpaceOptions", "get_space"]
