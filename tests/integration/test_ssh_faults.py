"""SSH faults on the lab (issue 13, point 7): a frozen sshd and a changed host key.

A lab VM's sshd is frozen with SIGSTOP: the listening sshd (its pid file in the VM's own /run, checked
against the lab's own process of that VM) and, for a connection already open, the sshd processes serving
it. Each is thawed with SIGCONT whatever happens. The inventory's ssh timeouts are short (connect 3 s,
command 10 s); the tests assert what each command says and its exit code, never how long it took.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from kob.errors import CommandTimeout
from kob.lab import system
from kob.spec.inventory import load_inventory
from kob.transport.ssh import SshPool
from kob.transport.targets import ssh_target
from tests.conftest import TEST_LAB_NET as NET
from tests.helpers.lab_services import kob, on_vm, rolling_service

SSH_TIMEOUTS = "  connect_timeout: 3\n  command_timeout: 10\n"
SERVICES = rolling_service(8088)
ALL = ["vm1", "vm2", "vm3"]


def write_inventory(path: Path, lab, replicas: int = 3, known_hosts: Path | None = None) -> Path:
    """The lab's inventory with short ssh timeouts (and another known_hosts file), and web behind HAProxy."""
    lines = []
    for line in lab.layout.inventory.read_text().splitlines(keepends=True):
        if known_hosts and line.startswith("  known_hosts:"):
            line = f"  known_hosts: {known_hosts}\n"
        lines.append(line)
        if line.startswith("ssh:"):
            lines.append(SSH_TIMEOUTS)
    path.write_text("".join(lines) + SERVICES.format(image="1", replicas=replicas))
    return path


@pytest.fixture(scope="module")
def inventory(lab, tmp_path_factory) -> Path:
    path = write_inventory(tmp_path_factory.mktemp("faults") / "faults.yaml", lab)
    done = kob("deploy", str(path), "--wait", "30")
    assert done.returncode == 0, done.stdout + done.stderr
    yield path
    for vm in ALL:  # never leave a VM frozen for the tests that follow
        with contextlib.suppress(ProcessLookupError, FileNotFoundError, ValueError):
            os.kill(_listening_sshd(lab, vm), signal.SIGCONT)
    write_inventory(path, lab)
    kob("down", str(path), "--wait", "30")


# -- the lab's own sshd processes --------------------------------------------------------------------

def _running_on(lab, vm: str, cmdline: str) -> bool:
    """Whether a process with ``cmdline`` (NUL-separated words) runs in the VM's network namespace."""
    wanted = os.stat(f"/var/run/netns/{lab.layout.vm(int(vm[2:])).netns}").st_ino
    for entry in Path("/proc").iterdir():
        try:
            if (entry.name.isdigit() and cmdline.encode() in (entry / "cmdline").read_bytes()
                    and os.stat(entry / "ns" / "net").st_ino == wanted):
                return True
        except OSError:
            continue
    return False


def _listening_sshd(lab, vm: str) -> int:
    """The VM's listening sshd: from its pid file, and only if it is the sshd the lab started in that VM."""
    layout = lab.layout.vm(int(vm[2:]))
    pid = int((layout.run_dir / "sshd.pid").read_text().strip())
    boot = lab.state["vms"][vm]["pid"]
    assert _comm(pid) == "sshd" and _parent(pid) == boot, f"{vm}'s sshd pid file names {pid}, not the lab's sshd"
    assert pid in system.pids_in_netns(layout.netns)
    return pid


def _session_sshds(listener: int) -> list[int]:
    """Every sshd below the listening one: those serving the connections open now."""
    found, frontier = [], [listener]
    while frontier:
        parents, frontier = set(frontier), []
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit() and _parent(int(entry.name)) in parents:
                frontier.append(int(entry.name))
        found += [pid for pid in frontier if _comm(pid).startswith("sshd")]
    return found


def _comm(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return ""


def _parent(pid: int) -> int:
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        return 0


@contextlib.contextmanager
def frozen_sshd(lab, vm: str, sessions: bool = False):
    """SIGSTOP the VM's listening sshd (and, with ``sessions``, the sshds of its open connections);
    SIGCONT in any case. Yields the frozen pids."""
    listener = _listening_sshd(lab, vm)
    pids = [listener] + (_session_sshds(listener) if sessions else [])
    stopped = []
    try:
        for pid in pids:
            os.kill(pid, signal.SIGSTOP)
            stopped.append(pid)
        yield pids
    finally:
        for pid in reversed(stopped):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGCONT)


def recap_lines(output: str) -> dict[str, str]:
    """`kob exec`'s closing lines: host -> what happened there."""
    lines = {}
    for line in output.splitlines():
        host, sep, what = line.partition(" : ")
        if sep and host.strip() in ALL:
            lines[host.strip()] = what
    return lines


def web_status(path: Path) -> dict:
    """`kob status --json`: exit 0, or 2 with the hosts that did not answer named in it."""
    done = kob("status", str(path), "--json")
    found = json.loads(done.stdout)
    assert done.returncode == (2 if found["unreachable"] else 0), done.stderr
    return found


def containers(lab, vm: str) -> list[str]:
    """Names of every container of web (running or not) of any inventory on the VM."""
    return sorted(on_vm(lab, vm, "docker ps -a --filter label=kob.service=web --format '{{.Names}}'").split())


def haproxy_servers(lab, owner: str) -> set[tuple[str, int]]:
    """(address, port) of each server HAProxy has now in backend web, from its runtime API on vm1."""
    sock = lab.layout.vm(1).run_dir / "haproxy" / f"kob-{owner}.sock"
    reply = subprocess.run(["socat", "stdio", f"unix-connect:{sock}"], input="show servers state web\n",
                           capture_output=True, text=True, timeout=10, check=True).stdout
    rows = [line.split() for line in reply.splitlines()[1:] if line.strip() and not line.startswith("#")]
    return {(row[4], int(row[18])) for row in rows}


def owner_of(lab) -> str:
    labels = on_vm(lab, "vm1", "docker ps --filter label=kob.service=web "
                               "--format '{{.Label \"kob.inventory\"}}'").split()
    faults = {label for label in labels if label.startswith("faults-")}
    assert len(faults) == 1, labels
    return faults.pop()


def assert_converged(lab, path: Path, replicas: int) -> None:
    """Each replica once, healthy; HAProxy sends to exactly the running replicas."""
    web = next(s for s in web_status(path)["services"] if s["service"] == "web")
    assert (web["running"], web["healthy"]) == (replicas, replicas), web
    assert sorted(r["replica"] for r in web["replicas"]) == list(range(1, replicas + 1)), "a duplicate or a gap"
    serving = {(r["address"], r["host_port"]) for r in web["replicas"]}
    assert haproxy_servers(lab, owner_of(lab)) == serving, "HAProxy's servers are not the running replicas"


# -- a frozen sshd: a new connection -----------------------------------------------------------------

def test_1_exec_names_the_frozen_host_and_the_others_finish(lab, inventory):
    with frozen_sshd(lab, "vm2"):
        done = kob("exec", str(inventory), "hostname", timeout=120)
    assert done.returncode == 2, done.stdout + done.stderr
    recap = recap_lines(done.stdout)
    assert (recap["vm1"], recap["vm3"]) == ("ok", "ok")
    assert recap["vm2"] == f"unreachable: vm2: no answer from 198.18.{NET}.12:22 within 3 s"
    assert "vm1 | vm1" in done.stdout and "vm3 | vm3" in done.stdout and "vm2 |" not in done.stdout


def test_2_exec_json_says_the_same(lab, inventory):
    with frozen_sshd(lab, "vm3"):
        done = kob("exec", str(inventory), "--json", "hostname", timeout=120)
    assert done.returncode == 2
    rows = {row["host"]: row for row in map(json.loads, done.stdout.splitlines())}
    assert [rows[h]["status"] for h in ALL] == ["ok", "ok", "unreachable"], rows
    assert (rows["vm1"]["stdout"], rows["vm2"]["stdout"]) == ("vm1\n", "vm2\n")


def test_3_status_shows_the_others_and_names_the_frozen_host(lab, inventory):
    with frozen_sshd(lab, "vm2"):
        text = kob("status", str(inventory), timeout=120)
        as_json = kob("status", str(inventory), "--json", timeout=120)
    assert f"! vm2: no answer from 198.18.{NET}.12:22 within 3 s" in text.stdout
    seen = json.loads(as_json.stdout)
    assert "vm2" in json.dumps(seen["unreachable"])
    web = seen["services"][0]
    assert {r["host"] for r in web["replicas"]} == {"vm1", "vm3"} and web["running"] == 2


def test_4_deploy_goes_on_without_the_frozen_host_names_it_and_converges_once_it_is_back(lab, inventory):
    vm2_before = containers(lab, "vm2")
    with frozen_sshd(lab, "vm2"):
        write_inventory(inventory, lab, replicas=4)
        done = kob("deploy", str(inventory), "--wait", "30", timeout=180)
        assert containers(lab, "vm2") == vm2_before, "something ran on the frozen host"
        web = web_status(inventory)["services"][0]
    assert web["healthy"] == 4 and web["running"] == 4, web  # served without vm2: its replica started elsewhere
    assert done.returncode == 2, done.stdout + done.stderr
    assert f"! vm2: no answer from 198.18.{NET}.12:22 within 3 s" in done.stdout + done.stderr
    recap = done.stdout.split("RECAP")[1]
    assert "  vm2        unreachable" in recap and "  vm1 " in recap and "  vm3 " in recap
    after = kob("deploy", str(inventory), "--wait", "30")  # vm2 back: its duplicate goes
    assert after.returncode == 0, after.stdout + after.stderr
    assert_converged(lab, inventory, 4)


# -- a frozen sshd: a connection already open ---------------------------------------------------------

async def test_5_a_command_on_an_open_connection_to_a_frozen_sshd_ends_at_the_command_timeout(lab, inventory):
    inv = load_inventory(inventory)
    target = {name: ssh_target(inv, inv.host(name)) for name in ALL}
    async with SshPool() as pool:
        assert [(await pool.run(target[h], ["hostname"])).stdout for h in ALL] == ["vm1\n", "vm2\n", "vm3\n"]
        with frozen_sshd(lab, "vm2", sessions=True) as pids:
            assert len(pids) > 1, "no sshd serves the open connection"
            results = await asyncio.wait_for(asyncio.gather(  # a hang here fails the test instead
                *(pool.run(target[h], ["hostname"], timeout=3) for h in ALL), return_exceptions=True), 60)
        assert [results[0].stdout, results[2].stdout] == ["vm1\n", "vm3\n"]
        assert isinstance(results[1], CommandTimeout), results[1]
        assert str(results[1]) == "vm2: hostname did not finish within 3 s"
        assert (await pool.run(target["vm1"], ["true"])).rc == 0


async def test_5b_a_stream_into_a_frozen_sshd_ends_when_it_stalls_for_the_command_timeout(lab, inventory):
    """An image shipped to a host whose sshd froze: the stream may be long, but a stall ends it."""
    inv = load_inventory(inventory)
    vm2 = dataclasses.replace(ssh_target(inv, inv.host("vm2")), command_timeout=3)
    async with SshPool() as pool:
        assert (await pool.run(vm2, ["true"])).rc == 0

        flowing = asyncio.Event()

        async def endless():
            for sent in range(1 << 20):
                if sent == 4:  # the channel is open and data flows
                    flowing.set()
                yield bytes(1 << 16)

        stream = asyncio.ensure_future(pool.feed(vm2, ["cat"], endless()))
        await asyncio.wait_for(flowing.wait(), 60)
        with frozen_sshd(lab, "vm2", sessions=True):
            with pytest.raises(CommandTimeout) as raised:
                await asyncio.wait_for(stream, 60)
        assert str(raised.value) == "vm2: took no data for 3 s; is its sshd frozen or overloaded?"


def test_6_exec_whose_host_freezes_mid_command_reports_a_timeout_and_the_others_finish(lab, inventory):
    """The CLI's own connection is open when the sshd serving it freezes: command_timeout (10 s) ends it."""
    pause = f"3.{uuid.uuid4().int % 10**6:06d}"  # a sleep of its own, to find it running on vm2
    proc = subprocess.Popen([sys.executable, "-m", "kob", "exec", str(inventory), f"sleep {pause}; hostname"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60  # frozen once the command runs on vm2: its connection is open
        while not _running_on(lab, "vm2", f"sleep\0{pause}") and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.05)
        with frozen_sshd(lab, "vm2", sessions=True):
            out, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 2, out + err
    recap = recap_lines(out)
    assert (recap["vm1"], recap["vm3"]) == ("ok", "ok") and "vm1 | vm1" in out and "vm3 | vm3" in out
    assert "vm2" in recap["vm2"] and "within 10 s" in recap["vm2"], recap["vm2"]


# -- a changed host key --------------------------------------------------------------------------------

@pytest.fixture
def changed_key_inventory(lab, inventory, tmp_path) -> Path:
    """The same inventory (same file name, so the same store namespace) with vm2's known key replaced."""
    other = tmp_path / "other_key"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(other)], check=True)
    fake = " ".join(other.with_suffix(".pub").read_text().split()[:2])
    known = tmp_path / "known_hosts"
    lines = lab.layout.known_hosts.read_text().splitlines()
    assert sum(line.startswith(f"198.18.{NET}.12 ") for line in lines) == 1
    known.write_text("".join(f"198.18.{NET}.12 {fake}\n" if line.startswith(f"198.18.{NET}.12 ") else line + "\n"
                             for line in lines))
    (tmp_path / "copy").mkdir()
    return write_inventory(tmp_path / "copy" / inventory.name, lab, replicas=6, known_hosts=known)


def test_7_a_changed_host_key_is_refused_in_one_line_and_nothing_runs_there(lab, inventory, changed_key_inventory):
    marker = f"/tmp/kob-faults-{uuid.uuid4().hex[:8]}"
    done = kob("exec", str(changed_key_inventory), f"touch {marker}")
    assert done.returncode == 2, done.stdout + done.stderr
    about_vm2 = [line for line in (done.stdout + done.stderr).splitlines() if "vm2" in line]
    assert about_vm2 == [f"vm2 : unreachable: vm2: host key of 198.18.{NET}.12:22 is not trusted by "
                         f"{changed_key_inventory.parent.parent / 'known_hosts'} (unknown or changed); "
                         "check the host, then fix known_hosts"], about_vm2
    made = {vm: (lab.layout.vm(int(vm[2:])).dir / "tmp" / Path(marker).name).exists() for vm in ALL}
    assert made == {"vm1": True, "vm2": False, "vm3": True}


def test_8_deploy_with_a_changed_host_key_changes_nothing_on_that_host(lab, inventory, changed_key_inventory):
    write_inventory(inventory, lab, replicas=6)
    first = kob("deploy", str(inventory), "--wait", "30")
    assert first.returncode == 0, first.stdout + first.stderr
    vm2_before = containers(lab, "vm2")
    assert vm2_before, "vm2 should hold a replica before"
    done = kob("deploy", str(changed_key_inventory), "--wait", "30")
    assert done.returncode == 2, done.stdout + done.stderr
    assert "  vm2        unreachable" in done.stdout
    assert sum("host key of" in line for line in (done.stdout + done.stderr).splitlines()) == 1
    assert containers(lab, "vm2") == vm2_before
    after = kob("deploy", str(inventory), "--wait", "30")  # the right key again: duplicates go
    assert after.returncode == 0, after.stdout + after.stderr
    assert_converged(lab, inventory, 6)
