"""Benchmark: a role of 20 tasks on N VMs, `kob run` against `ansible-playbook` and pyinfra.

    .venv/bin/python bench/playbook.py [--vms 10] [--rounds 5] [--net 1]

Brings up its own lab (network --net; /var/lib/kob-bench-lab, or /var/lib/kob-bench-lab-NET) and takes it
down. Ansible (ansible-core) and pyinfra come from the benchmark venv of bench/exec_fanout.py, installed
on first use. The role is bench/playbook_role (site.yml, roles/bench: 20 tasks, a handler, two templates,
facts off; only what `kob run` on main takes); its pyinfra equivalent is bench/playbook_role/deploy.py.
Each tool works in its own folder on the VMs. Every round first removes those folders, then times, for
each tool in turn (the order rotates from round to round), the first run, which converges, and the second,
which finds nothing to change:
  kob run            `kob run site.yml -i INVENTORY -e base=/root/bench-kob`
  ansible-playbook   forks = N, pipelining on, ControlPersist as Ansible sets it by default
  pyinfra            `pyinfra INVENTORY.py deploy.py -y --parallel N`
Prints the median wall and CPU seconds (user+sys of the process tree) of each, and the ratios.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

from common import bench_lab, kob, timed_tree
from exec_fanout import tools_venv, write_tool_inventories

from kob.spec.inventory import load_inventory

ROLE = Path(__file__).resolve().parent / "playbook_role"
RUNS = ("first run", "second run")


def ways(args, bin_dir: Path, work: Path, inventory: Path, ini: Path, pyinfra_inventory: Path) -> dict:
    """Each tool's one run, as argv, environment and folder."""
    playbook = str(work / "site.yml")
    return {
        "kob run": ([sys.executable, "-m", "kob", "run", playbook, "-i", str(inventory), "-e", "base=/root/bench-kob"],
                    None, None),
        "ansible-playbook": ([str(bin_dir / "ansible-playbook"), "-i", str(ini), playbook,
                              "-e", "base=/root/bench-ansible"],
                             {"ANSIBLE_PIPELINING": "True", "ANSIBLE_FORKS": str(args.vms),
                              "ANSIBLE_HOST_KEY_CHECKING": "True", "ANSIBLE_STDOUT_CALLBACK": "default"}, None),
        "pyinfra": ([str(bin_dir / "pyinfra"), str(pyinfra_inventory), "deploy.py", "-y", "--parallel", str(args.vms)],
                    None, work),
    }


def report(args, wall: dict, cpu: dict) -> None:
    print(f"a 20-task role on {args.vms} VMs, {args.rounds} interleaved rounds, {os.cpu_count()} CPUs, "
          f"load average {' '.join(f'{x:.1f}' for x in os.getloadavg())} at the end")
    for run in RUNS:
        print(f"  {run}:")
        ours_wall, ours_cpu = statistics.median(wall["kob run", run]), statistics.median(cpu["kob run", run])
        for tool in ("kob run", "ansible-playbook", "pyinfra"):
            w, c = statistics.median(wall[tool, run]), statistics.median(cpu[tool, run])
            print(f"    {tool:<17} wall {w * 1000:7.0f} ms  CPU {c * 1000:7.0f} ms   "
                  f"x{w / ours_wall:5.2f} kob's wall, x{c / ours_cpu:5.2f} kob's CPU")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--vms", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--net", type=int, default=1, help="lab network number (198.18.NET.0/24)")
    args = parser.parse_args()
    bin_dir = tools_venv()
    work = Path(tempfile.mkdtemp(prefix="kob-bench-playbook-"))
    try:
        shutil.copytree(ROLE, work, dirs_exist_ok=True)
        with bench_lab(args.vms, "\n", "playbook", net=args.net) as (lab, inventory):
            hosts = load_inventory(inventory).hosts
            ini, pyinfra_inventory = write_tool_inventories(lab, [h.name for h in hosts],
                                                            [h.address for h in hosts], work)
            tools = ways(args, bin_dir, work, inventory, ini, pyinfra_inventory)
            wall = {(tool, run): [] for tool in tools for run in RUNS}
            cpu = {(tool, run): [] for tool in tools for run in RUNS}
            order = list(tools)
            for _ in range(args.rounds):
                kob("exec", str(inventory), "rm -rf /root/bench-kob /root/bench-ansible /root/bench-pyinfra")
                for tool in order:
                    for run in RUNS:
                        w, c = timed_tree(*tools[tool])
                        wall[tool, run].append(w)
                        cpu[tool, run].append(c)
                order = order[1:] + order[:1]
        report(args, wall, cpu)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
