"""Benchmark: sampling every VM's and container's resource use, beside one `docker stats --no-stream`.

    .venv/bin/python bench/sample.py [--vms 10] [--replicas 20] [--rounds 7]

Brings up its own lab (network 1, /var/lib/kob-bench-lab) with the replicas running, and
takes it down. Each round, interleaved so that drift hits every way alike:
  kob top            the whole command (`kob top --json`): 10 VMs, one SSH command each,
                     rates against the previous sample in the store
  sample, warm pool  the same pass inside one process whose SSH connections are open:
                     what `kob serve` and the autoscale pass pay
  docker stats       the baseline: `ssh vm1 docker stats --no-stream`, one VM only
  kob exec true      the floor of any kob run on the same VMs
Prints medians and ratios to `docker stats`.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import subprocess
import time
from pathlib import Path

from common import bench_lab, kob, timed
from kob.identity import owner
from kob.lab.lab import Lab
from kob.metrics.history import MetricsBook
from kob.metrics.sampler import sample_cluster
from kob.spec.inventory import load_inventory
from kob.store import open_store
from kob.transport.ssh import SshPool

SERVICES = """
services:
  web:
    image: kob-demo/web:1
    replicas: {replicas}
    port: 80
"""


def docker_stats(lab: Lab, address: str) -> None:
    subprocess.run(["ssh", "-i", str(lab.layout.client_key), "-o", f"UserKnownHostsFile={lab.layout.known_hosts}",
                    "-o", "BatchMode=yes", f"root@{address}", "docker stats --no-stream"],
                   check=True, capture_output=True)


async def warm_passes(inventory: Path, rounds: int) -> list[float]:
    inv = load_inventory(inventory)
    async with open_store(inv.state_url) as store, SshPool() as pool:
        book = MetricsBook(store, "kob/bench-sample-warm", inv.control.retention)
        me = await owner(store, inv)
        await sample_cluster(pool, inv, book, me)  # connects, and leaves a previous sample
        took = []
        for _ in range(rounds):
            start = time.perf_counter()
            usage = await sample_cluster(pool, inv, book, me)
            took.append(time.perf_counter() - start)
            assert not usage.unreachable, usage.unreachable
        return took


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--vms", type=int, default=10)
    parser.add_argument("--replicas", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    with bench_lab(args.vms, SERVICES.format(replicas=args.replicas), "sample") as (lab, inventory):
        first_vm = next(iter(lab.state["vms"].values()))["address"]
        samples: dict[str, list[float]] = {"kob top": [], "sample, warm pool": [], "docker stats": [],
                                           "kob exec true": []}
        kob("top", str(inventory))  # the first run takes two samples; the rounds use the stored one
        for _ in range(args.rounds):
            samples["kob top"].append(timed(lambda: kob("top", "--json", str(inventory))))
            samples["docker stats"].append(timed(lambda: docker_stats(lab, first_vm)))
            samples["kob exec true"].append(timed(lambda: kob("exec", str(inventory), "true")))
        samples["sample, warm pool"] = asyncio.run(warm_passes(inventory, args.rounds))
        print(f"{args.replicas} replicas on {args.vms} VMs, {args.rounds} rounds, median wall time")
        baseline = statistics.median(samples["docker stats"])
        for way, what in (("kob top", f"{args.vms} VMs"), ("sample, warm pool", f"{args.vms} VMs"),
                          ("kob exec true", f"{args.vms} VMs"), ("docker stats", "1 VM")):
            median = statistics.median(samples[way])
            print(f"  {way:<18} {what:<7} {median * 1000:7.0f} ms   x{median / baseline:5.2f} of docker stats")

if __name__ == "__main__":
    main()
