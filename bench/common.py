"""What the benchmarks share: running kob as a user would, and timing a call.

Each benchmark is a script run with the virtualenv's Python, where kob is installed
(`make test` installs it), from any folder: `.venv/bin/python bench/deploy.py --help`.
Python puts a script's own folder first on sys.path, so `from common import ...`
finds this file; nothing edits sys.path.
"""

from __future__ import annotations

import os
import resource
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from kob.lab.lab import Lab
from kob.lab.layout import LabLayout


def kob(*args: str, env: dict | None = None) -> str:
    """`python -m kob ARGS`; its stdout, or exit with what it printed."""
    done = subprocess.run([sys.executable, "-m", "kob", *args], check=False, capture_output=True, text=True,
                          env={**os.environ, **(env or {})})
    if done.returncode != 0:
        raise SystemExit(f"kob {' '.join(args)} failed:\n{done.stdout}{done.stderr}")
    return done.stdout


def precompile_kob(folder: Path | None = None) -> None:
    """Byte-compile kob (this one, or the package in ``folder``) as installing it does: where
    PYTHONDONTWRITEBYTECODE is set, each `python -m kob` would otherwise compile every module it imports
    again (the tools it is compared with are installed)."""
    import compileall

    import kob as package

    compileall.compile_dir(folder or Path(package.__file__).parent, quiet=1)


def timed(fn) -> float:
    """Seconds ``fn()`` took."""
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def cpu_seconds() -> float:
    """User+sys seconds of this process and of its children waited for so far."""
    mine, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return mine.ru_utime + mine.ru_stime + children.ru_utime + children.ru_stime


def timed_cpu(fn) -> tuple[float, float]:
    """Wall and CPU seconds (this process and the children it waited for) that ``fn()`` took."""
    cpu, start = cpu_seconds(), time.perf_counter()
    fn()
    return time.perf_counter() - start, cpu_seconds() - cpu


def process_cpu(pid: int) -> float:
    """User+sys seconds a running process has used (from /proc; not its children)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def bench_layout(net: int) -> LabLayout:
    """The benchmarks' lab on network ``net``: /var/lib/kob-bench-lab for 1, else /var/lib/kob-bench-lab-NET."""
    return LabLayout(Path("/var/lib/kob-bench-lab" + ("" if net == 1 else f"-{net}")), net=net)


def load_average() -> str:
    return " ".join(f"{n:.2f}" for n in os.getloadavg())


@dataclass(frozen=True)
class Cost:
    """What one run cost the manager: wall seconds, CPU seconds (user+sys of the process tree it waited for),
    and the peak resident memory of its largest process, in MB."""

    wall: float
    cpu: float
    peak_mb: float


def measured(*argvs: list[str], env: dict[str, str] | None = None) -> Cost:
    """Run the commands at once, quiet; exit if one fails.

    CPU: os.wait4's rusage of each (its whole waited-for tree). Peak memory: each runs under /usr/bin/time,
    whose %M is the process's own, not inflated by this large Python process it was forked from (a fork's
    resident pages count in the child's ru_maxrss until it execs).
    """
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="kob-bench-run-") as scratch:
        peaks = [Path(scratch) / f"peak{k}" for k in range(len(argvs))]
        with open(Path(scratch) / "out", "w+b") as out:
            procs = [subprocess.Popen(["/usr/bin/time", "-f", "%M", "-o", str(peak), *argv], stdin=subprocess.DEVNULL,
                                      stdout=out, stderr=out, env=env) for argv, peak in zip(argvs, peaks)]
            cpu = 0.0
            for proc, argv in zip(procs, argvs):
                _, status, usage = os.wait4(proc.pid, 0)
                proc.returncode = os.waitstatus_to_exitcode(status)
                cpu += usage.ru_utime + usage.ru_stime
                if proc.returncode != 0:
                    out.seek(0)
                    raise SystemExit(f"{' '.join(argv)} failed (exit {proc.returncode}):\n"
                                     f"{out.read()[-2000:].decode(errors='replace')}")
        wall = time.perf_counter() - start
        peak_kb = max(int(peak.read_text().split()[-1]) for peak in peaks)
    return Cost(wall, cpu, peak_kb / 1024)


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
def connection_holder(inventory: Path) -> Iterator[tuple[int, dict]]:
    """A `kob connect INVENTORY` process with its socket in a private folder: (its pid, the environment that
    makes kob commands find it); stopped at the end."""
    folder = tempfile.TemporaryDirectory(prefix="kob-bench-holder-", dir="/tmp")
    env = {**os.environ, "KOB_HOLDER_DIR": folder.name}
    log = Path(folder.name) / "connect.log"
    with open(log, "wb") as out:
        holder = subprocess.Popen([sys.executable, "-m", "kob", "connect", str(inventory)], stdout=out,
                                  stderr=subprocess.STDOUT, env=env)
    try:
        deadline = time.monotonic() + 120
        while "kob connect: holding" not in log.read_text():
            if holder.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"kob connect did not start: {log.read_text()}")
            time.sleep(0.1)
        yield holder.pid, {"KOB_HOLDER_DIR": folder.name}
    finally:
        holder.send_signal(signal.SIGTERM)
        holder.wait(timeout=30)
        folder.cleanup()


@contextmanager
def bench_lab(vms: int, services: str, name: str, net: int = 1) -> Iterator[tuple[Lab, Path]]:
    """The benchmarks' own lab (network ``net``) with ``services`` deployed; always taken down.

    The inventory is written outside the lab dir, since `lab down` removes only its own files.
    """
    lab = Lab(bench_layout(net))
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
