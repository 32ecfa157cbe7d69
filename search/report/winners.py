"""Which trials of a search a report retrains: the completed ones, best first by the search's objective."""
from pathlib import Path

from fer.errors import UserError
from search.config import LEADERBOARD_FILE, RunConfig
from search.project import load_project


def completed_trials(run: str, top: int) -> tuple[RunConfig, list[dict], list[dict]]:
    """The run's config, its leaderboard rows and its completed trials best first; or a one-line error."""
    from search.leaderboard import read_csv
    folder = Path(run)
    config = load_project(folder)
    rows = read_csv(folder) if (folder / LEADERBOARD_FILE).is_file() else []
    done = [r for r in rows if r["status"] == "COMPLETED" and r["objective"] != ""]
    if not done:
        raise UserError(f"{folder / LEADERBOARD_FILE}: no completed trial to report on")
    if top < 1 or top > len(done):
        raise UserError(f"--top {top}: {folder} has {len(done)} completed trial{'s' * (len(done) != 1)}")
    done.sort(key=lambda r: float(r["objective"]), reverse=config.direction == "max")
    return config, rows, done
