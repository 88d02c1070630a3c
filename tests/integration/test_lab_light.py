"""Light lab VMs (sshd only, for fan-out benches): a lab of three, grown by one Docker VM, reached by `kob exec`
through the lab's inventory, and taken down without leftovers (processes, namespaces, links, mounts, files)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from kob.lab import system
from kob.lab.layout import DOCKER, LIGHT
from tests.conftest import SCRATCH_LAB_DIR

pytestmark = pytest.mark.lab  # root: namespaces, sshd


def kob_exec(inventory: Path, command: str, pattern: str = "all") -> dict[str, dict]:
    done = subprocess.run([sys.executable, "-m", "kob", "exec", str(inventory), command, "--hosts", pattern, "--json"],
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    return {line["host"]: line for line in map(json.loads, done.stdout.splitlines())}


def process_names(pids: list[int]) -> set[str]:
    names = set()
    for pid in pids:
        try:
            names.add(Path(f"/proc/{pid}/comm").read_text().strip())
        except FileNotFoundError:
            continue
    return names


def mounts_of(folder: Path) -> list[str]:
    """Lines of every process's mountinfo that mount something from ``folder`` (VMs mount it privately)."""
    found = []
    for mountinfo in Path("/proc").glob("[0-9]*/mountinfo"):
        try:
            found += [line for line in mountinfo.read_text().splitlines() if f" {folder}/" in line]
        except OSError:  # the process ended meanwhile
            continue
    return found


def test_light_vms_run_sshd_only_answer_kob_exec_and_leave_nothing(scratch_lab):
    statuses = scratch_lab.up(3, kind=LIGHT)
    assert [(vm.name, vm.kind, vm.healthy, vm.docker) for vm in statuses] == [
        ("vm1", LIGHT, True, False), ("vm2", LIGHT, True, False), ("vm3", LIGHT, True, False)]
    vm_pids = {vm.name: system.pids_in_netns(vm.netns) for vm in scratch_lab.vm_layouts()}
    assert {vm: process_names(pids) for vm, pids in vm_pids.items()} == {vm: {"sh", "sshd"} for vm in vm_pids}
    booted = {name: vm["pid"] for name, vm in scratch_lab.state["vms"].items()}

    statuses = scratch_lab.up(4, kind=DOCKER)  # grows by one Docker VM; the light ones stay as they are
    assert [(vm.kind, vm.healthy) for vm in statuses] == [(LIGHT, True)] * 3 + [(DOCKER, True)]
    assert "dockerd" in process_names(system.pids_in_netns(scratch_lab.layout.vm(4).netns))
    assert {name: vm["pid"] for name, vm in scratch_lab.state["vms"].items() if name != "vm4"} == booted

    inventory = scratch_lab.layout.inventory
    everywhere = kob_exec(inventory, "hostname; test -S /run/docker.sock && echo docker || echo none")
    assert {host: (out["status"], out["stdout"].split()) for host, out in everywhere.items()} == {
        "vm1": ("ok", ["vm1", "none"]), "vm2": ("ok", ["vm2", "none"]), "vm3": ("ok", ["vm3", "none"]),
        "vm4": ("ok", ["vm4", "docker"])}
    assert list(kob_exec(inventory, "true", "!light")) == ["vm4"]
    assert list(kob_exec(inventory, "true", "light")) == ["vm1", "vm2", "vm3"]

    made = [pid for pids in vm_pids.values() for pid in pids] + system.pids_in_netns(scratch_lab.layout.vm(4).netns)
    made += [v["pid"] for v in scratch_lab.state["vms"].values()] + scratch_lab.state["etcd_pids"]
    assert mounts_of(SCRATCH_LAB_DIR), "the check below would find nothing even with VMs up"

    scratch_lab.down()

    assert not [pid for pid in made if system.alive(pid)]
    prefix = scratch_lab.layout.prefix
    assert prefix not in subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, check=True).stdout
    links = subprocess.run(["ip", "-o", "link"], capture_output=True, text=True, check=True).stdout
    assert prefix not in links and f"{scratch_lab.layout.bridge}:" not in links
    assert not mounts_of(SCRATCH_LAB_DIR)
    assert not SCRATCH_LAB_DIR.exists()
