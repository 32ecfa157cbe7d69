"""Run one timed step in this (fresh) process and print its seconds and peak memory as JSON.

Each benchmark side runs in its own child process, so peak resident memory (ru_maxrss) is that
side's alone.
"""
import json
import resource
import sys
import time


def measure(fn) -> None:
    start = time.perf_counter()
    extra = fn() or {}
    seconds = time.perf_counter() - start
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"seconds": seconds, "peak_mb": peak_mb, **extra}))
    sys.stdout.flush()
