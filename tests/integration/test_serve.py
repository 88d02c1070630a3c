"""Two `kob serve` on the lab's etcd: exactly one leads and runs the passes; killed, the other takes over."""

from __future__ import annotations

import signal
import time
import urllib.request
from pathlib import Path

import pytest

from tests.helpers.lab_services import kob
from tests.helpers.page_process import PageProcess

LEASE = 2  # seconds; etcd counts leases in whole seconds and expires them up to 0.5 s late
EVERY = 1
# About LEASE + LEASE / 3 + 0.5 s on an idle machine (the lease, one election step, etcd's expiry tick). The
# deadline leaves a loaded machine room and still fails a follower that waits for kob's default 10 s lease.
TAKEOVER_DEADLINE = 3 * LEASE + 3


def serve(inventory: Path, name: str) -> PageProcess:
    return PageProcess("serve", inventory, "--every", str(EVERY), "--lease", str(LEASE), "--refresh", "1",
                       log=inventory.parent / f"{name}.log")


def roles(servers: list[PageProcess]) -> list[dict]:
    return [server.get("api/v1/overview") for server in servers]


def wait_for(what, timeout: float, step: float = 0.1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if found := what():
            return found
        time.sleep(step)
    raise AssertionError(f"not within {timeout} s")


@pytest.fixture
def servers(lab, tmp_path):
    inventory = tmp_path / "serve.yaml"
    inventory.write_text(lab.layout.inventory.read_text())
    started = [serve(inventory, "a"), serve(inventory, "b")]
    try:
        for server in started:
            server.wait_ready()
        yield inventory, started
    finally:
        for server in started:
            server.stop(signal.SIGKILL)


def test_exactly_one_acts_and_a_killed_leader_is_replaced_in_bounded_time(servers):
    inventory, pair = servers
    wait_for(lambda: any(o["serve"]["role"] == "leader" for o in roles(pair)), 15)
    for _ in range(10):  # over two seconds: always exactly one leader, and only it runs passes
        views = roles(pair)
        assert sorted(o["serve"]["role"] for o in views) == ["follower", "leader"]
        time.sleep(0.2)
    leader, follower = (pair if views[0]["serve"]["role"] == "leader" else pair[::-1])
    wait_for(lambda: leader.get("api/v1/overview")["serve"]["passes"] >= 2, 15)
    view = follower.get("api/v1/overview")
    assert view["serve"]["passes"] == 0
    assert view["control"]["last_pass"]["who"] == leader.get("api/v1/overview")["serve"]["holder"]
    assert view["control"]["leader"]["holder"] == leader.get("api/v1/overview")["serve"]["holder"]

    leader.stop(signal.SIGKILL)
    killed = time.monotonic()
    wait_for(lambda: follower.get("api/v1/overview")["serve"]["role"] == "leader", TAKEOVER_DEADLINE, 0.05)
    took = time.monotonic() - killed
    new_holder = follower.get("api/v1/overview")["serve"]["holder"]
    wait_for(lambda: follower.get("api/v1/overview")["control"]["last_pass"]["who"] == new_holder, 15)
    assert "pass ok: reconcile: 0 actions" in follower.output()

    assert follower.stop(signal.SIGTERM) == 0  # a clean stop gives the lock back at once
    events = kob("events", str(inventory), "--kind", "leader").stdout
    assert events.count("became leader") == 2 and f"{new_holder}: released" in events
    print(f"takeover after SIGKILL of the leader: {took:.2f} s (lease {LEASE} s)")


def test_serve_follows_its_inventory_and_keeps_it_through_a_bad_edit(lab, tmp_path):
    inventory = tmp_path / "follow.yaml"
    base = lab.layout.inventory.read_text()
    inventory.write_text(base)
    server = serve(inventory, "follow")
    try:
        server.wait_ready()
        assert server.get("api/v1/overview")["services"] == []
        inventory.write_text(base + "services:\n  added: {image: kob-demo/web:1, replicas: 0}\n")
        wait_for(lambda: [s["name"] for s in server.get("api/v1/overview")["services"]] == ["added"], 60)
        inventory.write_text(base + "services:\n  added: {image: kob-demo/web:1, replicas: nine}\n")
        error = wait_for(lambda: server.get("api/v1/overview").get("inventory_error"), 60)
        assert error.startswith(f"{inventory}:") and "replicas" in error, error
        assert [s["name"] for s in server.get("api/v1/overview")["services"]] == ["added"], "the last good one"
        with urllib.request.urlopen(server.url, timeout=10) as reply:
            assert 'id="inventory-error"' in reply.read().decode(), "the page shows it too"
        inventory.write_text(base + "services:\n  added: {image: kob-demo/web:1, replicas: 0}\n"
                                    "  more: {image: kob-demo/web:1, replicas: 0}\n")
        wait_for(lambda: [s["name"] for s in server.get("api/v1/overview")["services"]] == ["added", "more"], 60)
        assert server.get("api/v1/overview")["inventory_error"] is None
        log = server.output()
        assert log.count("is not taken; still serving the inventory as it was") == 1, log
        assert log.count("changed; now serving it") == 2, log
    finally:
        server.stop()
