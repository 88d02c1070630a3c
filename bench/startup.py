"""Benchmark: kob's start-up alone, beside the interpreter's own.

    .venv/bin/python bench/startup.py [--rounds 10]

No lab. Each round runs, interleaved: `python3 -c pass` (the python3 on PATH, whatever it is), the venv's
own interpreter with `-c pass` (the floor: kob runs on it), `kob --version` and `kob --help` (`python -m kob`
with the venv's interpreter). Prints medians of wall and CPU seconds (user+sys of the process), the ratio
to the venv's `python -c pass` and the load average, since the machine may be shared.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys

from common import load_average, timed_cpu

WAYS = {
    "python3 -c pass": ["python3", "-c", "pass"],
    "venv python -c pass": [sys.executable, "-c", "pass"],
    "kob --version": [sys.executable, "-m", "kob", "--version"],
    "kob --help": [sys.executable, "-m", "kob", "--help"],
}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=10)
    args = parser.parse_args()
    samples: dict[str, list[tuple[float, float]]] = {name: [] for name in WAYS}
    loads = [load_average()]
    for _ in range(args.rounds):
        for name, argv in WAYS.items():
            samples[name].append(timed_cpu(lambda argv=argv: subprocess.run(argv, check=True, capture_output=True)))
        loads.append(load_average())
    base = statistics.median(wall for wall, _ in samples["venv python -c pass"])
    print(f"start-up, {args.rounds} interleaved rounds, {os.cpu_count()} CPUs; medians: wall, CPU (user+sys)")
    print(f"  python3 is {shutil.which('python3')}; the venv's is {sys.executable}")
    print(f"  load average (1/5/15 min) before and after each round: {' | '.join(loads)}")
    for name, values in samples.items():
        wall = statistics.median(w for w, _ in values)
        cpu = statistics.median(c for _, c in values)
        print(f"  {name:<20} {wall * 1000:6.0f} ms  x{wall / base:5.2f} of venv python -c pass   CPU {cpu * 1000:5.0f} ms")


if __name__ == "__main__":
    main()
