"""What `search.report` is asked to do: every default in one place (its parser shows them), turned
from the command line into a ReportConfig once; a search made with a recipe sets the report's
defaults from the recipe's [report] table, recorded in the run's config.json."""
from dataclasses import dataclass, field, replace

from fer.constants import MODELS_DIR, REPORTS_DIR
from fer.errors import UserError

TRAIN_ON = ("train", "train+val")  # what winners are retrained on (--train-on)
TTA_CHOICES = ("flip", "ten-crop")
# What a recipe's [report] table may set: each key's type and, where it has them, its choices.
RECIPE_KEYS = {"top": (int, None), "epochs": (int, None), "time_budget": (str, None), "tta": (str, TTA_CHOICES),
               "train_on": (str, TRAIN_ON), "retrain_fix": (dict, None)}


@dataclass
class ReportConfig:
    run: str | None = None             # a search folder; or
    compare: list | None = None        # several, for one comparison report
    top: int = 3                       # distinct configurations retrained per run
    epochs: int | None = None          # None: the search's --max-epochs (train+val: the trial's best epoch)
    train_on: str = "train"
    tta: str | None = None             # None, or one of TTA_CHOICES
    time_budget: str | None = None     # wall clock for the whole report, e.g. "92m"
    tta_budget: str | None = None      # what TTA's share is judged against (the one command: its whole budget); None: time_budget
    data: str | None = None            # None: the data the search used
    precision: str | None = None       # None: the search's dtype policy
    out: str | None = None             # --compare: the report folder's name
    export: list = field(default_factory=list)
    models_dir: str = str(MODELS_DIR)
    reports_dir: str = str(REPORTS_DIR)
    overwrite: bool = False            # replace an earlier report of the run instead of keeping it aside
    retrain_fix: dict = field(default_factory=dict)  # hyperparameters the winners retrain at, e.g. a larger input_size
    recipe: dict = field(default_factory=dict)  # {"name": ..., "options": {...}}: what the run's recipe set here

    def check(self) -> None:
        """One line for a value no report can use (argparse has checked types and choices)."""
        if self.epochs is not None and self.epochs < 1:
            raise UserError(f"--epochs must be at least 1, got {self.epochs}")
        if self.top < 1:
            raise UserError(f"--top must be at least 1, got {self.top}")
        if self.time_budget is not None:
            from search.budget import parse_duration
            parse_duration(self.time_budget)


def with_recipe_defaults(config: ReportConfig, recipe: dict, given: set[str]) -> ReportConfig:
    """`config` with the options of the search's recipe (its config.json `recipe` record) that the
    command line did not give; `given`: the options it gave (their ReportConfig field names)."""
    table = (recipe.get("contents") or {}).get("report") or {}
    used = {k: v for k, v in table.items() if k in RECIPE_KEYS and k not in given}
    if not used:
        return config
    return replace(config, **used, recipe={"name": recipe.get("name"), "options": used})


def recipe_words(config: ReportConfig) -> str | None:
    """The line saying which options came from the search's recipe (None when none did)."""
    if not config.recipe:
        return None
    options = " ".join(f"--{k.replace('_', '-')} {v}" for k, v in config.recipe["options"].items())
    return f"recipe {config.recipe['name']} (from the search's config.json): {options}; flags given override these"
