"""Benchmark: kob commands with and without a connection holder (`kob connect`), on the same lab.

    .venv/bin/python bench/warm.py [--vms 10] [--rounds 7] [--net 1]

Brings up its own lab (network --net, /var/lib/kob-bench-lab[-NET]), deploys a service on every VM, starts
`kob connect` for that inventory, then times in interleaved rounds:
  kob exec / kob exec warm          `kob exec INVENTORY true`, on its own connections / through the holder
  no-op deploy / no-op deploy warm  `kob deploy INVENTORY` finding nothing to change, likewise
Medians of wall and CPU seconds (user+sys of the command's process tree), the ratio to the cold way, and the
holder's own CPU seconds for each warm command (it does the SSH work those commands hand it).
bench/exec_fanout.py compares the cold `kob exec` with Ansible and pyinfra.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
from pathlib import Path

from common import bench_layout, connection_holder, kob, load_average, measured, precompile_kob, process_cpu
from deploy import SERVICES as DEPLOY_SERVICES
from kob.lab.lab import Lab

# bench/deploy.py's service, with a health check that a busy machine passes
SERVICES = DEPLOY_SERVICES.replace("interval: 500ms, timeout: 1s, retries: 2", "interval: 2s, timeout: 10s, retries: 10")
COLD = {"KOB_NO_HOLDER": "1"}


def rounds_of(ways: dict, rounds: int, holder_pid: int) -> tuple[dict, dict]:
    """(way -> [(wall, cpu)], way -> [holder cpu]) over interleaved rounds."""
    samples: dict[str, list[tuple[float, float]]] = {name: [] for name in ways}
    holder: dict[str, list[float]] = {name: [] for name in ways}
    for _ in range(rounds):
        for name, argv_env in ways.items():
            before = process_cpu(holder_pid)
            cost = measured(argv_env[0], env={**os.environ, **argv_env[1]})
            holder[name].append(process_cpu(holder_pid) - before)
            samples[name].append((cost.wall, cost.cpu))
    return samples, holder


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--vms", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--net", type=int, default=1, help="the lab's network number (198.18.NET.0/24)")
    args = parser.parse_args()
    precompile_kob()
    lab = Lab(bench_layout(args.net))
    scratch = tempfile.TemporaryDirectory(prefix="kob-bench-warm-")
    try:
        lab.up(args.vms)
        inventory = Path(scratch.name) / "warm.yaml"  # not in the lab dir: `lab down` removes only its own
        inventory.write_text(lab.layout.inventory.read_text() + SERVICES.format(replicas=args.vms))
        kob("deploy", str(inventory), "--wait", "300", env=COLD)
        exec_argv = [sys.executable, "-m", "kob", "exec", str(inventory), "true"]
        deploy_argv = [sys.executable, "-m", "kob", "deploy", str(inventory)]
        loads = [load_average()]
        with connection_holder(inventory) as (holder_pid, warm):
            ways = {"kob exec": (exec_argv, COLD), "kob exec warm": (exec_argv, warm),
                    "no-op deploy": (deploy_argv, COLD), "no-op deploy warm": (deploy_argv, warm)}
            samples, holder = rounds_of(ways, args.rounds, holder_pid)
        loads.append(load_average())
        kob("down", str(inventory), env=COLD)
    finally:
        lab.down()
        scratch.cleanup()
    print(f"{args.vms} VMs (net {args.net}), {args.rounds} interleaved rounds, {os.cpu_count()} CPUs, "
          f"load average before | after: {' | '.join(loads)}; medians")
    for name in ways:
        cold = name.removesuffix(" warm")
        wall, cpu = (statistics.median(s[k] for s in samples[name]) for k in (0, 1))
        cold_wall, cold_cpu = (statistics.median(s[k] for s in samples[cold]) for k in (0, 1))
        extra = f"   + holder CPU {statistics.median(holder[name]) * 1000:5.0f} ms" if name != cold else ""
        print(f"  {name:<18} wall {wall * 1000:7.0f} ms (x{wall / cold_wall:4.2f})   "
              f"CPU {cpu * 1000:6.0f} ms (x{cpu / cold_cpu:4.2f}){extra}")


if __name__ == "__main__":
    main()
