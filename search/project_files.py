"""A project's JSON records checked before --resume and a report read them: damaged ones said in
one line, and mended when what they held is recorded elsewhere.

keras-tuner reads oracle.json and every trial_*/trial.json when a search resumes, and a truncated
one stops it with a bare JSONDecodeError naming no file. Here, before keras-tuner loads them:
- oracle.json unreadable: the search's state (which trials ran, Hyperband's brackets) is lost;
  one line says so and how the finished trials can still be reported (exit status 2).
- a trial's trial.json unreadable or missing: the trial runs again with its hyperparameters, read
  from its fer_trial.json or leaderboard.csv; when neither has them it is recorded as failed,
  "lost", and the search goes on. The damaged file is kept beside it as trial.json.unreadable.
- tuner0.json (keras-tuner keeps nothing in it), fer_trial.json (a trial's timings) and
  budget.json (the sessions' record) unreadable: set aside with a line, the search goes on.
A report leaves out the trials whose trial.json it cannot read, and says which.
"""
import copy
import json
import sys
from pathlib import Path

from fer.cache import atomic_write_text
from fer.errors import UserError
from search.config import LEADERBOARD_FILE, TRIAL_INFO_FILE, RunConfig, typed_value

ORACLE_FILE, TRIAL_FILE = "oracle.json", "trial.json"
TUNER_FILES = ("tuner0.json", "chief.json")  # keras-tuner's tuner state ({}), by the tuner id that saved it
ASIDE = ".unreadable"  # trial.json -> trial.json.unreadable
LOST = "lost: its trial.json could not be read and its hyperparameters are recorded nowhere else"


def read_json(path: Path):
    """(content, None), or (None, why it cannot be read); a missing file is (None, "missing")."""
    try:
        return json.loads(Path(path).read_text()), None
    except FileNotFoundError:
        return None, "missing"
    except (OSError, ValueError, UnicodeDecodeError) as e:
        return None, " ".join(str(e).split()) or type(e).__name__


def trial_ids(project_dir: Path, oracle: dict | None = None) -> list[str]:
    """Every trial the folder or the oracle knows of."""
    ids = {p.name[len("trial_"):] for p in Path(project_dir).glob("trial_*") if p.is_dir()}
    ids |= set((oracle or {}).get("start_order", []))
    return sorted(ids)


def unreadable_trials(project_dir: Path) -> dict[str, str]:
    """{trial id: why its trial.json cannot be read}, for the trials with a folder."""
    bad = {}
    for trial_id in trial_ids(project_dir):
        _, why = read_json(Path(project_dir) / f"trial_{trial_id}" / TRIAL_FILE)
        if why:
            bad[trial_id] = why
    return bad


def set_aside(path: Path) -> Path:
    aside = path.with_name(path.name + ASIDE)
    path.replace(aside)
    return aside


def say(line: str) -> None:
    print(line, file=sys.stderr)


def recorded_values(project_dir: Path, trial_id: str) -> tuple[dict | None, str]:
    """A trial's hyperparameter values from our own records, and where they were found."""
    info, _ = read_json(Path(project_dir) / f"trial_{trial_id}" / TRIAL_INFO_FILE)
    if isinstance(info, dict) and isinstance(info.get("hyperparameters"), dict):
        return info["hyperparameters"], TRIAL_INFO_FILE
    from search.leaderboard import BASE_COLUMNS, read_csv
    try:
        rows = read_csv(project_dir)
    except (OSError, ValueError):
        return None, ""
    row = next((r for r in rows if r.get("trial_id") == trial_id), None)
    if row is None:
        return None, ""
    return {k: typed_value(v) for k, v in row.items() if k not in BASE_COLUMNS and k and v not in ("", None)}, \
        LEADERBOARD_FILE


def needs_tuner_values(config: RunConfig, values: dict) -> bool:
    """Hyperband's trials carry keras-tuner's own values (epochs, bracket, parent): the leaderboard lacks some."""
    return config.tuner == "hyperband" and "tuner/epochs" not in values


def mend_trial(config: RunConfig, oracle: dict, trial_id: str, why: str) -> None:
    """Rewrite an unreadable trial.json: to run again with its recorded values, or as failed ("lost")."""
    import keras_tuner as kt
    from keras_tuner.src.engine import trial as trial_module
    project = config.project_dir
    path = project / f"trial_{trial_id}" / TRIAL_FILE
    kept = f" (the damaged file kept as {set_aside(path).name})" if path.exists() else ""
    values, source = recorded_values(project, trial_id)
    hp = kt.HyperParameters.from_config(copy.deepcopy(oracle["hyperparameters"]))  # it turns dicts into objects
    running = [tid for tid in oracle.get("ongoing_trials", {}).values()]
    if values is not None and not needs_tuner_values(config, values):
        hp.values = values
        trial_module.Trial(hyperparameters=hp, trial_id=trial_id, status="RUNNING").save(str(path))
        if trial_id not in running and trial_id not in oracle.setdefault("retry_queue", []):
            oracle["retry_queue"].append(trial_id)
        oracle["end_order"] = [t for t in oracle.get("end_order", []) if t != trial_id]
        say(f"note: {path} could not be read ({why}); trial {trial_id} runs again with its hyperparameters "
            f"from {source}{kept}")
        return
    hp.values = {}
    lost = trial_module.Trial(hyperparameters=hp, trial_id=trial_id, status="FAILED")
    lost.message = LOST
    lost.save(str(path))
    oracle["ongoing_trials"] = {k: v for k, v in oracle.get("ongoing_trials", {}).items() if v != trial_id}
    oracle["retry_queue"] = [t for t in oracle.get("retry_queue", []) if t != trial_id]
    say(f"warning: {path} could not be read ({why}) and trial {trial_id}'s hyperparameters are recorded nowhere "
        f"else: it is lost (recorded as failed) and the search goes on{kept}")


def check_before_resume(config: RunConfig) -> None:
    """Before keras-tuner reloads the project: a one-line UserError when its oracle is unreadable,
    otherwise every damaged record mended or set aside (see the module)."""
    project = config.project_dir
    oracle_path = project / ORACLE_FILE
    oracle, why = read_json(oracle_path)
    if why == "missing":
        return  # no search state yet: keras-tuner starts the search afresh
    if not isinstance(oracle, dict) or "hyperparameters" not in oracle:
        raise UserError(f"{oracle_path}: cannot be read ({why or 'not an oracle'}); the search's state is lost with "
                        f"it, so it cannot be resumed: its completed trials can still be reported (python -m "
                        f"search.report --run {project}), or start the search again with --overwrite")
    mended = False
    for trial_id in trial_ids(project, oracle):
        _, why = read_json(project / f"trial_{trial_id}" / TRIAL_FILE)
        if why:
            mend_trial(config, oracle, trial_id, why)
            mended = True
    if mended:
        atomic_write_text(oracle_path, json.dumps(oracle))
    set_aside_unreadable(project)


def set_aside_unreadable(project: Path) -> None:
    """keras-tuner's tuner file, our per-trial timings and the budget record: set aside when damaged."""
    from search.budget import BUDGET_FILE
    for path in [*(project / name for name in TUNER_FILES), project / BUDGET_FILE,
                 *sorted(project.glob(f"trial_*/{TRIAL_INFO_FILE}"))]:
        if not path.is_file():
            continue
        _, why = read_json(path)
        if not why:
            continue
        if path.name in TUNER_FILES:
            atomic_write_text(path, "{}")  # all keras-tuner keeps there
            say(f"note: {path} could not be read ({why}); written again (it holds nothing else)")
            continue
        aside = set_aside(path)
        what = "the trial's timings are" if path.name == TRIAL_INFO_FILE else "the record of earlier sessions is"
        say(f"note: {path} could not be read ({why}); {what} lost, the damaged file kept as {aside.name}")


def left_out_line(project_dir: Path, bad: dict[str, str]) -> str:
    """What a report says about the trials it could not read."""
    files = "; ".join(f"trial_{t}/{TRIAL_FILE} ({why})" for t, why in sorted(bad.items()))
    return (f"warning: {project_dir}: could not read {files}: left out of the report "
            f"(python -m search.run --resume runs {'them' if len(bad) > 1 else 'it'} again)")
