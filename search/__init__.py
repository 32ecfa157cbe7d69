"""search: the workflow (CLI, tuners, callbacks, leaderboard, budgets, distributed search, reports).

Importing it does nothing but define things; `search.run` and `search.report` set the process up
(quiet backend start, TensorFlow's allocator) when they run.
"""
