"""The lab's two VM kinds (pure): a Docker VM boots dockerd and sshd, a light one sshd only; each VM keeps the
kind it was made with; the inventory marks light VMs; `kob lab up --kind` takes only the two kinds."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from kob.cli.main import cli
from kob.lab import vm as vmlib
from kob.lab.lab import Lab, VmStatus, lab_inventory
from kob.lab.layout import DOCKER, LIGHT, LabLayout

LAB = LabLayout(Path("/var/lib/kob-test-lab-5"), 5)


@pytest.mark.parametrize("docker, daemons", [(True, ["dockerd", "/usr/sbin/sshd"]), (False, ["/usr/sbin/sshd"])])
def test_the_boot_script_starts_dockerd_only_in_a_docker_vm(docker, daemons):
    lines = vmlib.boot_script(LAB.vm(2), docker).splitlines()
    started = [line.split()[0] for line in lines if line.endswith("&")]
    assert started == daemons
    assert [line for line in lines if line.startswith("mount --bind")] == [
        f"mount --bind {src} {dst}" for src, dst in LAB.vm(2).private_mounts()]  # both kinds: own /run, /tmp, ...
    assert lines[-1] == "wait"


@pytest.mark.parametrize("kind, running, ssh, docker, healthy", [
    (DOCKER, True, True, True, True),
    (DOCKER, True, True, False, False),  # a Docker VM without its dockerd is not healthy
    (LIGHT, True, True, False, True),  # a light one has none
    (LIGHT, True, False, False, False),
    (LIGHT, False, True, False, False),
])
def test_health_asks_docker_only_of_docker_vms(kind, running, ssh, docker, healthy):
    assert VmStatus("vm1", "198.18.5.11", running, ssh, docker, kind=kind).healthy is healthy


def test_the_inventory_gives_light_vms_the_role_light():
    hosts = lab_inventory(LAB, [LAB.vm(1), LAB.vm(2), LAB.vm(3)], 1, light=["vm1", "vm3"]).split("hosts:\n")[1]
    assert hosts.splitlines() == ["  vm1: {address: 198.18.5.11, roles: [lb, light]}",
                                  "  vm2: {address: 198.18.5.12}",
                                  "  vm3: {address: 198.18.5.13, roles: [light]}"]


def test_an_all_docker_inventory_is_as_it_was():
    hosts = lab_inventory(LAB, [LAB.vm(1), LAB.vm(2)], 1).split("hosts:\n")[1]
    assert hosts.splitlines() == ["  vm1: {address: 198.18.5.11, roles: [lb]}", "  vm2: {address: 198.18.5.12}"]


def test_each_vm_keeps_the_kind_it_was_made_with(tmp_path):
    layout = LabLayout(tmp_path, 5)
    vms = {"vm1": {"n": 1, "address": "198.18.5.11", "pid": None},  # from a kob before light VMs: Docker
           "vm2": {"n": 2, "address": "198.18.5.12", "pid": None, "kind": LIGHT},
           "vm3": {"n": 3, "address": "198.18.5.13", "pid": None, "kind": DOCKER}}
    layout.state_file.write_text(json.dumps({"net": 5, "vms": vms, "etcd_pids": []}))
    the_lab = Lab(layout)
    assert [the_lab.kind(vm) for vm in the_lab.vm_layouts()] == [DOCKER, LIGHT, DOCKER]


@pytest.mark.parametrize("args, exit_code, said", [
    (["--kind", "vm"], 2, "Invalid value for '--kind': 'vm' is not one of 'docker', 'ssh'"),
    (["--kind"], 2, "Option '--kind' requires an argument"),
])
def test_lab_up_takes_only_the_two_kinds(args, exit_code, said):
    done = CliRunner().invoke(cli, ["lab", "up", "--net", "5", *args])
    assert done.exit_code == exit_code
    assert said in done.output
    assert "Traceback" not in done.output


def test_lab_up_help_names_the_kinds():
    done = CliRunner().invoke(cli, ["lab", "up", "--help"])
    assert done.exit_code == 0
    assert "[docker|ssh]" in done.output
