"""Images to many VMs: kob's one-save fan-out against `docker save | ssh HOST docker load`, host by host and
all at once.

    sudo .venv/bin/python bench/images.py [--vms 10] [--rounds 3] [--net 7]

A lab of VMS + 1 VMs: vm1's Docker plays the manager's own (DOCKER_HOST), the other VMS receive. On it an
image of about 150 MB is built from real files (Python's and Perl's library trees; FROM scratch), v1, and v2 =
v1 plus one small file. Each round ships v1 by each way in turn (the order rotates), checks every VM has its
ID, and removes it again. Figures are medians of the rounds: wall time, CPU seconds (user+sys) of the way's
process tree and of the source dockerd (where `docker save` runs), and the bytes the machine sent into the
lab's bridge. Then v2 goes to VMs that have v1, by kob and by the serial pipe.
"""

from __future__ import annotations

import argparse
import os
import resource
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from common import bench_lab

REF = "kob-bench/images"
TREES = ["/usr/lib/python3.11", "/usr/lib/python3/dist-packages", "/usr/share/perl", "/usr/lib/x86_64-linux-gnu/perl"]


def docker_on(lab, n: int, *args: str, **kw) -> subprocess.CompletedProcess:
    sock = lab.layout.vm(n).docker_socket
    return subprocess.run(["docker", "-H", f"unix://{sock}", *args], capture_output=True, check=True, **kw)


def build(lab, scratch: Path) -> int:
    """v1 and v2 on vm1's Docker; v1's gzip -1 size."""
    context = scratch / "context"
    for tree in TREES:
        if Path(tree).is_dir():
            shutil.copytree(tree, context / "files" / tree.strip("/").replace("/", "_"), symlinks=True)
    (context / "Dockerfile.1").write_text("FROM scratch\nCOPY files /files\n")
    (context / "small.txt").write_text("v2\n" * 2000)
    (context / "Dockerfile.2").write_text(f"FROM {REF}:1\nCOPY small.txt /small.txt\n")
    env = {**os.environ, "DOCKER_BUILDKIT": "0"}
    for tag in ("1", "2"):
        docker_on(lab, 1, "build", "-q", "-t", f"{REF}:{tag}", "-f", str(context / f"Dockerfile.{tag}"), str(context),
                  env=env)
    sock = lab.layout.vm(1).docker_socket
    packed = subprocess.run(f"docker -H unix://{sock} save {REF}:1 | gzip -1 | wc -c", shell=True,
                            capture_output=True, text=True, check=True)
    return int(packed.stdout)


def pipe(lab, n: int, ref: str) -> str:
    key, known = lab.layout.client_key, lab.layout.known_hosts
    sock = lab.layout.vm(1).docker_socket
    return (f"docker -H unix://{sock} save {ref} | ssh -i {key} -o UserKnownHostsFile={known} -o BatchMode=yes "
            f"root@{lab.layout.vm(n).address} docker load -q >/dev/null")


def ways(lab, inventory: Path, targets: list[int], ref: str) -> dict[str, list[str]]:
    serial = "; ".join(f"{pipe(lab, n, ref)} || exit 1" for n in targets)
    parallel = " ".join(f"( {pipe(lab, n, ref)} ) &" for n in targets) + " " + " ".join(
        f"wait %{i} || exit 1;" for i in range(1, len(targets) + 1))
    return {"kob send-image": [sys.executable, "-m", "kob", "send-image", str(inventory), ref, "--hosts", "!vm1"],
            "serial pipes": ["sh", "-c", serial], "parallel pipes": ["sh", "-c", parallel]}


def measured(lab, argv: list[str], targets: list[int]) -> tuple[float, float, float, int, float]:
    """Wall s, CPU s of the process tree, CPU s of the source dockerd, bytes into the lab's bridge, CPU s of the
    receiving VMs' dockerds (their `docker load`: on this machine they share its cores with everything else)."""
    env = {**os.environ, "DOCKER_HOST": f"unix://{lab.layout.vm(1).docker_socket}"}
    before_cpu, before_dockerd, before_bytes = children_cpu(), dockerd_cpu(lab), bridge_bytes(lab)
    before_loads = sum(dockerd_cpu(lab, n) for n in targets)
    start = time.perf_counter()
    done = subprocess.run(argv, capture_output=True, text=True, env=env)
    wall = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"{argv[:4]} failed:\n{done.stdout[-2000:]}{done.stderr[-2000:]}")
    loads = sum(dockerd_cpu(lab, n) for n in targets) - before_loads
    return (wall, children_cpu() - before_cpu, dockerd_cpu(lab) - before_dockerd, bridge_bytes(lab) - before_bytes,
            loads)


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def dockerd_cpu(lab, n: int = 1) -> float:
    """CPU seconds so far of VM ``n``'s dockerd and of the children it waited for (user+sys): `docker save` and
    `docker load` run in dockerd and in its docker-untar children."""
    pid = (lab.layout.vm(n).run_dir / "docker.pid").read_text().strip()
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return sum(int(fields[i]) for i in (11, 12, 13, 14)) / os.sysconf("SC_CLK_TCK")


def bridge_bytes(lab) -> int:
    return int(Path(f"/sys/class/net/{lab.layout.bridge}/statistics/tx_bytes").read_text())


def on_targets(lab, targets: list[int], fn) -> list:
    with ThreadPoolExecutor(len(targets)) as pool:
        return list(pool.map(fn, targets))


def image_ids(lab, targets: list[int], ref: str) -> set[str]:
    def one(n: int) -> str:
        done = subprocess.run(["docker", "-H", f"unix://{lab.layout.vm(n).docker_socket}", "image", "inspect",
                               "--format", "{{.Id}}", ref], capture_output=True, text=True)
        return done.stdout.strip() or "missing"
    return set(on_targets(lab, targets, one))


def forget(lab, targets: list[int], *refs: str) -> None:
    on_targets(lab, targets, lambda n: subprocess.run(
        ["docker", "-H", f"unix://{lab.layout.vm(n).docker_socket}", "rmi", "-f", *refs], capture_output=True))


def race(lab, inventory: Path, targets: list[int], ref: str, rounds: int, expected: str,
         only: tuple[str, ...] = ()) -> dict:
    """Each way (or ``only`` those) ``rounds`` times, interleaved; way → list of (wall, cpu, dockerd cpu, bytes)."""
    table = {name: argv for name, argv in ways(lab, inventory, targets, ref).items() if not only or name in only}
    samples: dict[str, list] = {name: [] for name in table}
    for round_number in range(rounds):
        names = list(table)
        names = names[round_number % len(names):] + names[:round_number % len(names)]
        for name in names:
            samples[name].append(measured(lab, table[name], targets))
            assert image_ids(lab, targets, ref) == {expected}, f"{name}: not every VM has {ref}"
            forget(lab, targets, ref)
            print(f"  round {round_number + 1} {name}: {samples[name][-1][0]:.1f} s", file=sys.stderr, flush=True)
    return samples


def report(title: str, samples: dict, baseline: str, vms: int) -> None:
    print(f"{title}; {vms} VMs; {os.cpu_count()} CPUs; medians of {len(samples[baseline])} interleaved rounds")
    base = statistics.median(s[0] for s in samples[baseline])
    print(f"  {'way':<16} {'wall s':>8} {'x serial':>9} {'CPU s':>7} {'save CPU s':>11} {'MB out':>8} {'MB/VM':>7} "
          f"{'load CPU s':>11}")
    for name, rows in samples.items():
        wall, cpu, dockerd, sent, loads = (statistics.median(r[i] for r in rows) for i in range(5))
        print(f"  {name:<16} {wall:8.1f} {base / wall:9.2f} {cpu:7.2f} {dockerd:11.2f} {sent / 1e6:8.1f} "
              f"{sent / 1e6 / vms:7.2f} {loads:11.2f}")
    print(f"  load CPU s: the receiving VMs' dockerds together; on {os.cpu_count()} shared cores, all of it over "
          f"{os.cpu_count()} is a floor no way of sending can go under")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--vms", type=int, default=10, help="VMs that receive (one more serves as the source)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--net", type=int, default=7, help="the lab's network number")
    args = parser.parse_args()
    targets = list(range(2, args.vms + 2))
    with bench_lab(args.vms + 1, "\n", "images", net=args.net) as (lab, inventory), \
            tempfile.TemporaryDirectory(prefix="kob-bench-images-") as scratch:
        packed = build(lab, Path(scratch))
        v1 = docker_on(lab, 1, "image", "inspect", "--format", "{{.Id}}", f"{REF}:1", text=True).stdout.strip()
        v2 = docker_on(lab, 1, "image", "inspect", "--format", "{{.Id}}", f"{REF}:2", text=True).stdout.strip()
        size = int(docker_on(lab, 1, "image", "inspect", "--format", "{{.Size}}", f"{REF}:1", text=True).stdout)
        print(f"image {REF}:1: {size / 1e6:.0f} MB, {packed / 1e6:.1f} MB as `docker save | gzip -1`; "
              f"target: bytes out ≤ {packed / 1e6:.1f} MB × {args.vms} = {packed * args.vms / 1e6:.0f} MB")
        first = race(lab, inventory, targets, f"{REF}:1", args.rounds, v1)
        report(f"v1 ({size / 1e6:.0f} MB) to VMs without it", first, "serial pipes", args.vms)
        seed = ways(lab, inventory, targets, f"{REF}:1")["kob send-image"]
        measured(lab, seed, targets)  # v1 on every VM; each round removes only v2 again
        second = race(lab, inventory, targets, f"{REF}:2", args.rounds, v2, only=("kob send-image", "serial pipes"))
        report("v2 (v1 + one 6 kB layer) to VMs that have v1", second, "serial pipes", args.vms)
        print(f"command lines: {shlex.join(seed)}; serial: {pipe(lab, 2, REF + ':1')}; ...")


if __name__ == "__main__":
    main()
