"""Benchmark: one command on 1 and on N lab VMs: kob against Ansible, pyinfra and OpenSSH clients.

    .venv/bin/python bench/exec_fanout.py [--vms 10] [--rounds 7]

Brings up its own lab (network 1, /var/lib/kob-bench-lab) and takes it down. Ansible (ansible-core)
and pyinfra are installed into the benchmark's own venv, /var/lib/kob-bench-venv, on first use.
Every way runs `true` on every VM, host keys checked; medians of interleaved rounds, with the
ratio to kob exec on the same VMs and to the same way on 1 VM:
  kob exec      `kob exec INVENTORY true` (a process: imports, connects, runs)
  kob pool      SshPool.run on every VM from a live process (connects included)
  ansible raw   `ansible all -m raw -a true -f N` (its default ssh settings: ControlPersist on)
  pyinfra exec  `pyinfra INVENTORY.py exec -- true`
  ssh parallel  one `ssh VM true` process per VM, all at once
  ssh serial    one `ssh VM true` after another
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from common import timed
from kob.lab.lab import Lab
from kob.lab.layout import LabLayout
from kob.spec.inventory import load_inventory
from kob.transport.ssh import SshPool
from kob.transport.targets import ssh_target

TOOLS_VENV = Path("/var/lib/kob-bench-venv")


def tools_venv() -> Path:
    """The benchmark's own venv with ansible-core and pyinfra."""
    if not (TOOLS_VENV / "bin/ansible").exists() or not (TOOLS_VENV / "bin/pyinfra").exists():
        subprocess.run([sys.executable, "-m", "venv", str(TOOLS_VENV)], check=True)
        subprocess.run([str(TOOLS_VENV / "bin/pip"), "install", "-q", "ansible-core", "pyinfra"], check=True)
    return TOOLS_VENV / "bin"


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


def quiet(argv: list[str]) -> None:
    subprocess.run(argv, check=True, capture_output=True)


def ways_for(lab: Lab, count: int, bin_dir: Path, scratch: Path) -> dict:
    inventory = load_inventory(lab.layout.inventory)
    hosts = inventory.hosts[:count]
    targets = [ssh_target(inventory, host) for host in hosts]
    addresses = [host.address for host in hosts]
    where = scratch / f"{count}-vms"  # not in the lab dir: `lab down` removes only what it made
    where.mkdir()
    ini, py = write_tool_inventories(lab, [h.name for h in hosts], addresses, where)
    pattern = ",".join(h.name for h in hosts)

    async def pool_once() -> None:
        async with SshPool() as pool:
            results = await asyncio.gather(*(pool.run(t, ["true"]) for t in targets))
        assert all(r.ok for r in results)

    return {
        "kob exec": lambda: quiet([sys.executable, "-m", "kob", "exec", str(lab.layout.inventory), "true",
                                   "--hosts", pattern]),
        "kob pool": lambda: asyncio.run(pool_once()),
        "ansible raw": lambda: quiet([str(bin_dir / "ansible"), "all", "-i", str(ini), "-m", "raw", "-a", "true",
                                      "-f", str(max(count, 10))]),
        "pyinfra exec": lambda: quiet([str(bin_dir / "pyinfra"), str(py), "exec", "--", "true"]),
        "ssh parallel": lambda: [p.wait() for p in [subprocess.Popen(ssh_argv(lab, a)) for a in addresses]],
        "ssh serial": lambda: [quiet(ssh_argv(lab, a)) for a in addresses],
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--vms", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    bin_dir = tools_venv()
    lab = Lab(LabLayout(Path("/var/lib/kob-bench-lab"), net=1))
    scratch = tempfile.TemporaryDirectory(prefix="kob-bench-exec-")
    try:
        lab.up(args.vms)
        sizes = (1, args.vms)
        ways = {size: ways_for(lab, size, bin_dir, Path(scratch.name)) for size in sizes}
        samples = {(size, name): [] for size in sizes for name in ways[size]}
        for _ in range(args.rounds):
            for size in sizes:
                for name, way in ways[size].items():  # interleaved, so drift hits every way alike
                    samples[size, name].append(timed(way))
        medians = {key: statistics.median(values) for key, values in samples.items()}
        print(f"`true` on 1 and {args.vms} VMs, {args.rounds} rounds, median wall time")
        for name in ways[1]:
            one, many = medians[1, name], medians[args.vms, name]
            print(f"  {name:<13} 1 VM {one * 1000:7.0f} ms   {args.vms} VMs {many * 1000:7.0f} ms"
                  f"   x{many / medians[args.vms, 'kob exec']:5.2f} of kob exec   {args.vms} VMs / 1 VM x{many / one:4.2f}")
    finally:
        lab.down()
        scratch.cleanup()


if __name__ == "__main__":
    main()
