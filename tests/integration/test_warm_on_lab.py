"""Warm connections on the lab: with `kob connect` holding the inventory's SSH connections, kob commands go
through its socket and give the same output and exit codes as with their own connections; a second holder is
refused; `kob serve` lends its connections the same way; a holder killed in the middle of `kob exec` ends that
command in one line naming the holder and the hosts, and the command ran at most once on each host.

`kob deploy` is run by the holder itself (the command loads no deploy code): a change lands as it would
otherwise, an inventory mistake gives the same line, and a holder killed mid-rollout ends the command in
one line, after which a deploy of its own converges at once.

State in a SQLite file beside the inventory; the sockets in a folder of the test's own; every holder is
stopped and `kob down` removes what the test deployed, also on failure."""

from __future__ import annotations

import json
import os
import queue
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import pytest

from tests.helpers.lab_services import kob
from tests.helpers.page_process import PageProcess

SERVICE = """
services:
  warm:
    image: kob-demo/web:1
    replicas: 2
    port: 80
"""  # no health check: on a machine loaded past 40 a busy replica may fail one between two runs, and the
# deploys compared would then differ for a reason that is not theirs
COLD = {"KOB_NO_HOLDER": "1"}
START_TIMEOUT = 90  # s for a holder to connect to every VM on a busy machine


@pytest.fixture(scope="module")
def sockets():
    """A private folder for the holders' sockets (short: a socket path has at most 107 bytes)."""
    folder = Path(tempfile.mkdtemp(prefix="kob-warm-", dir="/tmp"))
    os.chmod(folder, 0o700)
    yield {"KOB_HOLDER_DIR": str(folder)}
    shutil.rmtree(folder, ignore_errors=True)


def write(path: Path, lab) -> Path:
    hosts = [line for line in lab.layout.inventory.read_text().splitlines() if not line.startswith("state:")]
    path.write_text("\n".join(hosts) + "\n" + SERVICE)
    return path


@pytest.fixture(scope="module")
def inventory(lab, tmp_path_factory, sockets):
    path = write(tmp_path_factory.mktemp("warm") / "warm.yaml", lab)
    done = kob("deploy", str(path), "--wait", "60", env=COLD)
    try:
        assert done.returncode == 0, done.stdout + done.stderr
        yield path
    finally:
        kob("down", str(path), "--wait", "30", env=COLD)


class Holder:
    """A `kob connect` process, its output in a file; stopped by SIGTERM at the end unless killed before."""

    def __init__(self, inventory: Path, env: dict, log: Path):
        self.log = log
        with open(log, "wb") as out:
            self.process = subprocess.Popen([sys.executable, "-m", "kob", "connect", str(inventory)], stdout=out,
                                            stderr=subprocess.STDOUT, env={**os.environ, **env})

    def wait_holding(self) -> str:
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if "kob connect: holding 3 of 3 connections" in self.output():
                return self.output()
            assert self.process.poll() is None, f"kob connect exited: {self.output()}"
            time.sleep(0.1)
        raise AssertionError(f"kob connect did not connect within {START_TIMEOUT} s: {self.output()}")

    def output(self) -> str:
        return self.log.read_text()

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        self.process.wait(timeout=30)


@pytest.fixture(scope="module")
def holder(inventory, sockets, tmp_path_factory):
    held = Holder(inventory, sockets, tmp_path_factory.mktemp("holder") / "connect.log")
    try:
        held.wait_holding()
        yield held
    finally:
        held.stop()


@pytest.mark.parametrize("args, rc", [
    (("exec", "{inv}", "hostname; echo to-stderr >&2"), 0),
    (("exec", "{inv}", 'echo oops >&2; [ "$(hostname)" != vm2 ]'), 2),
    (("exec", "{inv}", "exit 7", "--hosts", "vm3"), 2),
    (("status", "{inv}"), 0),
    (("deploy", "{inv}"), 0),
    (("-v", "deploy", "{inv}"), 0),
])
def test_a_command_through_the_holder_gives_what_it_gives_on_its_own(inventory, holder, sockets, args, rc):
    argv = [arg.format(inv=inventory) for arg in args]
    warm = kob(*argv, env=sockets)
    cold = kob(*argv, env={**sockets, **COLD})
    assert (warm.returncode, warm.stdout, warm.stderr) == (cold.returncode, cold.stdout, cold.stderr)
    assert warm.returncode == rc, warm.stderr
    if "deploy" in argv:
        assert "No changes" in warm.stdout


DEPLOY_HERE = """
import sys
from kob.cli.main import main
sys.argv = ["kob", *sys.argv[1:]]
try:
    main()
finally:
    print("deploy code loaded:", "kob.deploy.converge" in sys.modules, file=sys.stderr)
"""


def test_a_change_deployed_through_the_holder_lands_and_the_command_loads_no_deploy_code(inventory, holder, sockets):
    original = inventory.read_text()
    try:
        inventory.write_text(original.replace("replicas: 2", "replicas: 3"))
        done = subprocess.run([sys.executable, "-c", DEPLOY_HERE, "deploy", str(inventory), "--wait", "60"], check=False,
                              capture_output=True, text=True, timeout=300, env={**os.environ, **sockets})
        assert done.returncode == 0, done.stdout + done.stderr
        assert "+ warm replica 3 on vm3" in done.stdout and "  warm       created=1" in done.stdout
        assert done.stderr.splitlines()[-1] == "deploy code loaded: False"
        status = kob("status", str(inventory), "--json", env={**sockets, **COLD})
        assert status.returncode == 0 and json.loads(status.stdout)["services"][0]["running"] == 3, status.stdout
    finally:
        inventory.write_text(original)
        back = kob("deploy", str(inventory), "--wait", "60", env={**sockets, **COLD})
        assert back.returncode == 0, back.stdout + back.stderr


@pytest.mark.parametrize("mistake", ["    bogus: 1\n", "    env_file: nothere.env\n"])
def test_an_inventory_mistake_deployed_through_the_holder_gives_the_same_line(inventory, holder, sockets, mistake):
    original = inventory.read_text()
    try:
        inventory.write_text(original.replace("    port: 80\n", "    port: 80\n" + mistake))
        warm = kob("deploy", inventory.name, env=sockets, cwd=inventory.parent)
        cold = kob("deploy", inventory.name, env={**sockets, **COLD}, cwd=inventory.parent)
    finally:
        inventory.write_text(original)
    assert (warm.returncode, warm.stdout, warm.stderr) == (cold.returncode, cold.stdout, cold.stderr)
    assert warm.returncode == 1 and warm.stderr.startswith(f"kob: error: {inventory.name}:")


def test_the_holders_connections_are_the_ones_used(inventory, holder, sockets):
    """$SSH_CONNECTION names the client's port: through the holder it is the same run after run."""
    def ports(env: dict) -> list[str]:
        done = kob("exec", str(inventory), "echo $SSH_CONNECTION", env=env)
        assert done.returncode == 0, done.stderr
        return [line for line in done.stdout.splitlines() if " | " in line]

    assert ports(sockets) == ports(sockets)
    assert ports({**sockets, **COLD}) != ports({**sockets, **COLD})
    assert not set(ports(sockets)) & set(ports({**sockets, **COLD}))


def test_a_second_holder_for_the_same_inventory_is_refused_in_one_line(inventory, holder, sockets):
    done = kob("connect", str(inventory), env=sockets, timeout=60)
    assert done.returncode == 1
    assert done.stderr.splitlines() == [(
        f"kob: error: the connection holder of {inventory} (pid {holder.process.pid}, "
        f"{holder_socket(inventory, sockets)}) already holds this inventory's connections")]


def test_killing_the_holder_mid_command_fails_it_in_one_line_and_it_ran_at_most_once(lab, tmp_path, sockets):
    inventory = write(tmp_path / "killed.yaml", lab)  # its own socket: the module's holder keeps running
    held = Holder(inventory, sockets, tmp_path / "connect.log")
    marker = f"/tmp/kob-warm-marker-{uuid.uuid4().hex}"
    try:
        held.wait_holding()
        running = subprocess.Popen([sys.executable, "-m", "kob", "exec", str(inventory), f"sleep 5; echo x >> {marker}"],
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                   env={**os.environ, **sockets})
        wait_until_running_everywhere(inventory, f"sleep 5; echo x >> {marker}", sockets)
        held.process.send_signal(signal.SIGKILL)
        out, err = running.communicate(timeout=60)
        assert running.returncode == 1
        assert err.splitlines() == [(
            f"kob: error: the connection holder of {inventory} (pid {held.process.pid}, "
            f"{holder_socket(inventory, sockets)}) went away while running on vm1, vm2, vm3; "
            "not tried again, since the command may have run there: check, then run it again")]
        assert out == ""
        time.sleep(6)  # past the remote sleep: a command that survived its connection has written by now
        after = kob("exec", str(inventory), f"cat {marker} 2>/dev/null | wc -l", env=sockets)  # the stale socket
        assert after.returncode == 0, after.stderr
        counts = [line.split(" | ")[1].strip() for line in after.stdout.splitlines() if " | " in line]
        assert len(counts) == 3 and set(counts) <= {"0", "1"}, counts
        assert not holder_socket(inventory, sockets).exists(), "the dead holder's socket is removed"
    finally:
        held.stop()
        kob("exec", str(inventory), f"rm -f {marker}", env={**sockets, **COLD})


STUCK = """
services:
  stuck:
    image: kob-demo/web:1
    replicas: 1
    port: 80
"""


def test_killing_the_holder_mid_deploy_fails_it_in_one_line_and_a_deploy_of_its_own_converges(lab, tmp_path, sockets):
    inventory = tmp_path / "stuck.yaml"
    inventory.write_text(write(tmp_path / "hosts.yaml", lab).read_text().replace(SERVICE, "") + STUCK)
    first = kob("deploy", str(inventory), "--wait", "60", env={**sockets, **COLD})
    assert first.returncode == 0, first.stdout + first.stderr
    held = Holder(inventory, sockets, tmp_path / "connect.log")
    try:
        held.wait_holding()
        inventory.write_text(inventory.read_text().replace(  # a new replica that never becomes healthy
            "    port: 80\n", "    port: 80\n    healthcheck: {command: 'false', interval: 1s, retries: 60}\n"))
        running = subprocess.Popen([sys.executable, "-m", "kob", "deploy", str(inventory), "--wait", "60"],
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                   env={**os.environ, **sockets})
        said = wait_for_line(running, "Plan: ")
        held.process.send_signal(signal.SIGKILL)
        held.process.wait(timeout=30)  # reaped, as a shell reaps it: a zombie's pid still counts as running
        running.wait(timeout=60)
        err = running.stderr.read()  # its stdout is read by wait_for_line's thread
        assert running.returncode == 1, said + err
        assert err.splitlines() == [(
            f"kob: error: the connection holder of {inventory} (pid {held.process.pid}, "
            f"{holder_socket(inventory, sockets)}) went away while deploying; not tried again, since the deploy "
            "may have done some of its steps: check with `kob status`, then deploy again")]
        inventory.write_text(inventory.read_text().replace(
            "    healthcheck: {command: 'false', interval: 1s, retries: 60}\n", ""))
        again = kob("deploy", str(inventory), "--wait", "5", env=sockets)  # the dead holder's lock is freed at once
        assert again.returncode == 0, again.stdout + again.stderr
        status = kob("status", str(inventory), "--json", env=sockets)
        assert status.returncode == 0 and json.loads(status.stdout)["services"][0]["running"] == 1, status.stdout
    finally:
        held.stop()
        kob("down", str(inventory), "--wait", "30", env={**sockets, **COLD})


def wait_for_line(process: subprocess.Popen, start: str) -> str:
    """What ``process`` printed up to its first stdout line starting with ``start`` (120 s at most); a thread
    reads its lines, so that a process printing nothing cannot hold the test."""
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in iter(process.stdout.readline, "")] + [lines.put("")],
                     daemon=True).start()
    seen, deadline = "", time.monotonic() + 120
    while (left := deadline - time.monotonic()) > 0:
        try:
            line = lines.get(timeout=left)
        except queue.Empty:
            break
        seen += line
        assert line, f"the deploy ended before printing {start!r}: {seen}"
        if line.startswith(start):
            return seen
    raise AssertionError(f"no line starting with {start!r} within 120 s: {seen}")


def wait_until_running_everywhere(inventory: Path, command: str, sockets: dict) -> None:
    """Until the command runs on every VM (looked at over connections of our own), 60 s at most."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        done = kob("exec", str(inventory), f"pgrep -f {command.split(';')[1].strip()!r} >/dev/null",
                   env={**sockets, **COLD})
        if done.returncode == 0:
            return
        time.sleep(0.2)
    raise AssertionError(f"{command} did not start on every VM within 60 s")


def holder_socket(inventory: Path, sockets: dict) -> Path:
    from kob.spec.inventory import load_inventory
    from kob.transport.holder_socket import holder_socket_path

    inv = load_inventory(inventory)
    return holder_socket_path(inv.path, inv.state_url, sockets)


def test_kob_serve_lends_its_connections_too(lab, tmp_path, sockets, monkeypatch):
    inventory = write(tmp_path / "served.yaml", lab)
    monkeypatch.setenv("KOB_HOLDER_DIR", sockets["KOB_HOLDER_DIR"])
    page = PageProcess("serve", inventory, "--no-reconcile", "--no-autoscale", log=tmp_path / "serve.log")
    try:
        page.wait_ready(timeout=START_TIMEOUT)
        assert "kob serve: lending SSH connections, the store and deploys" in page.output()
        first = kob("exec", str(inventory), "echo $SSH_CONNECTION", env=sockets)
        second = kob("exec", str(inventory), "echo $SSH_CONNECTION", env=sockets)
        assert first.returncode == 0 and first.stdout == second.stdout, first.stderr
        assert holder_socket(inventory, sockets).exists()
    finally:
        page.stop()
    assert not holder_socket(inventory, sockets).exists()
