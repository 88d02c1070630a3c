"""Benchmark: one command on 1 and on N lab VMs: kob against Ansible, pyinfra and OpenSSH clients.

    .venv/bin/python bench/exec_fanout.py [--vms 10] [--rounds 7] [--net 1] [--kob-only]

Brings up its own lab (network --net, /var/lib/kob-bench-lab[-NET]) and takes it down. Ansible (ansible-core)
and pyinfra are installed into the benchmark's own venv, /var/lib/kob-bench-venv, on first use.
Every way runs `true` on every VM, host keys checked; medians of interleaved rounds, with the
ratio to kob exec on the same VMs and to the same way on 1 VM, and the CPU seconds (user+sys)
of the process tree:
  kob exec      `kob exec INVENTORY true` (a process: imports, connects, runs), no holder (cold)
  kob exec warm the same while `kob connect` holds the connections; the holder's own CPU is shown beside
  kob pool      SshPool.run on every VM from a live process (connects included)
  ansible raw   `ansible all -m raw -a true -f N` (its default ssh settings: ControlPersist on)
  pyinfra exec  `pyinfra INVENTORY.py exec -- true`
  ssh parallel  one `ssh VM true` process per VM, all at once
  ssh serial    one `ssh VM true` after another
and on N VMs, with one replica per VM behind HAProxy deployed first, a no-op `kob deploy`
cold and warm. The load average is printed beside the figures: the machine may be shared.
"""

from __future__ import annotations

import argparse
import os
import asyncio
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from common import bench_layout, connection_holder, kob, load_average, process_cpu, timed_cpu
from deploy import SERVICES as DEPLOY_SERVICES
from kob.lab.lab import Lab
from kob.spec.inventory import load_inventory
from kob.transport.ssh import SshPool
from kob.transport.targets import ssh_target

TOOLS_VENV = Path("/var/lib/kob-bench-venv")
# bench/deploy.py's service, with a health check that a busy machine passes
SERVICES = DEPLOY_SERVICES.replace("interval: 500ms, timeout: 1s, retries: 2", "interval: 2s, timeout: 10s, retries: 10")


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


def quiet(argv: list[str], env: dict | None = None) -> None:
    done = subprocess.run(argv, capture_output=True, text=True, env={**os.environ, **(env or {})}, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed:\n{done.stdout}{done.stderr}")


def kob_argv(*args: str) -> list[str]:
    return [sys.executable, "-m", "kob", *args]


COLD = {"KOB_NO_HOLDER": "1"}


def ways_for(lab: Lab, inventory_path: Path, count: int, bin_dir: Path | None, scratch: Path, warm: dict) -> dict:
    inventory = load_inventory(inventory_path)
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

    exec_argv = kob_argv("exec", str(inventory_path), "true", "--hosts", pattern)
    ways = {
        "kob exec": lambda: quiet(exec_argv, COLD),
        "kob exec warm": lambda: quiet(exec_argv, warm),
        "kob pool": lambda: asyncio.run(pool_once()),
        "ssh parallel": lambda: [p.wait() for p in [subprocess.Popen(ssh_argv(lab, a)) for a in addresses]],
        "ssh serial": lambda: [quiet(ssh_argv(lab, a)) for a in addresses],
    }
    if bin_dir is not None:
        ways["ansible raw"] = lambda: quiet([str(bin_dir / "ansible"), "all", "-i", str(ini), "-m", "raw", "-a",
                                             "true", "-f", str(max(count, 10))])
        ways["pyinfra exec"] = lambda: quiet([str(bin_dir / "pyinfra"), str(py), "exec", "--", "true"])
    return ways


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--vms", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--net", type=int, default=1, help="the lab's network number (198.18.NET.0/24)")
    parser.add_argument("--kob-only", action="store_true", help="leave out Ansible and pyinfra")
    args = parser.parse_args()
    bin_dir = None if args.kob_only else tools_venv()
    lab = Lab(bench_layout(args.net))
    scratch = tempfile.TemporaryDirectory(prefix="kob-bench-exec-")
    try:
        lab.up(args.vms)
        inventory = Path(scratch.name) / "exec-fanout.yaml"  # not in the lab dir: `lab down` removes only its own
        inventory.write_text(lab.layout.inventory.read_text() + SERVICES.format(replicas=args.vms))
        kob("deploy", str(inventory), "--wait", "300", env=COLD)
        with connection_holder(inventory) as (holder_pid, warm):
            sizes = (1, args.vms)
            ways = {size: ways_for(lab, inventory, size, bin_dir, Path(scratch.name), warm) for size in sizes}
            ways[args.vms]["no-op deploy"] = lambda: quiet(kob_argv("deploy", str(inventory)), COLD)
            ways[args.vms]["no-op deploy warm"] = lambda: quiet(kob_argv("deploy", str(inventory)), warm)
            samples = {(size, name): [] for size in sizes for name in ways[size]}
            holder_cpu = {key: [] for key in samples if key[1].endswith("warm")}
            loads = [load_average()]
            for _ in range(args.rounds):
                for size in sizes:
                    for name, way in ways[size].items():  # interleaved, so drift hits every way alike
                        before = process_cpu(holder_pid)
                        samples[size, name].append(timed_cpu(way))
                        if name.endswith("warm"):
                            holder_cpu[size, name].append(process_cpu(holder_pid) - before)
                loads.append(load_average())
        report(args, ways, samples, holder_cpu, loads)
    finally:
        lab.down()
        scratch.cleanup()


def report(args, ways: dict, samples: dict, holder_cpu: dict, loads: list[str]) -> None:
    def median(key, part: int) -> float:
        return statistics.median(sample[part] for sample in samples[key])

    print(f"`true` on 1 and {args.vms} VMs (net {args.net}), {args.rounds} interleaved rounds, "
          f"{os.cpu_count()} CPUs; medians: wall, CPU (user+sys of the process tree)")
    print(f"  load average (1/5/15 min) before and after each round: {' | '.join(loads)}")
    for size in (1, args.vms):
        print(f"  {size} VM{'s' if size > 1 else ''}:")
        for name in ways[size]:
            baseline = "no-op deploy" if "deploy" in name else "kob exec"
            wall, cpu = median((size, name), 0), median((size, name), 1)
            extra = ""
            if (size, name) in holder_cpu:
                extra = f"   + holder CPU {statistics.median(holder_cpu[size, name]) * 1000:5.0f} ms"
            if (1, name) in samples and size > 1:
                extra += f"   {size} VMs / 1 VM x{wall / median((1, name), 0):4.2f}"
            print(f"    {name:<18} {wall * 1000:7.0f} ms  x{wall / median((size, baseline), 0):5.2f} of {baseline:<12}"
                  f"  CPU {cpu * 1000:5.0f} ms  x{cpu / median((size, baseline), 1):5.2f}{extra}")


if __name__ == "__main__":
    main()
