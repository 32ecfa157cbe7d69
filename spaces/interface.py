"""What a search space declares: the one interface the registry, the search and the report read.

A space module defines `SPACE = Space(...)` at its end. The harness builds only through
`Space.build`, so trials saved by an earlier version of a space are rebuilt the way they were
trained (`LegacyRebuild`) without a branch inside the space's own `build`.
"""
from dataclasses import dataclass, field
from typing import Callable


@dataclass(frozen=True)
class LegacyRebuild:
    """Trials an earlier version of a space saved, and how to rebuild them as they were trained."""
    what: str  # which trials, in a line
    matches: Callable  # (hp) -> bool, called before anything is declared
    build: Callable  # (hp, options) -> keras.Model


@dataclass(frozen=True)
class Space:
    name: str
    builder: Callable  # build(hp, options) -> compiled keras.Model: the one source of the space
    doc: str  # the module's docstring
    key_hps: tuple = ()  # hyperparameters the leaderboard shows as columns
    quick_fix: dict = field(default_factory=dict)  # what `search.run --quick` holds
    pinned_only: dict = field(default_factory=dict)  # values `--fix` may give that build does not draw
    legacy: tuple = ()  # LegacyRebuild, tried in order

    def build(self, hp, options=None):
        for old in self.legacy:
            if old.matches(hp):
                return old.build(hp, options)
        return self.builder(hp, options)
