"""Benchmark: what the status page costs, beside `kob status` (the command a user would run instead).

    .venv/bin/python bench/page.py [--vms 10] [--replicas 20] [--rounds 7] [--net 1]

Brings up its own lab (network 1, /var/lib/kob-bench-lab; another --net in a folder of its own) with
the replicas running behind HAProxy on vm1, and takes it down. Each round, interleaved so that drift
hits every way alike:
  kob status         the baseline: the whole command (`kob status --json`)
  page refresh       one refresh of the page's data inside a process whose SSH connections
                     are open: observe + sample every VM, HAProxy's `show stat`, the store
  GET /api/v1/...    one request to a running `kob web` (waitress), answered from the last refresh
  GET /              the same for the HTML overview
  GET /metrics       Prometheus' text: the last refresh plus each VM's newest kept sample from the store
Prints medians and ratios to `kob status`, then the page process's CPU seconds (user+sys) per request of each kind.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from common import bench_lab, kob, print_medians, timed
from kob.view.watch import Watcher
from kob.spec.inventory import load_inventory
from kob.store import open_store
from kob.transport.ssh import SshPool

SERVICES = """
services:
  web:
    image: kob-demo/web:1
    replicas: {replicas}
    port: 80
lb:
  frontends:
    http: {{bind: 80, default: web}}
"""
PORT = 18089


async def warm_refreshes(inventory: Path, rounds: int) -> list[float]:
    inv = load_inventory(inventory)
    async with open_store(inv.state_url) as store, SshPool() as pool:
        watcher = Watcher(inv, store, pool)
        await watcher.refresh()  # connects
        took = []
        for _ in range(rounds):
            start = time.perf_counter()
            overview = await watcher.refresh()
            took.append(time.perf_counter() - start)
            assert not overview["problems"], overview["problems"]
        return took


def get(path: str) -> None:
    with urllib.request.urlopen(f"http://127.0.0.1:{PORT}/{path}", timeout=10) as reply:
        reply.read()


def start_page(inventory: Path) -> subprocess.Popen:
    page = subprocess.Popen([sys.executable, "-m", "kob", "web", str(inventory), "--bind", f"127.0.0.1:{PORT}"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(300):
        try:
            get("healthz")
            get("api/v1/overview")
            return page
        except OSError:
            time.sleep(0.1)
    page.kill()
    raise SystemExit("kob web did not come up")


def cpu_seconds(pid: int) -> float:
    """User+sys CPU seconds a process (all its threads) has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def timed_get(path: str, pid: int, cpu: dict[str, float]) -> float:
    """Wall seconds of one GET; the page's CPU seconds for it added to ``cpu[path]``."""
    before = cpu_seconds(pid)
    took = timed(lambda: get(path))
    cpu[path] = cpu.get(path, 0.0) + cpu_seconds(pid) - before
    return took


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--vms", type=int, default=10)
    parser.add_argument("--replicas", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--net", type=int, default=1)
    args = parser.parse_args()
    page = None
    with bench_lab(args.vms, SERVICES.format(replicas=args.replicas), "page", args.net) as (_, inventory):
        try:
            page = start_page(inventory)
            times: dict[str, list[float]] = {"kob status": [], "page refresh": [], "GET /api/v1/overview": [],
                                             "GET /": [], "GET /metrics": []}
            cpu: dict[str, float] = {}
            for _ in range(args.rounds):
                times["kob status"].append(timed(lambda: kob("status", str(inventory), "--json")))
                times["page refresh"] += asyncio.run(warm_refreshes(inventory, 1))
                for path in ("api/v1/overview", "", "metrics"):
                    times[f"GET /{path}"].append(timed_get(path, page.pid, cpu))
            print_medians(f"{args.vms} VMs, {args.replicas} replicas, {args.rounds} rounds", times, "kob status")
            for path, seconds in cpu.items():
                print(f"  page CPU per GET /{path:<17} {seconds / args.rounds * 1000:8.1f} ms (user+sys)")
        finally:
            if page is not None:
                page.send_signal(signal.SIGTERM)
                page.wait(30)


if __name__ == "__main__":
    main()
