"""What the benchmarks share: running kob as a user would, and timing a call."""

from __future__ import annotations

import subprocess
import sys
import time


def kob(*args: str) -> str:
    """`python -m kob ARGS`; its stdout, or exit with what it printed."""
    done = subprocess.run([sys.executable, "-m", "kob", *args], capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"kob {' '.join(args)} failed:\n{done.stdout}{done.stderr}")
    return done.stdout


def timed(fn) -> float:
    """Seconds ``fn()`` took."""
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start
