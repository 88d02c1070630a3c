"""`kob deploy` on the lab: real sshd, Docker Engine, HAProxy and etcd (the Must-show list of the deploy issue)."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from collections import Counter
from pathlib import Path

import pytest

SERVICES = """
services:
  web:
    image: kob-demo/web:{image}
    replicas: {replicas}
    port: 80
    healthcheck: {{http: /healthz, interval: 500ms, timeout: 1s, retries: 2}}
    update: {{parallelism: 1, order: start-first, failure_action: rollback, monitor: 0s}}
lb:
  frontends:
    http: {{bind: 8080, default: web}}
"""
URL = "http://198.18.3.11:8080/"


def kob(*args: str, timeout: float = 180) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "kob", *args], capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def inventory(lab, tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("deploy") / "inventory.yaml"
    base = lab.layout.inventory.read_text()
    path.write_text(base + SERVICES.format(image="1", replicas=4))
    yield path
    path.write_text(base + SERVICES.format(image="1", replicas=0))
    kob("deploy", str(path), "--wait", "30")
    kob("exec", str(path), "--hosts", "lb", "kill $(cat /run/haproxy.pid) 2>/dev/null; rm -f /etc/haproxy/haproxy.cfg")


def set_spec(path: Path, lab, image: str = "1", replicas: int = 4) -> None:
    path.write_text(lab.layout.inventory.read_text() + SERVICES.format(image=image, replicas=replicas))


def fetch() -> str:
    with urllib.request.urlopen(URL, timeout=5) as reply:
        assert reply.status == 200
        return reply.read().decode()


class LoadLoop:
    """Requests through HAProxy in a thread, bounded in count and time; counts every failure."""

    def __init__(self, limit: int = 3000, seconds: float = 120):
        self.limit, self.seconds = limit, seconds
        self.ok, self.failures, self.bodies = 0, [], Counter()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        deadline = time.monotonic() + self.seconds
        while not self._stop.is_set() and self.ok + len(self.failures) < self.limit and time.monotonic() < deadline:
            try:
                self.bodies[fetch().split(" container=")[0]] += 1
                self.ok += 1
            except Exception as error:  # every kind of failure counts
                self.failures.append(repr(error))
            time.sleep(0.01)

    def __enter__(self) -> "LoadLoop":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


def deploy_ok(path: Path, *extra: str) -> subprocess.CompletedProcess:
    done = kob("deploy", str(path), "--wait", "30", *extra)
    assert done.returncode == 0, done.stdout + done.stderr
    return done


def test_1_four_replicas_on_three_vms_all_reached_through_haproxy(lab, inventory):
    deploy_ok(inventory)
    replicas = Counter(fetch().split("replica=")[1].split()[0] for _ in range(40))
    assert sorted(replicas) == ["1", "2", "3", "4"]


def test_2_unchanged_redeploy_changes_nothing_with_one_ssh_command_per_host(inventory):
    done = kob("-v", "deploy", str(inventory))
    assert done.returncode == 0, done.stderr
    assert "No changes" in done.stdout
    assert done.stdout.strip().splitlines()[-1] == "ssh commands: 3 (vm1 1, vm2 1, vm3 1)"


def test_3_image_change_under_load_loses_no_request(lab, inventory):
    set_spec(inventory, lab, image="2")
    with LoadLoop() as load:
        deploy_ok(inventory)
        time.sleep(0.5)
    assert load.failures == [] and load.ok > 50
    assert {fetch().split()[1] for _ in range(20)} == {"2"}


def test_4_a_failing_health_check_stops_and_rolls_back(lab, inventory):
    set_spec(inventory, lab, image="broken")
    with LoadLoop() as load:
        done = kob("deploy", str(inventory), "--wait", "30")
    assert done.returncode == 1
    assert "is unhealthy; rolled back to revision" in done.stderr
    assert load.failures == []
    status = kob("status", str(inventory), "--json")
    assert '"image": "kob-demo/web:2"' in status.stdout and '"healthy": 4' in status.stdout
    assert {fetch().split()[1] for _ in range(12)} == {"2"}


def test_5_rollback_and_scaling_lose_no_request(lab, inventory):
    set_spec(inventory, lab, image="2")
    with LoadLoop() as load:
        assert kob("rollback", str(inventory), "web", "--to", "1").returncode == 0
        assert kob("scale", str(inventory), "web=6").returncode == 0
        assert kob("scale", str(inventory), "web=2").returncode == 0
        time.sleep(0.5)
    assert load.failures == []
    assert {fetch().split()[1] for _ in range(10)} == {"1"}
    assert sorted({fetch().split("replica=")[1].split()[0] for _ in range(20)}) == ["1", "2"]


@pytest.mark.parametrize("kill_after", [0.7, 2.0, 4.0])
def test_6_a_killed_deploy_leaves_no_duplicates_and_its_lock_expires(lab, inventory, kill_after):
    image = {0.7: "2", 2.0: "1", 4.0: "2"}[kill_after]
    set_spec(inventory, lab, image=image, replicas=3)  # not 4: `kob scale` above pinned 2 while it says 4
    proc = subprocess.Popen([sys.executable, "-m", "kob", "deploy", str(inventory), "--wait", "30"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(kill_after)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    deploy_ok(inventory)
    web = json.loads(kob("status", str(inventory), "--json").stdout)["services"][0]
    assert (web["running"], web["healthy"]) == (3, 3)
    assert sorted(r["replica"] for r in web["replicas"]) == [1, 2, 3], "a duplicate or missing replica"
    assert {r["image"] for r in web["replicas"]} == {f"kob-demo/web:{image}"}
