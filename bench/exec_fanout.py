"""Benchmark: one command on 1 and on N lab VMs: kob against Ansible, pyinfra and OpenSSH clients.

    .venv/bin/python bench/exec_fanout.py [--sizes 1,10] [--rounds 7] [--kind docker|ssh] [--net 1] [--keep-lab]
                                     [--base TREE]

Brings up its own lab (network --net, default 1, in /var/lib/kob-bench-lab or /var/lib/kob-bench-lab-NET) and
takes it down unless --keep-lab. --kind ssh makes light VMs (sshd only): `true` over SSH costs the manager
the same on both kinds. Ansible (ansible-core) and pyinfra are installed into the benchmark's own venv,
/var/lib/kob-bench-venv, on first use. Every way runs `true` on every VM, host keys checked. For each way:
medians of interleaved rounds of wall time, manager CPU seconds (user+sys of the way's whole process tree,
from os.wait4) and peak memory of its largest process, with ratios to ansible raw and pyinfra exec in the
same run:
  kob exec      `kob exec INVENTORY true` (a process: imports, connects, runs)
  kob exec @base  the same from the checkout --base (an earlier kob), when given
  kob pool      SshPool.run on every VM from a live process (connects included; CPU of this process)
  asyncssh floor  bench/asyncssh_floor.py: Python, asyncio and asyncssh started, `true` run, nothing else
                (no inventory, no CLI): the least an asyncssh-based manager pays; kob exec above it is kob's
  ansible raw   `ansible all -m raw -a true -f N` (its default ssh settings: ControlPersist on, so warm
                after the first round; the persisting masters' CPU is outside its tree)
  ansible cold  the same with ControlMaster=no: every connection made anew, all of it in its tree
  pyinfra exec  `pyinfra INVENTORY.py exec -- true`
  ssh parallel  one `ssh VM true` process per VM, all at once
  ssh serial    one `ssh VM true` after another
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from common import Cost, measured, precompile_kob

from kob.lab.lab import Lab
from kob.lab.layout import DOCKER, LIGHT, LabLayout
from kob.spec.inventory import Host, load_inventory
from kob.transport.ssh import SshPool
from kob.transport.targets import ssh_target

TOOLS_VENV = Path("/var/lib/kob-bench-venv")
BASELINES = ("ansible raw", "pyinfra exec")
FLOOR = Path(__file__).with_name("asyncssh_floor.py")
Ways = dict[str, Callable[[], Cost]]


def tools_venv() -> Path:
    """The benchmark's own venv with ansible-core and pyinfra."""
    if not (TOOLS_VENV / "bin/ansible").exists() or not (TOOLS_VENV / "bin/pyinfra").exists():
        subprocess.run([sys.executable, "-m", "venv", str(TOOLS_VENV)], check=True)
        subprocess.run([str(TOOLS_VENV / "bin/pip"), "install", "-q", "ansible-core", "pyinfra"], check=True)
    return TOOLS_VENV / "bin"


def bench_lab_at(net: int, lab_dir: Path | None) -> Lab:
    """The benchmark's lab on network ``net`` (its own folder per network)."""
    default = Path("/var/lib/kob-bench-lab" if net == 1 else f"/var/lib/kob-bench-lab-{net}")
    return Lab(LabLayout(lab_dir or default, net=net))


def bring_up(lab: Lab, vms: int, docker_vms: int) -> None:
    """``docker_vms`` VMs with Docker first, then light ones up to ``vms``."""
    if docker_vms:
        lab.up(docker_vms, kind=DOCKER)
    if vms > docker_vms:
        lab.up(vms, kind=LIGHT)


def write_tool_inventories(lab: Lab, names: list[str], addresses: list[str], where: Path) -> tuple[Path, Path]:
    key, known = lab.layout.client_key, lab.layout.known_hosts
    ini = where / "ansible.ini"
    ini.write_text("[all]\n" + "".join(f"{n} ansible_host={a}\n" for n, a in zip(names, addresses))
                   + f"[all:vars]\nansible_user=root\nansible_ssh_private_key_file={key}\n"
                   f"ansible_ssh_common_args='-o UserKnownHostsFile={known} -o StrictHostKeyChecking=yes'\n")
    py = where / "pyinfra_inventory.py"
    data = {"ssh_user": "root", "ssh_key": str(key), "ssh_known_hosts_file": str(known),
            "ssh_strict_host_key_checking": "yes"}
    py.write_text(f"hosts = {[(a, data) for a in addresses]!r}\n")
    return ini, py


def ssh_argv(lab: Lab, address: str) -> list[str]:
    return ["ssh", "-i", str(lab.layout.client_key), "-o", f"UserKnownHostsFile={lab.layout.known_hosts}",
            "-o", "BatchMode=yes", f"root@{address}", "true"]


def in_process(fn: Callable[[], None]) -> Cost:
    """Wall and CPU seconds of ``fn()`` run in this process (no peak memory of its own to tell)."""
    before, start = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
    fn()
    after = resource.getrusage(resource.RUSAGE_SELF)
    return Cost(time.perf_counter() - start,
                after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime, 0.0)


def serial(*argvs: list[str]) -> Cost:
    costs = [measured(argv) for argv in argvs]
    return Cost(sum(c.wall for c in costs), sum(c.cpu for c in costs), max(c.peak_mb for c in costs))


def baseline_ways(lab: Lab, hosts: list[Host], bin_dir: Path, where: Path) -> Ways:
    """Ansible and pyinfra running `true` on ``hosts``; their inventories are written in ``where``."""
    where.mkdir(parents=True, exist_ok=True)  # not in the lab dir: `lab down` removes only what it made
    ini, py = write_tool_inventories(lab, [h.name for h in hosts], [h.address for h in hosts], where)
    ansible = [str(bin_dir / "ansible"), "all", "-i", str(ini), "-m", "raw", "-a", "true", "-f", str(max(len(hosts), 5))]
    cold = {**os.environ, "ANSIBLE_SSH_ARGS": "-o ControlMaster=no"}
    return {
        "ansible raw": lambda: measured(ansible),
        "ansible cold": lambda: measured(ansible, env=cold),
        "pyinfra exec": lambda: measured([str(bin_dir / "pyinfra"), str(py), "exec", "--", "true"]),
    }


def kob_exec(inventory: Path, hosts: list[Host], command: str = "true", tree: Path | None = None) -> Callable[[], Cost]:
    """`kob exec` as a process; from the checkout ``tree`` (its kob package first on sys.path) when given."""
    pattern = ",".join(h.name for h in hosts)
    env = {**os.environ, "PYTHONPATH": str(tree)} if tree else None
    return lambda: measured([sys.executable, "-m", "kob", "exec", str(inventory), command, "--hosts", pattern], env=env)


def ways_for(lab: Lab, count: int, bin_dir: Path, scratch: Path, base: Path | None = None) -> Ways:
    inventory = load_inventory(lab.layout.inventory)
    hosts = inventory.hosts[:count]
    targets = [ssh_target(inventory, host) for host in hosts]

    async def pool_once() -> None:
        async with SshPool() as pool:
            results = await asyncio.gather(*(pool.run(t, ["true"]) for t in targets))
        assert all(r.ok for r in results)

    return {
        "kob exec": kob_exec(lab.layout.inventory, hosts),
        **({"kob exec @base": kob_exec(lab.layout.inventory, hosts, tree=base)} if base else {}),
        "kob pool": lambda: in_process(lambda: asyncio.run(pool_once())),
        "asyncssh floor": lambda: measured([sys.executable, str(FLOOR), str(lab.layout.client_key),
                                            str(lab.layout.known_hosts), *(h.address for h in hosts)]),
        **baseline_ways(lab, hosts, bin_dir, scratch / f"{count}-vms"),
        "ssh parallel": lambda: measured(*[ssh_argv(lab, h.address) for h in hosts]),
        "ssh serial": lambda: serial(*[ssh_argv(lab, h.address) for h in hosts]),
    }


def interleaved(ways: dict[object, Ways], rounds: int) -> dict[tuple, Cost]:
    """Every way once per round, in the same order (so drift hits every way alike); medians of each figure."""
    samples: dict[tuple, list[Cost]] = {(group, name): [] for group in ways for name in ways[group]}
    for _ in range(rounds):
        for group, group_ways in ways.items():
            for name, way in group_ways.items():
                samples[group, name].append(way())
    return {key: Cost(*(statistics.median(getattr(c, f) for c in costs) for f in ("wall", "cpu", "peak_mb")))
            for key, costs in samples.items()}


def print_group(title: str, medians: dict[tuple, Cost], group: object, baselines=BASELINES) -> None:
    """One table: each way's medians, and its wall and CPU as a ratio of each baseline's (same group)."""
    print(title)
    ratio_heads = "".join(f"  wall/CPU x {b:<13}" for b in baselines)
    print(f"  {'way':<14} {'wall ms':>8} {'CPU ms':>8} {'peak MB':>8}{ratio_heads}")
    for (g, name), cost in medians.items():
        if g != group:
            continue
        ratios = ""
        for b in baselines:
            base = medians.get((group, b))
            ratios += f"  {cost.wall / base.wall:5.2f} / {cost.cpu / base.cpu:5.2f}      " if base else ""
        print(f"  {name:<14} {cost.wall * 1000:8.0f} {cost.cpu * 1000:8.0f} {cost.peak_mb:8.1f}{ratios}")


def common_arguments(parser: argparse.ArgumentParser, sizes: str, rounds: int) -> None:
    parser.add_argument("--sizes", default=sizes, help="Host counts to run on, e.g. 1,10,50 (the lab has the largest).")
    parser.add_argument("--rounds", type=int, default=rounds)
    parser.add_argument("--net", type=int, default=1, help="Lab network number (other labs may run on others).")
    parser.add_argument("--dir", type=Path, help="Lab folder (default /var/lib/kob-bench-lab[-NET]).")
    parser.add_argument("--keep-lab", action="store_true", help="Leave the lab up (the next run reuses it).")


def main() -> None:
    parser = argparse.ArgumentParser()
    common_arguments(parser, "1,10", 7)
    parser.add_argument("--kind", choices=(DOCKER, LIGHT), default=DOCKER, help="Kind of the lab's VMs.")
    parser.add_argument("--base", type=Path, help="A checkout of an earlier kob (e.g. from `git archive`): "
                                                  "its kob exec runs beside this one, byte-compiled too.")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    bin_dir = tools_venv()
    precompile_kob()
    lab = bench_lab_at(args.net, args.dir)
    scratch = tempfile.TemporaryDirectory(prefix="kob-bench-exec-")
    try:
        bring_up(lab, max(sizes), max(sizes) if args.kind == DOCKER else 0)
        if args.base:
            precompile_kob(args.base / "kob")
        ways = {size: ways_for(lab, size, bin_dir, Path(scratch.name), args.base) for size in sizes}
        medians = interleaved(ways, args.rounds)
        print(f"`true` on {args.sizes} {args.kind} VMs, {args.rounds} interleaved rounds, medians; "
              f"{os.cpu_count()} CPUs; load average {os.getloadavg()[0]:.1f} at the end")
        for size in sizes:
            print_group(f"{size} VM(s):", medians, size)
        print("growth (wall / CPU of the largest size over 1 VM):")
        for (size, name), cost in medians.items():
            if size == max(sizes) and (1, name) in medians:
                one = medians[1, name]
                print(f"  {name:<14} x{cost.wall / one.wall:5.2f} / x{cost.cpu / one.cpu:5.2f}")
    finally:
        if not args.keep_lab:
            lab.down()
        scratch.cleanup()


if __name__ == "__main__":
    main()
