"""Which trials of a search a report retrains: the completed ones, best first by the search's objective."""
from pathlib import Path

from fer.errors import UserError
from search.config import LEADERBOARD_FILE, RunConfig
from search.project import load_project
from search.project_files import unreadable_trials


def distinct_configurations(done: list[dict]) -> list[dict]:
    """The best trial of each distinct configuration, best first (`done` sorted best first).

    A Hyperband continuation has its parent's hyperparameters: retraining both would train one
    configuration twice, and counting both would weigh it twice in the importance estimate.
    """
    from search.leaderboard import hp_columns
    hps = hp_columns(done)
    seen, out = set(), []
    for row in done:
        key = tuple(row.get(h, "") for h in hps)
        if key not in seen:
            seen.add(key)
            out.append(row)
    return out


def completed_trials(run: str, top: int) -> tuple[RunConfig, list[dict], list[dict]]:
    """The run's config, its leaderboard rows and the best trial of each distinct configuration,
    best first; or a one-line error."""
    from search.leaderboard import read_csv
    folder = Path(run)
    config = load_project(folder)
    rows = read_csv(folder) if (folder / LEADERBOARD_FILE).is_file() else []
    unreadable = unreadable_trials(config.project_dir)  # left out; the report says which (search.report.outputs)
    done = [r for r in rows if r["status"] == "COMPLETED" and r["objective"] not in ("", None)
            and r["trial_id"] not in unreadable]
    if not done:
        raise UserError(f"{folder / LEADERBOARD_FILE}: no completed trial to report on")
    done.sort(key=lambda r: float(r["objective"]), reverse=config.direction == "max")
    distinct = distinct_configurations(done)
    if top < 1 or top > len(distinct):
        raise UserError(f"--top {top}: {folder} has {len(distinct)} distinct completed "
                        f"configuration{'s' * (len(distinct) != 1)} ({len(done)} completed trials)")
    return config, rows, distinct
