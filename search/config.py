"""The configuration of one search run: CLI defaults in one place, saved as JSON with the run."""
import json
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

from fer.constants import RUN_CONFIG_FILE, TUNER_RUNS_DIR
from fer.errors import UserError

TUNERS = ("hyperband", "bayesian", "random")
OBJECTIVES = {"val_accuracy": "max", "val_loss": "min", "val_macro_f1": "max"}
PRECISIONS = ("auto", "float32", "mixed_bfloat16", "mixed_float16")
CONFIG_FILE = RUN_CONFIG_FILE
LEADERBOARD_FILE = "leaderboard.csv"
TENSORBOARD_DIR = "tensorboard"  # in the project folder: `tensorboard --logdir tuner_runs/<project>/tensorboard`
TRIAL_INFO_FILE = "fer_trial.json"  # in each trial_<id>/ folder
PROGRESS_FILE = "fer_progress.json"  # ditto, while a distributed worker runs the trial
# Trials of a random or Bayesian search when --max-trials is not given. Hyperband has no default
# cap: it runs its whole plan (`hyperband_iterations` times), so its best configurations reach
# --max-epochs; --max-trials then cuts the plan, and the start-up lines say where.
DEFAULT_TRIALS = 20
MAX_CONSECUTIVE_FAILED = 10  # a failing trial is recorded and the search goes on


@dataclass
class RunConfig:
    space: str = "cnn"
    tuner: str = "hyperband"
    data: str = "demo"
    max_trials: int | None = None  # None: DEFAULT_TRIALS, or Hyperband's whole plan
    max_epochs: int = 30
    batch_size: int = 64
    objective: str = "val_accuracy"
    seed: int = 0
    project: str | None = None
    overwrite: bool = False
    resume: bool = False
    precision: str = "auto"
    weights: str | None = "imagenet"
    runs_dir: str = str(TUNER_RUNS_DIR)
    patience: int = 5
    hyperband_iterations: int = 1
    fixed: dict = field(default_factory=dict)  # --fix NAME=VALUE: hyperparameters held at one value
    tensorboard: bool = True  # per-trial logs in <project>/tensorboard/ (TensorFlow backend)
    time_budget: str | None = None  # as given, e.g. "2h"; each session (run or --resume) gets its own
    report: bool = False  # --report: the time budget covers the search, the winners' retraining and the report
    recipe: dict = field(default_factory=dict)  # --recipe: its name, path, sha256 and contents (search.recipe_files)
    # filled in by the runner, for the record
    resolved: dict = field(default_factory=dict)

    @property
    def project_name(self) -> str:
        return self.project or f"{self.space}-{self.tuner}"

    @property
    def project_dir(self) -> Path:
        return Path(self.runs_dir) / self.project_name

    @property
    def trials_cap(self) -> int | None:
        """The number of trials the tuner stops at (None: Hyperband's plan decides)."""
        if self.max_trials is None and self.tuner != "hyperband":
            return DEFAULT_TRIALS
        return self.max_trials

    @property
    def direction(self) -> str:
        return OBJECTIVES[self.objective]

    def to_json(self) -> str:
        return json.dumps({**asdict(self), "project": self.project_name}, indent=2) + "\n"

    @classmethod
    def load(cls, project_dir: Path) -> "RunConfig":
        path = Path(project_dir) / CONFIG_FILE
        try:
            data = json.loads(path.read_text())
        except (ValueError, UnicodeDecodeError) as e:  # truncated or damaged: the search's settings are lost
            raise UserError(f"{path}: cannot be read ({e}); without it the search can be neither resumed nor "
                            "reported: start it again with --overwrite") from None
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})


def typed_value(value):
    """A hyperparameter value as given on a command line or read back from a CSV: int, float, bool or
    text (anything not a string is returned as it is)."""
    if not isinstance(value, str):
        return value
    if value.lower() in ("true", "false"):
        return value.lower() == "true"
    for cast in (int, float):
        try:
            return cast(value)
        except ValueError:
            pass
    return value
