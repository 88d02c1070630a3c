"""Benchmark: one command on N lab VMs, kob's pool against OpenSSH clients.

    .venv/bin/python bench/exec_fanout.py [--vms 10] [--rounds 7]

Brings up its own lab (network 1, /var/lib/kob-bench-lab) and takes it down.
Prints the median wall time of each way and its ratio to kob's, all measured
in the same run:
  kob exec      `kob exec INVENTORY true` (a process: imports, connects, runs)
  kob pool      SshPool.run on every VM from a live process (connects included)
  ssh parallel  one `ssh VM true` process per VM, all at once
  ssh serial    one `ssh VM true` after another
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from kob.lab.lab import Lab  # noqa: E402
from kob.lab.layout import LabLayout  # noqa: E402
from kob.spec.inventory import load_inventory  # noqa: E402
from kob.transport.ssh import SshPool  # noqa: E402
from kob.transport.targets import ssh_target  # noqa: E402


def ssh_argv(lab: Lab, address: str) -> list[str]:
    return ["ssh", "-i", str(lab.layout.client_key), "-o", f"UserKnownHostsFile={lab.layout.known_hosts}",
            "-o", "BatchMode=yes", f"root@{address}", "true"]


def timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--vms", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    lab = Lab(LabLayout(Path("/var/lib/kob-bench-lab"), net=1))
    try:
        lab.up(args.vms)
        inventory = load_inventory(lab.layout.inventory)
        targets = [ssh_target(inventory, host) for host in inventory.hosts]
        addresses = [host.address for host in inventory.hosts]

        async def pool_once() -> None:
            async with SshPool() as pool:
                results = await asyncio.gather(*(pool.run(t, ["true"]) for t in targets))
            assert all(r.ok for r in results)

        ways = {
            "kob exec": lambda: subprocess.run([sys.executable, "-m", "kob", "exec", str(lab.layout.inventory), "true"],
                                               check=True, capture_output=True),
            "kob pool": lambda: asyncio.run(pool_once()),
            "ssh parallel": lambda: [p.wait() for p in [subprocess.Popen(ssh_argv(lab, a)) for a in addresses]],
            "ssh serial": lambda: [subprocess.run(ssh_argv(lab, a), check=True) for a in addresses],
        }
        samples = {name: [] for name in ways}
        for _ in range(args.rounds):
            for name, way in ways.items():  # interleaved, so drift hits every way alike
                samples[name].append(timed(way))
        base = statistics.median(samples["kob pool"])
        print(f"{args.vms} VMs, {args.rounds} rounds, median wall time")
        for name, values in samples.items():
            median = statistics.median(values)
            print(f"  {name:<13} {median * 1000:8.1f} ms   x{median / base:5.2f} of kob pool")
    finally:
        lab.down()


if __name__ == "__main__":
    main()
