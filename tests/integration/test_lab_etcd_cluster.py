"""The test lab's 3-member etcd (tests/conftest.py brings the lab up with --etcd 3).

One member killed during a deploy or under `kob serve` changes nothing a user sees: the deploy finishes with
every request through HAProxy answered, the leader keeps its lease. Every member killed: `kob serve` says so
once, its page stays up with the last view marked stale, and it says once that etcd is back.
"""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from kob.lab import etcd_server
from kob.lab.layout import LabLayout
from tests.conftest import TEST_LAB_NET
from tests.helpers.etcd_cluster import EtcdCluster
from tests.helpers.lab_services import LoadLoop, kob, rolling_service
from tests.helpers.page_process import PageProcess

PORT = 8091
SERVICES = rolling_service(PORT, "quorum")
URL = f"http://198.18.{TEST_LAB_NET}.11:{PORT}/"


def wait_for(what, timeout: float, step: float = 0.2):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if found := what():
            return found
        time.sleep(step)
    raise AssertionError(f"not within {timeout} s")


@pytest.fixture(scope="module")
def inventory(lab, tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("etcd-cluster") / "quorum.yaml"
    base = lab.layout.inventory.read_text()
    path.write_text(base + SERVICES.format(image="1", replicas=4))
    done = kob("deploy", str(path), "--wait", "30")
    assert done.returncode == 0, done.stdout + done.stderr
    yield path
    for member in ("etcd1", "etcd2", "etcd3"):
        lab.start_etcd(member)
    kob("down", str(path), "--wait", "30")


@pytest.fixture
def every_member_back(lab):
    yield
    for member in ("etcd1", "etcd2", "etcd3"):
        lab.start_etcd(member)


def test_the_lab_etcd_has_three_members_each_on_its_own_lab_address(lab):
    assert lab.etcd_healthy()
    endpoints = [f"198.18.{TEST_LAB_NET}.{k}:2379" for k in (1, 2, 3)]
    assert f"state: etcd://{','.join(endpoints)}" in lab.layout.inventory.read_text().splitlines()
    for k, pid in enumerate(lab.state["etcd_pids"], start=1):
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().decode().split("\0")
        assert argv[argv.index("--listen-client-urls") + 1] == f"http://198.18.{TEST_LAB_NET}.{k}:2379"
        assert argv[argv.index("--listen-peer-urls") + 1] == f"http://198.18.{TEST_LAB_NET}.{k}:2380"
    shown = kob("lab", "status", "--net", str(TEST_LAB_NET), "--dir", str(lab.layout.dir)).stdout
    assert [line.split() for line in shown.splitlines() if line.startswith("etcd")] == [
        [f"etcd{k}", endpoint, "up"] for k, endpoint in enumerate(endpoints, start=1)]


def test_a_deploy_finishes_unharmed_when_the_member_it_uses_is_killed_midway(lab, inventory, every_member_back):
    inventory.write_text(inventory.read_text().replace("kob-demo/web:1", "kob-demo/web:2"))
    with LoadLoop(URL, limit=100000, seconds=300) as load:
        deploy = subprocess.Popen([sys.executable, "-m", "kob", "deploy", str(inventory), "--wait", "30"],
                                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        lines = []
        for line in deploy.stdout:  # etcd1 is the member every kob process asks first
            lines.append(line)
            if line.startswith("~ quorum replica"):
                assert lab.stop_etcd("etcd1")
                break
        lines += deploy.stdout.readlines()
        assert deploy.wait(timeout=300) == 0, "".join(lines)
    assert not lab.etcd_status()[lab.layout.etcd_member(1)]
    status = kob("status", str(inventory), "--json")
    assert status.returncode == 0, status.stderr
    [quorum] = json.loads(status.stdout)["services"]
    assert (quorum["healthy"], quorum["revision"], quorum["image"]) == (4, 2, "kob-demo/web:2")
    history = kob("history", str(inventory), "quorum").stdout.splitlines()
    assert [line.split()[3] for line in history] == ["kob-demo/web:1", "kob-demo/web:2"]
    print(f"requests through HAProxy while etcd1 was killed mid-deploy: {load.ok} answered, "
          f"{len(load.failures)} failed")
    assert load.ok > 0 and load.failures == []


def serve(inventory: Path) -> PageProcess:
    return PageProcess("serve", inventory, "--every", "1", "--lease", "10", "--refresh", "1",
                       log=inventory.parent / "serve.log")


def test_serve_keeps_its_lease_through_one_member_and_says_once_when_all_go_and_come_back(lab, inventory,
                                                                                          every_member_back):
    server = serve(inventory)
    try:
        server.wait_ready()
        wait_for(lambda: server.get("api/v1/overview")["serve"]["role"] == "leader", 30)
        assert lab.stop_etcd("etcd1")
        passes = server.get("api/v1/overview")["serve"]["passes"]
        wait_for(lambda: server.get("api/v1/overview")["serve"]["passes"] >= passes + 3, 60)
        assert server.get("api/v1/overview")["serve"]["role"] == "leader"
        assert "lost leadership" not in server.output() and "store:" not in server.output()

        lab.stop_etcd("etcd2")
        lab.stop_etcd("etcd3")
        stale = wait_for(lambda: (view := server.get("api/v1/overview"))["stale"] and view, 60)
        assert "does not answer" in stale["refresh_error"]
        assert [s["name"] for s in stale["services"]] == ["quorum"]  # the last view, served whole
        time.sleep(5)  # several refreshes and election steps fail meanwhile; none of them says it again
        with urllib.request.urlopen(server.url, timeout=10) as reply:
            assert "Stale: this is the view as of" in reply.read().decode()

        for member in ("etcd1", "etcd2", "etcd3"):
            lab.start_etcd(member)
        wait_for(lambda: not server.get("api/v1/overview")["stale"], 60)
        wait_for(lambda: server.get("api/v1/overview")["serve"]["role"] == "leader", 60)
    finally:
        server.stop(signal.SIGTERM)
    said = [line.split(" ", 1)[1] for line in server.output().splitlines() if re.match(r"\d\d:\d\d:\d\d store: ", line)]
    endpoints = ",".join(f"198.18.{TEST_LAB_NET}.{k}:2379" for k in (1, 2, 3))
    assert len(said) == 2, server.output()
    assert said[0].startswith(f"store: etcd at {endpoints} does not answer (")
    assert re.fullmatch(rf"store: etcd at {re.escape(endpoints)} answers again, after \d+ s", said[1])
    assert "Traceback" not in server.output()


@pytest.mark.parametrize(("image", "when"), [
    ("1", r"Plan: "),  # after the plan is printed, before the revision is recorded
    ("2", r"~ quorum replica \d+ on .*: healthy$"),  # after the first replica is replaced
])
def test_every_member_killed_mid_deploy_leaves_what_runs_whole_and_the_next_deploy_finishes(
        lab, inventory, every_member_back, image, when):
    inventory.write_text(re.sub(r"kob-demo/web:\d", f"kob-demo/web:{image}", inventory.read_text()))
    with LoadLoop(URL, limit=100000, seconds=600) as load:
        deploy = subprocess.Popen([sys.executable, "-m", "kob", "deploy", str(inventory), "--wait", "30"],
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for line in deploy.stdout:
            if re.match(when, line.rstrip()):
                for member in ("etcd1", "etcd2", "etcd3"):
                    lab.stop_etcd(member)
                break
        _, err = deploy.communicate(timeout=300)
        # Refused before any change, stopped between two replicas once the lock could not be kept, or done
        # first: a failure is one line naming the store.
        errors = [line for line in err.splitlines() if line.startswith("kob: error: ")]
        assert deploy.returncode in (0, 1) and len(errors) == deploy.returncode, err
        if errors:
            assert err.strip().splitlines() == errors, err  # the one line is all it says
            assert "etcd at 198.18." in errors[0] and "does not answer" in errors[0], errors[0]
        print(f"deploy with every etcd member killed at '{when}': exit {deploy.returncode}: {err.strip()}")
        for member in ("etcd1", "etcd2", "etcd3"):
            lab.start_etcd(member)
        again = kob("deploy", str(inventory), "--wait", "30")
        assert again.returncode == 0, again.stdout + again.stderr
    [quorum] = json.loads(kob("status", str(inventory), "--json").stdout)["services"]
    assert (quorum["desired"], quorum["running"], quorum["healthy"]) == (4, 4, 4)
    assert quorum["image"] == f"kob-demo/web:{image}" and {r["image"] for r in quorum["replicas"]} == {quorum["image"]}
    assert sorted(r["replica"] for r in quorum["replicas"]) == [1, 2, 3, 4]  # no duplicate, no orphan
    print(f"requests through HAProxy meanwhile: {load.ok} answered, {len(load.failures)} failed")
    assert load.ok > 0 and load.failures == []


@pytest.mark.etcd
def test_lab_down_finds_etcd_members_whose_pids_the_lab_state_lost(tmp_path):
    cluster = EtcdCluster(tmp_path / "etcd", size=1)
    try:
        cluster.start_all()
        assert etcd_server.strays(LabLayout(tmp_path)) == [cluster.members[0].process.pid]
        assert etcd_server.strays(LabLayout(tmp_path / "another")) == []
    finally:
        cluster.remove()
