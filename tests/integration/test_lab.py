"""The lab: real namespaces, sshd and dockerd; idempotent up, growth, stopping one VM, and a clean down."""

from __future__ import annotations

import json
import shlex
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from kob.errors import LabError
from kob.lab import demo_image, system
from kob.lab import vm as vmlib
from kob.lab.lab import Lab
from kob.lab.layout import LabLayout
from tests.conftest import SCRATCH_LAB_DIR as SCRATCH_DIR
from tests.conftest import SCRATCH_LAB_NET
from tests.conftest import TEST_LAB_NET as NET

pytestmark = pytest.mark.lab  # root: a scratch lab of its own, and setpriv


def in_vm(the_lab: Lab, name: str, *argv: str) -> str:
    """Run a command over real SSH with the lab's own key and known_hosts."""
    layout = the_lab.layout
    address = the_lab.state["vms"][name]["address"]
    ssh = ["ssh", "-i", str(layout.client_key), "-o", f"UserKnownHostsFile={layout.known_hosts}",
           "-o", "StrictHostKeyChecking=yes", "-o", "BatchMode=yes", f"root@{address}", shlex.join(argv)]
    return subprocess.run(ssh, capture_output=True, text=True, check=True, timeout=30).stdout


def docker_on(the_lab: Lab, name: str, *argv: str) -> str:
    """Run a docker command from the machine against one VM's own socket."""
    sock = the_lab.layout.vm(the_lab.state["vms"][name]["n"]).docker_socket
    return system.run(["docker", "-H", f"unix://{sock}", *argv]).stdout.decode()


def states_within(the_lab: Lab, name: str, containers: list[str], expected: list[str],
                  seconds: float) -> list[str]:
    """Each container's State.Running, polled until it is the expected one or the time is up."""
    deadline = time.monotonic() + seconds
    while True:
        states = docker_on(the_lab, name, "inspect", "--format", "{{.State.Running}}", *containers).split()
        if states == expected or time.monotonic() > deadline:
            return states
        time.sleep(0.2)


def test_every_vm_is_healthy_with_its_own_address(lab):
    statuses = lab.status()
    assert [vm.name for vm in statuses] == ["vm1", "vm2", "vm3"]
    assert [vm.address for vm in statuses] == [f"198.18.{NET}.11", f"198.18.{NET}.12", f"198.18.{NET}.13"]
    assert all(vm.healthy for vm in statuses)
    assert lab.etcd_healthy()


@pytest.mark.parametrize("name", ["vm1", "vm2", "vm3"])
def test_vm_has_own_hostname_run_and_docker(lab, name):
    assert in_vm(lab, name, "hostname").strip() == name
    assert in_vm(lab, name, "ls", "/run/docker.sock").strip() == "/run/docker.sock"
    assert in_vm(lab, name, "ip", "-4", "-o", "addr", "show", "eth0").split()[3] == lab.state["vms"][name]["address"] + "/24"


def test_private_folders_are_not_shared_between_vms(lab):
    in_vm(lab, "vm1", "sh", "-c", "echo vm1 > /srv/kob-probe")
    assert in_vm(lab, "vm1", "cat", "/srv/kob-probe").strip() == "vm1"
    assert in_vm(lab, "vm2", "sh", "-c", "cat /srv/kob-probe 2>/dev/null || echo absent").strip() == "absent"


def test_demo_images_are_loaded_with_the_same_ids_everywhere(lab):
    _, expected = demo_image.save_archive()
    for name in ("vm1", "vm2", "vm3"):
        listing = in_vm(lab, name, "docker", "image", "inspect", "--format", "{{.Id}}", *expected)
        assert listing.split() == list(expected.values())


def test_demo_app_answers_with_service_replica_host_and_health(lab):
    run = ["docker", "run", "-d", "--rm", "-p", "18080:80", "-e", "KOB_SERVICE=web", "-e", "KOB_REPLICA=2",
           "-e", "KOB_HOST=vm2", "kob-demo/web:1"]
    container = in_vm(lab, "vm2", *run).strip()
    try:
        fetch = f"for i in $(seq 50); do wget -qO- http://198.18.{NET}.12:18080/$0 && exit 0; sleep 0.1; done; exit 1"
        body = in_vm(lab, "vm1", "sh", "-c", fetch, "")
        assert body.startswith("kob-demo 1 service=web replica=2 host=vm2")
        assert in_vm(lab, "vm1", "sh", "-c", fetch, "healthz").strip() == "ok"
    finally:
        in_vm(lab, "vm2", "docker", "rm", "-f", container)


def test_known_hosts_holds_each_vm_host_key(lab):
    lines = lab.layout.known_hosts.read_text().splitlines()
    assert [line.split()[0] for line in lines] == [f"198.18.{NET}.11", f"198.18.{NET}.12", f"198.18.{NET}.13"]
    assert len({line.split()[2] for line in lines}) == 3


def test_up_is_idempotent_grows_and_down_removes_everything(scratch_lab):
    scratch_lab.up(1)
    first_pid = scratch_lab.state["vms"]["vm1"]["pid"]
    scratch_lab.up(1)
    assert scratch_lab.state["vms"]["vm1"]["pid"] == first_pid, "a healthy VM was restarted"
    statuses = scratch_lab.up(2)
    assert [vm.name for vm in statuses] == ["vm1", "vm2"] and all(vm.healthy for vm in statuses)
    assert scratch_lab.state["vms"]["vm1"]["pid"] == first_pid
    assert f"vm2: {{address: 198.18.{SCRATCH_LAB_NET}.12}}" in scratch_lab.layout.inventory.read_text()
    docker = ["docker", "-H", f"unix://{scratch_lab.layout.vm(2).docker_socket}"]
    system.run([*docker, "run", "-d", "kob-demo/web:1"])
    pids = [v["pid"] for v in scratch_lab.state["vms"].values()] + scratch_lab.state["etcd_pids"]

    scratch_lab.down()

    assert not [pid for pid in pids if system.alive(pid)]
    netns = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    assert f"kob{SCRATCH_LAB_NET}-" not in netns
    links = subprocess.run(["ip", "-o", "link"], capture_output=True, text=True).stdout
    assert f"kob{SCRATCH_LAB_NET}-" not in links and f"kob-lab{SCRATCH_LAB_NET}" not in links
    assert not SCRATCH_DIR.exists()
    assert SCRATCH_DIR.as_posix() not in Path("/proc/self/mountinfo").read_text()


def test_a_stopped_vm_refuses_ssh_and_docker_and_comes_back_with_its_containers(lab):
    vm2 = lab.layout.vm(2)
    image = "kob-demo/web:1"
    made = [docker_on(lab, "vm2", "run", "-d", "--restart", "unless-stopped", image).strip()]
    try:
        made.append(docker_on(lab, "vm2", "run", "-d", "--restart", "always", image, "sleep", "3600").strip())
        made.append(docker_on(lab, "vm2", "run", "-d", image).strip())  # no restart policy: kept, not restarted

        started = time.monotonic()
        assert lab.stop_vm("vm2")
        took = time.monotonic() - started  # about CONTAINER_GRACE (3 s) on an idle machine
        assert took < 10, f"{took:.1f} s: `sleep` as PID 1 ignores SIGTERM; the stop must not wait docker's 10 s for it"
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection((vm2.address, 22), timeout=2).close()
        assert vmlib.health(vm2) == {"ssh": False, "docker": False}
        assert [(vm.name, vm.healthy, vm.stopped) for vm in lab.status()] == [
            ("vm1", True, False), ("vm2", False, True), ("vm3", True, False)]
        assert Path(f"/run/netns/{vm2.netns}").exists()
        assert not lab.stop_vm("vm2")

        assert lab.start_vm("vm2")
        assert vmlib.health(vm2) == {"ssh": True, "docker": True}
        assert in_vm(lab, "vm2", "hostname").strip() == "vm2"
        expected = ["true", "true", "false"]  # unless-stopped and always restart with dockerd; no policy stays exited
        assert states_within(lab, "vm2", made, expected, seconds=60) == expected
        assert not lab.start_vm("vm2")
    finally:
        lab.start_vm("vm2")
        docker_on(lab, "vm2", "rm", "-f", *made)


def test_lab_stop_and_start_commands_say_what_they_did_or_which_vms_exist(lab):
    where = ["--dir", str(lab.layout.dir), "--net", str(lab.layout.net)]
    kob = [sys.executable, "-m", "kob", "lab"]
    done = subprocess.run([*kob, "start", "vm1", *where], capture_output=True, text=True, cwd="/")
    assert (done.returncode, done.stdout) == (0, "vm1 is already running\n")
    done = subprocess.run([*kob, "stop", "vm9", *where], capture_output=True, text=True, cwd="/")
    assert done.returncode == 1
    assert done.stderr == f"kob: error: no VM 'vm9' in the lab in {lab.layout.dir}; its VMs are: vm1, vm2, vm3\n"


def test_a_dead_vm_is_restarted_by_up(scratch_lab):
    scratch_lab.up(1)
    vm = scratch_lab.layout.vm(1)
    system.stop_group(scratch_lab.state["vms"]["vm1"]["pid"], timeout=5)
    assert not scratch_lab.status()[0].healthy
    assert scratch_lab.up(1)[0].healthy
    assert json.loads(scratch_lab.layout.state_file.read_text())["vms"]["vm1"]["address"] == vm.address


@pytest.mark.parametrize("folder", ["/tmp/kob-lab", "/run/kob-lab", "/srv/lab"])
def test_lab_refuses_folders_each_vm_mounts_privately(folder):
    with pytest.raises(LabError, match="cannot live under"):
        Lab(LabLayout(Path(folder), net=SCRATCH_LAB_NET)).up(1)


def test_not_root_is_a_one_line_error():
    done = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", sys.executable, "-m", "kob",
                           "lab", "up", "--dir", str(SCRATCH_DIR), "--net", "2"],
                          capture_output=True, text=True, cwd="/")
    assert done.returncode == 1
    assert done.stderr == "kob: error: kob lab needs root: it creates network namespaces, mounts and daemons\n"
