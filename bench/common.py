"""What the benchmarks share: running kob as a user would, and timing a call.

Each benchmark is a script run with the virtualenv's Python, where kob is installed
(`make test` installs it), from any folder: `.venv/bin/python bench/deploy.py --help`.
Python puts a script's own folder first on sys.path, so `from common import ...`
finds this file; nothing edits sys.path.
"""

from __future__ import annotations

import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from kob.lab.lab import Lab
from kob.lab.layout import LabLayout


def kob(*args: str) -> str:
    """`python -m kob ARGS`; its stdout, or exit with what it printed."""
    done = subprocess.run([sys.executable, "-m", "kob", *args], check=False, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"kob {' '.join(args)} failed:\n{done.stdout}{done.stderr}")
    return done.stdout


def timed(fn) -> float:
    """Seconds ``fn()`` took."""
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def timed_tree(argv: list[str], env: dict | None = None, cwd: Path | None = None) -> tuple[float, float]:
    """Wall seconds and CPU seconds (user+sys of the process tree it waited for) of running ``argv``;
    exits with its output when it fails. Processes that detach (ssh ControlPersist masters) are not counted."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(argv, check=False, capture_output=True, text=True, env={**os.environ, **(env or {})}, cwd=cwd)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise SystemExit(f"{argv[0]} failed:\n{done.stdout[-3000:]}{done.stderr[-2000:]}")
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


@contextmanager
def bench_lab(vms: int, services: str, name: str, net: int = 1) -> Iterator[tuple[Lab, Path]]:
    """The benchmarks' own lab (network ``net``, 1 by default) with ``services`` deployed; always taken down.

    The inventory is written outside the lab dir, since `lab down` removes only its own files.
    """
    lab = Lab(LabLayout(Path("/var/lib/kob-bench-lab" + ("" if net == 1 else f"-{net}")), net=net))
    scratch = tempfile.TemporaryDirectory(prefix=f"kob-bench-{name}-")
    try:
        lab.up(vms)
        inventory = Path(scratch.name) / f"bench-{name}.yaml"
        inventory.write_text(lab.layout.inventory.read_text() + services)
        kob("deploy", str(inventory))
        yield lab, inventory
    finally:
        lab.down()
        scratch.cleanup()


def print_medians(title: str, times: dict[str, list[float]], baseline: str) -> None:
    """Each way's median, and its ratio to the baseline's median."""
    base = statistics.median(times[baseline])
    print(f"{title}; machine with {os.cpu_count()} CPUs; median wall time")
    for name, samples in times.items():
        median = statistics.median(samples)
        print(f"  {name:<22} {median * 1000:8.0f} ms   x{median / base:5.2f} of {baseline}")
