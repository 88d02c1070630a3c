"""The CLI habits against real hosts: `kob status --json` and `kob top --json` keep the keys the README
lists and no env value; `kob status -w` prints rounds; a plan is coloured on a terminal only and never with
NO_COLOR. State in a SQLite file beside the inventory; `kob down` removes what the test deployed."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

from tests.helpers.lab_services import kob
from tests.helpers.terminal import kob_on_a_terminal

SECRET = "Habit-s3cret-never-printed"
SERVICE = f"""
services:
  habit:
    image: kob-demo/web:1
    replicas: {{replicas}}
    port: 80
    env: {{{{TOKEN: {SECRET}}}}}
    healthcheck: {{{{http: /healthz, interval: 500ms, timeout: 3s, retries: 3, start_period: 5s}}}}
"""
REPLICA_KEYS = {"replica", "host", "address", "host_port", "state", "health", "revision", "image"}
HOST_KEYS = {"host", "time", "interval", "cpu", "ncpu", "load", "mem_used", "mem_total", "disk_used", "disk_total",
             "containers"}
CONTAINER_KEYS = {"id", "service", "replica", "state", "restarts", "cpu", "memory", "memory_limit"}


def ok(*args: str, env: dict | None = None) -> str:
    done = kob(*args, env=env)
    assert done.returncode == 0, f"kob {' '.join(args)}: {done.stdout}{done.stderr}"
    assert SECRET not in done.stdout + done.stderr
    return done.stdout


def write(path: Path, lab, replicas: int) -> None:
    hosts = [line for line in lab.layout.inventory.read_text().splitlines() if not line.startswith("state:")]
    path.write_text("\n".join(hosts) + "\n" + SERVICE.format(replicas=replicas))


@pytest.fixture(scope="module")
def inventory(lab, tmp_path_factory):
    path = tmp_path_factory.mktemp("habits") / "habits.yaml"
    write(path, lab, replicas=2)
    ok("deploy", str(path), "--wait", "30")
    try:
        yield path
    finally:
        kob("down", str(path), "--wait", "30")


def test_status_json_on_real_hosts(inventory):
    status = json.loads(ok("status", str(inventory), "--json"))
    assert set(status) == {"services", "unreachable", "certificates"} and status["certificates"] == [] and status["unreachable"] == {}
    (habit,) = status["services"]
    assert (habit["service"], habit["desired"], habit["running"], habit["healthy"]) == ("habit", 2, 2, 2)
    assert [set(r) for r in habit["replicas"]] == [REPLICA_KEYS] * 2
    assert {r["state"] for r in habit["replicas"]} == {"running"}


def test_top_json_on_real_hosts(inventory):
    top = json.loads(ok("top", str(inventory), "--json"))
    assert set(top) == {"hosts", "unreachable"} and top["unreachable"] == {}
    assert sorted(top["hosts"]) == ["vm1", "vm2", "vm3"]
    assert all(set(usage) == HOST_KEYS for usage in top["hosts"].values())
    containers = [c for usage in top["hosts"].values() for c in usage["containers"]]
    assert [c["service"] for c in containers] == ["habit", "habit"]
    assert all(set(c) == CONTAINER_KEYS for c in containers)


def test_history_json_on_real_hosts(inventory):
    (revision,) = json.loads(ok("history", str(inventory), "habit", "--json"))
    assert (revision["revision"], revision["image"]) == (1, "kob-demo/web:1")


def test_status_watch_prints_each_round(inventory):
    out = ok("status", str(inventory), "-w", "--interval", "0.5", "--rounds", "2")
    rounds = out.split("\n\n")
    assert len(rounds) == 2
    for text in rounds:
        lines = text.strip("\n").split("\n")
        assert lines[0].startswith(f"kob status {inventory}  every 0.5 s")
        assert lines[2].split()[:4] == ["habit", "2", "2", "2"]
        assert sum(line.strip().startswith("replica ") for line in lines) == 2


def test_a_plan_is_green_on_a_terminal_and_plain_with_no_color(lab, inventory):
    bigger = inventory.with_name("habits.yaml")
    write(bigger, lab, replicas=3)
    try:
        env = {k: v for k, v in os.environ.items() if k != "NO_COLOR"}
        env["PYTHONPATH"] = os.pathsep.join(sys.path)
        code, out = kob_on_a_terminal("deploy", str(bigger), "--check", env=env)
        assert code == 0 and "\x1b[32m+ habit replica 3 on " in out, out
        code, out = kob_on_a_terminal("deploy", str(bigger), "--check", env={**env, "NO_COLOR": "1"})
        assert code == 0 and "\x1b" not in out and "+ habit replica 3 on " in out, out
        piped = ok("deploy", str(bigger), "--check", env={"NO_COLOR": ""})
        assert "\x1b" not in piped and "+ habit replica 3 on " in piped
    finally:
        write(bigger, lab, replicas=2)
