"""Sampling, autoscaling, self-healing and cron on the lab: real sshd, Docker, HAProxy, etcd and cron.

The Must-show list of the sampling/autoscale/self-healing issue. The service is called
"app" and listens on 8081, so that nothing here is mistaken for the deploy tests' web.
"""

from __future__ import annotations

import json
import re
import subprocess
import time
from pathlib import Path

import pytest

from tests.conftest import TEST_LAB_NET as NET
from tests.helpers.lab_services import LoadLoop, fetch, kob, on_vm

APP = """
services:
  app:
    image: kob-demo/web:1
    port: 80
    healthcheck: {{http: /healthz, interval: 500ms, timeout: 3s, retries: 3, start_period: 5s}}
    update: {{monitor: 0s}}
{autoscale}
lb:
  frontends:
    http: {{bind: 8081, default: app}}
heal: {{down_after: 3s}}
"""
AUTOSCALE = "    autoscale: {{min: 2, max: 4, cpu: 10, scale_down_window: {window}s}}"
URL = f"http://198.18.{NET}.11:8081/"
HOLD_WINDOW = 600  # s: a scale-down window that no machine, however slow, sees end during the test
SHORT_WINDOW = 5  # s: the window shortened, once the hold is seen, so that it ends while the test waits


def write(path: Path, lab, replicas: int | None = None, window: int = HOLD_WINDOW) -> None:
    autoscale = AUTOSCALE.format(window=window) if replicas is None else f"    replicas: {replicas}"
    path.write_text(lab.layout.inventory.read_text() + APP.format(autoscale=autoscale))


def ok(*args: str, timeout: float = 180) -> str:
    done = kob(*args, timeout=timeout)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def app_status(path: Path, away: tuple[str, ...] = ()) -> dict:
    """The app's status; only the hosts ``away`` (stopped by the test) may not answer: a count that misses
    a host that should have answered would read as replicas lost."""
    done = kob("status", str(path), "--json")
    status = json.loads(done.stdout)
    assert sorted(status["unreachable"]) == sorted(away), status["unreachable"]
    assert done.returncode == (2 if away else 0), done.stderr  # 2: a host did not answer
    return status["services"][0]


def app_containers(lab, vm: str) -> list[str]:
    return on_vm(lab, vm, "docker ps -q --filter label=kob.service=app").split()


@pytest.fixture(scope="module")
def inventory(lab, tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("control") / "control.yaml"
    write(path, lab)
    ok("deploy", str(path), "--wait", "30")
    yield path
    write(path, lab, replicas=0)
    kob("deploy", str(path), "--wait", "30")
    kob("down", str(path), "--wait", "30")


def test_1_top_reads_counters_of_every_host_and_container(inventory):
    ok("top", str(inventory))  # the first run samples twice, half a second apart; this one uses its sample
    usage = json.loads(ok("top", str(inventory), "--json"))
    assert sorted(usage["hosts"]) == ["vm1", "vm2", "vm3"] and usage["unreachable"] == {}
    for host in usage["hosts"].values():
        assert 0 <= host["cpu"] <= 100 and 0 < host["mem_used"] < host["mem_total"]
        assert 0 < host["disk_used"] < host["disk_total"] and host["ncpu"] >= 1
    apps = [c for h in usage["hosts"].values() for c in h["containers"] if c["service"] == "app"]
    assert sorted(c["replica"] for c in apps) == [1, 2]
    assert all(c["cpu"] is not None and c["memory"] > 0 and c["restarts"] == 0 for c in apps)
    table = ok("top", str(inventory)).splitlines()
    assert [line.split()[0] for line in table[1:4]] == ["vm1", "vm2", "vm3"]
    assert any(line.split()[:2] == ["app", "1"] for line in table)


def test_1b_a_cron_pass_observes_and_samples_in_one_ssh_command_per_host(inventory):
    """At rest, min replicas: reconcile and autoscale decide nothing, and share one command per host."""
    lines = ok("-v", "cron", "run", str(inventory)).splitlines()
    assert " ok: reconcile: 0 actions; autoscale: no change" in lines[-2], lines
    assert lines[-1].endswith(" ssh commands: 3 (vm1 1, vm2 1, vm3 1)"), lines


def burn(lab, on: bool, loops: int = 2) -> None:
    """Busy loops in every app container (busybox sh), stopped by a file they watch.

    Two per container: on a machine that other work keeps busy, a container still gets well over
    the 10 % target (one loop got 12 % of a CPU on a machine loaded by a 10-VM benchmark)."""
    for vm in ("vm1", "vm2", "vm3"):
        for container in app_containers(lab, vm):
            if not on:
                on_vm(lab, vm, f"docker exec {container} sh -c ': > /stop'")
                continue
            on_vm(lab, vm, f"docker exec {container} busybox rm -f /stop")
            for _ in range(loops):
                on_vm(lab, vm, f"docker exec -d {container} sh -c 'while [ ! -e /stop ]; do :; done'")


def scaled_to(output: str, service: str, current: int) -> int:
    """The count one `kob autoscale` moved ``service`` to from ``current``."""
    moved = re.search(rf"\b{service}: {current} → (\d+) ", output)
    assert moved, output
    return int(moved[1])


def test_2_cpu_load_scales_up_within_max_and_down_only_after_the_window(lab, inventory):
    """How far up depends on the CPU the busy loops got on this machine (more than 2, never beyond max 4);
    the outcome is asserted, not the numbers in the reason. The hold is seen with a window no machine
    outlasts; the window is then shortened and waited out, so the scale down is seen too."""
    with LoadLoop(URL, seconds=240, pause=0.05) as load:  # not too many: idle replicas must stay under 5 %
        burn(lab, on=True)
        ok("top", str(inventory))  # cron's previous pass, in life: the rate is then one of the load
        time.sleep(2)
        scaled = ok("autoscale", str(inventory))
        up = scaled_to(scaled, "app", 2)
        assert 2 < up <= 4
        assert app_status(inventory)["healthy"] == up, scaled
        burn(lab, on=False)
        ok("top", str(inventory))  # a sample after the load: the next rate is an idle one
        time.sleep(2)
        held = ok("autoscale", str(inventory))
        assert f"app: stays at {up} " in held and f"held by the {HOLD_WINDOW}s scale-down window" in held, held
        write(inventory, lab, window=SHORT_WINDOW)
        time.sleep(SHORT_WINDOW + 1)  # every high recommendation is now older than the window
        assert scaled_to(ok("autoscale", str(inventory)), "app", up) == 2
        time.sleep(0.5)
    assert load.failures == [] and load.ok > 20  # requests went on all along, and none failed
    assert app_status(inventory)["healthy"] == 2
    events = ok("events", str(inventory), "--kind", "autoscale")
    assert f"app: 2 → {up}" in events and f"app: stays at {up}" in events and f"app: {up} → 2" in events


def test_3_deploy_keeps_the_autoscaled_count(lab, inventory):
    ok("scale", str(inventory), "app=3")
    ok("deploy", str(inventory))
    assert app_status(inventory)["desired"] == 3
    refused = kob("scale", str(inventory), "app=9")
    assert refused.returncode == 1 and "app autoscales between 2 and 4" in refused.stderr


def test_4_a_killed_replica_is_brought_back(lab, inventory):
    before = app_status(inventory)
    victim = before["replicas"][0]
    on_vm(lab, victim["host"], f"docker kill $(docker ps -q --filter label=kob.service=app "
                               f"--filter label=kob.replica={victim['replica']})")
    assert app_status(inventory)["running"] == before["desired"] - 1
    healed = ok("reconcile", str(inventory))
    assert f"~ app replica {victim['replica']} on {victim['host']} (not running (exited, exit 137))" in healed
    after = app_status(inventory)
    assert after["running"] == after["healthy"] == before["desired"]
    assert "(not running (exited, exit 137))" in ok("events", str(inventory), "--kind", "heal")


def test_5_a_stopped_vm_loses_its_replicas_to_the_others_and_its_surplus_goes_when_back(lab, inventory):
    write(inventory, lab, replicas=3)
    ok("deploy", str(inventory))
    assert {r["host"] for r in app_status(inventory)["replicas"]} == {"vm1", "vm2", "vm3"}
    ok("reconcile", str(inventory))  # a pass records what each host runs: the rule below reads it (not order)
    lab.stop_vm("vm3")
    try:
        held = kob("deploy", str(inventory), "--check")  # deploy follows reconcile's rule (--check records nothing)
        assert held.returncode == 2 and "app: waiting: vm3 has not answered for 0 s" in held.stdout, held
        assert "+ app" not in held.stdout and "~ app" not in held.stdout, "nothing moves before vm3 is down"
        waiting = ok("reconcile", str(inventory))
        assert "app: waiting: vm3 has not answered for 0 s" in waiting, waiting
        time.sleep(3.5)
        moved = ok("reconcile", str(inventory))
        assert "vm3: no answer for 3 s or more; marked down" in moved, moved
        status = app_status(inventory, away=("vm3",))
        assert status["running"] == status["healthy"] == 3, (moved, status, ok("events", str(inventory)))
        assert {r["host"] for r in status["replicas"]} <= {"vm1", "vm2"}
        assert {fetch(URL).split("host=")[1].split()[0] for _ in range(30)} <= {"vm1", "vm2"}
        config = ok("exec", str(inventory), "--hosts", "vm1", "cat /etc/haproxy/kob-control-*.cfg")
        assert f"198.18.{NET}.13" not in config
    finally:
        lab.start_vm("vm3")
    assert len(app_containers(lab, "vm3")) == 1, "docker restarts an unless-stopped replica with its daemon"
    back = ok("reconcile", str(inventory))
    assert "vm3: answers again after" in back and "- app replica" in back and "on vm3 (duplicate of replica" in back
    assert app_containers(lab, "vm3") == []
    status = app_status(inventory)
    assert status["healthy"] == 3, (back, status, ok("events", str(inventory)))
    events = ok("events", str(inventory), "--kind", "host-down", "--kind", "host-up")
    assert "vm3: no answer" in events and "vm3: answers again" in events


def test_6_the_cron_daemon_runs_the_installed_entry(lab, inventory):
    victim = app_status(inventory)["replicas"][0]
    on_vm(lab, victim["host"], "docker kill $(docker ps -q --filter label=kob.service=app "
                               f"--filter label=kob.replica={victim['replica']})")
    installed = ok("cron", "install", str(inventory), "--every", "1m", "--no-autoscale")
    entry = Path(installed.split()[1].rstrip(":"))
    started_cron = None
    if "NOT running" in ok("cron", "status", str(inventory)):
        started_cron = subprocess.Popen(["cron", "-f"])
    try:
        deadline = time.monotonic() + 180  # cron starts jobs on the minute; the run itself may be slow
        while time.monotonic() < deadline and "ok: reconcile: 1 action" not in ok("cron", "status", str(inventory)):
            time.sleep(2)
        status = ok("cron", "status", str(inventory))
        assert "ok: reconcile: 1 action" in status, status
        assert f"runs:   * * * * * root flock -n /run/lock/{entry.name}.lock" in status
        app = app_status(inventory)
        assert app["healthy"] == 3, (status, app, ok("events", str(inventory)))
    finally:
        ok("cron", "remove", str(inventory))
        if started_cron:
            started_cron.terminate()
            started_cron.wait(10)
    assert not entry.exists()
