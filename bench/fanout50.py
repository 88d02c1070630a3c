"""Benchmark: kob on 1, 10 and 50 hosts against Ansible and pyinfra; how wall time, manager CPU and memory grow.

    .venv/bin/python bench/fanout50.py [--sizes 1,10,50] [--docker 5] [--rounds 5] [--net 1] [--keep-lab]
                                  [--base TREE]

A full Docker Engine per VM does not suit 50 VMs on a 2-core machine, so the lab has --docker VMs with Docker
(vm1...) and light ones (sshd only) up to the largest size. Each round, interleaved, on the first N VMs:
  kob exec      `kob exec INVENTORY true` (and `kob exec @base`: the same from an earlier checkout, --base)
  kob top       `kob top INVENTORY` (host figures from /proc on every VM; containers only where Docker runs)
  ansible raw   `ansible -m raw -a true -f N` (ControlPersist on: warm after the first round)
  ansible cold  the same with ControlMaster=no
  pyinfra exec  `pyinfra INVENTORY.py exec -- true`
and on the Docker VMs, where a service runs one replica per VM (deployed once before the rounds):
  kob deploy    `kob deploy INVENTORY` with nothing to change
  kob exec, ansible raw   as above, on the same VMs
Figures per way (see exec_fanout.py): medians of wall time, manager CPU (user+sys of the whole process tree)
and peak memory of its largest process; ratios to ansible raw and pyinfra exec in the same run; then the
growth from 1 to each size.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

from common import Cost, kob, measured, precompile_kob
from deploy import SERVICES as DEPLOY_SERVICES
from exec_fanout import (
    baseline_ways,
    bench_lab_at,
    bring_up,
    common_arguments,
    interleaved,
    kob_exec,
    print_group,
    tools_venv,
)

from kob.lab.lab import Lab, lab_inventory
from kob.spec.inventory import load_inventory

# the service of bench/deploy.py with a lenient health check: on a shared 2-core machine under load, a
# check every 500 ms that allows 1 s finds replicas unhealthy, and the deploy is then no longer a no-op
STRICT, LENIENT = "interval: 500ms, timeout: 1s, retries: 2", "interval: 5s, timeout: 5s, retries: 5"
assert STRICT in DEPLOY_SERVICES, "bench/deploy.py changed its health check: update this bench"
SERVICES = DEPLOY_SERVICES.replace(STRICT, LENIENT)
DEPLOYED = "kob-bench-fanout"  # the deploy inventory's name: its store namespace, the same in every run


def inventory_of(lab: Lab, count: int, where: Path, services: str = "", name: str = "") -> Path:
    """An inventory of the lab's first ``count`` VMs (kob top and deploy take every host of theirs)."""
    vms = lab.vm_layouts()[:count]
    light = [vm.name for vm in vms if lab.kind(vm) != "docker"]
    path = where / f"{name or f'kob-{count}-vms'}.yaml"
    path.write_text(lab_inventory(lab.layout, vms, len(lab.state["etcd_pids"]), light) + services)
    return path


def ways_on(lab: Lab, count: int, bin_dir: Path, scratch: Path, base: Path | None) -> dict:
    inventory = inventory_of(lab, count, scratch)
    hosts = load_inventory(inventory).hosts
    return {"kob exec": kob_exec(inventory, hosts),
            **({"kob exec @base": kob_exec(inventory, hosts, tree=base)} if base else {}),
            "kob top": lambda: measured([sys.executable, "-m", "kob", "top", str(inventory)]),
            **baseline_ways(lab, hosts, bin_dir, scratch / f"{count}-vms")}


def docker_ways(lab: Lab, count: int, bin_dir: Path, scratch: Path) -> dict:
    where = scratch / "docker"
    where.mkdir()
    inventory = inventory_of(lab, count, where, SERVICES.format(replicas=count), DEPLOYED)
    kob("deploy", str(inventory))  # removed again at the end (`kob down`), so a kept lab can run this again
    hosts = load_inventory(inventory).hosts
    ways = baseline_ways(lab, hosts, bin_dir, where)
    return {"kob deploy": lambda: measured([sys.executable, "-m", "kob", "deploy", str(inventory)]),
            "kob exec": kob_exec(inventory, hosts), "ansible raw": ways["ansible raw"]}


def print_growth(medians: dict[tuple, Cost], sizes: list[int]) -> None:
    print("growth from 1 VM (wall x / CPU x):")
    for name in ("kob exec", "kob exec @base", "kob top", "ansible raw", "ansible cold", "pyinfra exec"):
        if (1, name) not in medians:
            continue
        one = medians[1, name]
        steps = "   ".join(f"{size} VMs x{medians[size, name].wall / one.wall:5.2f} / x{medians[size, name].cpu / one.cpu:5.2f}"
                           for size in sizes if size != 1)
        print(f"  {name:<14} {steps}")


def main() -> None:
    parser = argparse.ArgumentParser()
    common_arguments(parser, "1,10,50", 5)
    parser.add_argument("--docker", type=int, default=5, help="VMs with Docker (vm1...); the others are light.")
    parser.add_argument("--base", type=Path, help="A checkout of an earlier kob: its kob exec runs beside this one.")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    if 1 not in sizes:
        parser.error("--sizes must include 1: growth is measured from one host")
    bin_dir = tools_venv()
    precompile_kob()
    lab = bench_lab_at(args.net, args.dir)
    scratch = tempfile.TemporaryDirectory(prefix="kob-bench-fanout-")
    try:
        bring_up(lab, max(sizes), args.docker)
        if args.base:
            precompile_kob(args.base / "kob")
        ways = {size: ways_on(lab, size, bin_dir, Path(scratch.name), args.base) for size in sizes}
        if args.docker:
            ways["docker"] = docker_ways(lab, args.docker, bin_dir, Path(scratch.name))
        medians = interleaved(ways, args.rounds)
        print(f"{args.rounds} interleaved rounds, medians; lab of {args.docker} Docker VMs and "
              f"{max(sizes) - args.docker} light ones; {os.cpu_count()} CPUs; load average "
              f"{os.getloadavg()[0]:.1f} at the end")
        for size in sizes:
            print_group(f"{size} VM(s):", medians, size)
        if args.docker:
            print_group(f"the {args.docker} Docker VMs (no-op deploy):", medians, "docker", ("ansible raw",))
        print_growth(medians, sizes)
    finally:
        deployed = Path(scratch.name) / "docker" / f"{DEPLOYED}.yaml"
        if deployed.exists():
            kob("down", str(deployed))
        if not args.keep_lab:
            lab.down()
        scratch.cleanup()


if __name__ == "__main__":
    main()
