"""search: the workflow (CLI, tuners, callbacks, leaderboard, reports)."""
