"""Benchmark: batch jobs through kob's queue, beside the same containers started by hand over SSH.

    .venv/bin/python bench/jobs.py [--vms 10] [--jobs 20] [--rounds 5]

Brings up its own lab (network 1, /var/lib/kob-bench-lab) and takes it down. Each round:
  kob job dispatch   `kob job dispatch --until-done` for N queued jobs of `sh -c :` (1 CPU each)
                     until all succeeded: placement, start, follow, output kept, removal
  kob job submit     the N submissions before it: `kob job submit --count N`
  ssh, by hand       the baseline: the same N `docker run --rm IMG sh -c :`, one OpenSSH client
                     per VM at a time (N / VMs rounds), no queue, no output kept
  dispatch pass      one pass in a process whose SSH connections are open, with one job
                     running on every VM and nothing to change: what kob serve pays per tick
Prints medians and ratios to the baseline.
"""

from __future__ import annotations

import argparse
import asyncio
import subprocess
import time
from pathlib import Path

from common import bench_lab, kob, print_medians, timed
from kob.jobs.dispatch import Dispatcher
from kob.lab.lab import Lab
from kob.spec.inventory import load_inventory
from kob.store import open_store
from kob.transport.ssh import SshPool

IMAGE = "kob-demo/web:1"
NO_SERVICES = "\n"


def by_hand(lab: Lab, count: int) -> None:
    addresses = [vm["address"] for vm in lab.state["vms"].values()]
    for first in range(0, count, len(addresses)):
        clients = [subprocess.Popen(["ssh", "-i", str(lab.layout.client_key), "-o",
                                     f"UserKnownHostsFile={lab.layout.known_hosts}", "-o", "BatchMode=yes",
                                     f"root@{address}", f"docker run --rm {IMAGE} sh -c :"],
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                   for address in addresses[:count - first]]
        assert all(client.wait() == 0 for client in clients)


def submit(inventory: Path, count: int) -> None:
    kob("job", "submit", str(inventory), "--count", str(count), "--image", IMAGE, "--cpus", "1", "--", "sh", "-c", ":")


def run_queue(inventory: Path) -> None:
    kob("job", "dispatch", str(inventory), "--until-done", "--every", "0.2")


async def warm_passes(inventory: Path, rounds: int, vms: int) -> list[float]:
    inv = load_inventory(inventory)
    kob("job", "submit", str(inventory), "--count", str(vms), "--image", IMAGE, "--cpus", "1", "--", "sleep", "600")
    async with open_store(inv.state_url) as store, SshPool() as pool:
        dispatcher = Dispatcher(inv, store, pool, say=lambda line: None)
        await dispatcher.dispatch()  # connects, starts one sleeper per VM
        took = []
        for _ in range(rounds):
            start = time.perf_counter()
            report = await dispatcher.dispatch()
            took.append(time.perf_counter() - start)
            assert not report.started and not report.ended and report.active == vms, report
        for job in await dispatcher.book.all():
            if job.state == "running":
                await dispatcher.cancel(job)
        return took


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--vms", type=int, default=10)
    parser.add_argument("--jobs", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    with bench_lab(args.vms, NO_SERVICES, "jobs") as (lab, inventory):
        times: dict[str, list[float]] = {"ssh, by hand": [], "kob job dispatch": [], "kob job submit": []}
        for _ in range(args.rounds):
            times["ssh, by hand"].append(timed(lambda: by_hand(lab, args.jobs)))
            times["kob job submit"].append(timed(lambda: submit(inventory, args.jobs)))
            times["kob job dispatch"].append(timed(lambda: run_queue(inventory)))
        times["dispatch pass, warm"] = asyncio.run(warm_passes(inventory, args.rounds, args.vms))
    print_medians(f"{args.jobs} jobs of `sh -c :` on {args.vms} VMs, {args.rounds} rounds", times, "ssh, by hand")


if __name__ == "__main__":
    main()
