"""search: the workflow (CLI, tuners, callbacks, leaderboard, reports)."""
from search.tf_memory import prefer_system_allocator

prefer_system_allocator()  # before TensorFlow allocates anything: see search/tf_memory.py
