"""Inventories sharing hosts, and containers kob did not start: nobody touches what is not theirs (lab).

Inventories A and B are both called inventory.yaml, in folders of their own with stores of their
own, and both run a service ``api`` on every VM, behind HAProxies of their own on vm1. Beside them run
a container started by hand with plain ``docker run`` (publishing a port in kob's range) and a
container an earlier kob started (kob's labels, but no owner label).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.conftest import TEST_LAB_NET as NET
from tests.helpers.lab_services import LoadLoop, fetch, kob, on_vm

VMS = ("vm1", "vm2", "vm3")
SERVICES = """
services:
  api:
    image: kob-demo/web:{image}
    replicas: {replicas}
    port: 80
    healthcheck: {{http: /healthz, interval: 500ms, timeout: 3s, retries: 3, start_period: 5s}}
    update: {{parallelism: 2, order: start-first, monitor: 0s}}
  {extra}
lb:
  frontends:
    http: {{bind: {bind}, default: api}}
"""
EXTRA_WORKER = "worker: {image: kob-demo/web:1, replicas: 2, port: 80}"
HAND_MADE = "kob-test-handmade"
EARLIER = "kob-api-1-0ldk0b00"  # the name an earlier kob gave replica 1 of api


def write(path: Path, lab, *, bind: int, image: str = "1", replicas: int = 3, extra: str = "") -> None:
    base = re.sub(r"(?m)^state:.*$", f"state: {path.parent / 'state.db'}", lab.layout.inventory.read_text())
    path.write_text(base + SERVICES.format(image=image, replicas=replicas, bind=bind, extra=extra))


def ok(*args: str) -> str:
    done = kob(*args, timeout=240)
    assert done.returncode == 0, f"kob {' '.join(args)}:\n{done.stdout}{done.stderr}"
    return done.stdout


def containers(lab) -> dict[str, dict[str, tuple[str, str]]]:
    """Per VM: container name → (id, state) of every container."""
    seen = {}
    for vm in VMS:
        lines = on_vm(lab, vm, "docker ps -a --format '{{.Names}} {{.ID}} {{.State}}'").split()
        seen[vm] = {lines[i]: (lines[i + 1], lines[i + 2]) for i in range(0, len(lines), 3)}
    return seen


def not_of(owner_prefix: str, seen: dict) -> dict:
    """Everything not named as ``owner_prefix``'s containers are (kob-<owner>-...)."""
    return {vm: {name: v for name, v in found.items() if not name.startswith(owner_prefix)} for vm, found in seen.items()}


@pytest.fixture(scope="module")
def shared(lab, tmp_path_factory):
    root = tmp_path_factory.mktemp("ownership")
    a, b = root / "a" / "inventory.yaml", root / "b" / "inventory.yaml"
    a.parent.mkdir()
    b.parent.mkdir()
    write(a, lab, bind=8090, extra=EXTRA_WORKER)
    write(b, lab, bind=8091)
    on_vm(lab, "vm2", f"docker rm -f {HAND_MADE} >/dev/null 2>&1; "
                      f"docker run -d --name {HAND_MADE} -p 20000:80 kob-demo/web:1 >/dev/null")
    on_vm(lab, "vm3", f"docker rm -f {EARLIER} >/dev/null 2>&1; docker run -d --name {EARLIER} "
                      "--label kob.service=api --label kob.replica=1 --label kob.revision=1 "
                      "--label kob.spec=0ldk0b0000 --label kob.port=20001 -p 20001:80 kob-demo/web:1 >/dev/null")
    try:
        yield a, b
    finally:
        for path in (a, b):
            kob("down", str(path), "--wait", "30")
        for vm, name in (("vm2", HAND_MADE), ("vm3", EARLIER)):
            on_vm(lab, vm, f"docker rm -f {name} >/dev/null 2>&1 || true")


def owners(lab) -> set[str]:
    return set(on_vm(lab, "vm2", "docker ps --format '{{.Label \"kob.inventory\"}}'").split())


def test_1_two_inventories_of_one_name_each_run_their_own_api_beside_what_they_did_not_start(lab, shared):
    a, b = shared
    out = ok("deploy", str(a), "--wait", "30")
    assert EARLIER in out and "left alone" in out, out  # the earlier kob's container is named, not touched
    ok("deploy", str(b), "--wait", "30")
    assert len(owners(lab)) == 2, "two owner labels on vm2: A's and B's"
    seen = containers(lab)
    assert seen["vm2"][HAND_MADE][1] == seen["vm3"][EARLIER][1] == "running"
    for port in (8090, 8091):
        assert "service=api" in fetch(f"http://198.18.{NET}.11:{port}/")


@pytest.mark.parametrize("step", [
    ("scale", "api=5"), ("scale", "worker=1"), ("deploy",), ("reconcile",), ("rollback", "api"), ("down",),
    ("deploy",),
])
def test_2_what_a_does_leaves_b_and_the_rest_running_and_unchanged(lab, shared, step):
    a, b = shared
    if step == ("rollback", "api"):
        write(a, lab, bind=8090, image="2", replicas=5, extra=EXTRA_WORKER)
        ok("deploy", str(a), "--wait", "30")
    before = containers(lab)
    a_owner = owner_prefix(a)
    with LoadLoop(f"http://198.18.{NET}.11:8091/", limit=2000, seconds=200, pause=0.02) as b_load:
        ok(step[0], str(a), *step[1:], "--wait", "30")
    assert b_load.failures == [] and b_load.ok > 0, (step, b_load.failures[:3])
    after = containers(lab)
    assert not_of(a_owner, after) == not_of(a_owner, before), step
    assert "service=api" in fetch(f"http://198.18.{NET}.11:8091/"), "B's frontend still answers"
    if step == ("down",):
        assert not any(name.startswith(a_owner) for found in after.values() for name in found)


def test_3_and_the_reverse_what_b_does_leaves_a_alone(lab, shared):
    a, b = shared
    before = containers(lab)
    b_prefix = owner_prefix(b)
    ok("scale", str(b), "api=1", "--wait", "30")
    ok("reconcile", str(b))
    after = containers(lab)
    assert {n for found in after.values() for n in found if n.startswith(b_prefix)} != set()
    strip = lambda seen: not_of(b_prefix, seen)  # noqa: E731
    assert strip(after) == strip(before)
    assert "service=api" in fetch(f"http://198.18.{NET}.11:8090/"), "A's frontend still answers"


def test_4_a_frontend_port_another_inventory_holds_is_refused_naming_it(lab, shared, tmp_path):
    a, b = shared
    c = tmp_path / "c.yaml"
    write(c, lab, bind=8091, replicas=1)
    before = containers(lab)
    done = kob("deploy", str(c), "--wait", "30")
    assert done.returncode == 1, done.stdout + done.stderr
    error = done.stderr.strip().splitlines()[-1]
    assert "port 8091" in error and "load balancer of inventory inventory-" in error, error
    assert containers(lab) == before, "nothing was started"


def test_5_kob_adopt_replaces_an_earlier_kobs_replicas(lab, tmp_path):
    d = tmp_path / "old.yaml"
    base = re.sub(r"(?m)^state:.*$", f"state: {tmp_path / 'state.db'}", lab.layout.inventory.read_text())
    d.write_text(base + "services:\n  legacy: {image: kob-demo/web:1, replicas: 1, port: 80}\n")
    earlier = "kob-legacy-1-0ld0ld00"
    on_vm(lab, "vm2", f"docker run -d --name {earlier} --label kob.service=legacy --label kob.replica=1 "
                      "--label kob.revision=1 --label kob.spec=0ld0ld0000 --label kob.port=20040 -p 20040:80 "
                      "kob-demo/web:1 >/dev/null")
    try:
        plan = ok("deploy", str(d), "--check")
        assert earlier in plan and "kob adopt" in plan, plan
        assert containers(lab)["vm2"][earlier][1] == "running"
        ok("adopt", str(d), "--wait", "30")
        after = containers(lab)
        assert earlier not in after["vm2"], "adopted and replaced"
        assert len([n for found in after.values() for n in found if "-legacy-1-" in n]) == 1
    finally:
        kob("down", str(d), "--wait", "30")
        on_vm(lab, "vm2", f"docker rm -f {earlier} >/dev/null 2>&1 || true")


def owner_prefix(path: Path) -> str:
    """kob-<owner>-: how the names of the inventory's containers start (its owner label is in its store)."""
    import asyncio

    from kob.identity import owner
    from kob.spec.inventory import load_inventory
    from kob.store import open_store

    async def read() -> str:
        inventory = load_inventory(path)
        async with open_store(inventory.state_url) as store:
            return await owner(store, inventory)

    return f"kob-{asyncio.run(read())}-"


def test_6_one_inventorys_job_passes_leave_the_others_job_containers_alone(lab, shared):
    a, b = shared
    ok("deploy", str(a), "--wait", "30")
    ok("job", "submit", str(b), "--image", "kob-demo/web:1", "--name", "b-sleeper", "--", "sleep", "120")
    ok("job", "dispatch", str(b))
    b_jobs = {vm: [n for n in found if n.startswith("kob-job-")] for vm, found in containers(lab).items()}
    assert sum(map(len, b_jobs.values())) == 1, b_jobs
    ok("job", "submit", str(a), "--image", "kob-demo/web:1", "--name", "a-quick", "--", "true")
    for _ in range(3):  # start, follow to its end, collect: every pass observes and tidies A's job containers
        ok("job", "dispatch", str(a))
    after = containers(lab)
    for vm, names in b_jobs.items():
        for name in names:
            assert after[vm][name][1] == "running", f"B's job {name} on {vm}"
    ok("job", "cancel", str(b), "1")


LEGACY_HAPROXY = """\
mkdir -p /run/haproxy
cat > /etc/haproxy/haproxy.cfg <<'CFG'
# kob-structure: from-an-earlier-kob
global
    master-worker
    stats socket /run/haproxy/admin.sock mode 600 level admin expose-fd listeners
defaults
    mode http
    timeout connect 3s
    timeout client 30s
    timeout server 30s
frontend old
    bind :8095
    default_backend old
backend old
    server kob-olb-1-0ld0ld00 {address}:20041 check inter 1s
CFG
haproxy -D -W -f /etc/haproxy/haproxy.cfg -p /run/haproxy.pid
"""


def test_7_kob_adopt_takes_over_an_earlier_kobs_haproxy_without_a_failed_request(lab, tmp_path):
    d = tmp_path / "olb.yaml"
    base = re.sub(r"(?m)^state:.*$", f"state: {tmp_path / 'state.db'}", lab.layout.inventory.read_text())
    d.write_text(base + "services:\n  olb:\n    image: kob-demo/web:1\n    replicas: 2\n    port: 80\n"
                        "    healthcheck: {http: /healthz, interval: 500ms, timeout: 3s, retries: 3, start_period: 5s}\n"
                        "lb:\n  frontends:\n    http: {bind: 8095, default: olb}\n")
    earlier = "kob-olb-1-0ld0ld00"
    on_vm(lab, "vm2", f"docker run -d --name {earlier} --label kob.service=olb --label kob.replica=1 "
                      "--label kob.revision=1 --label kob.spec=0ld0ld0000 --label kob.port=20041 -p 20041:80 "
                      "kob-demo/web:1 >/dev/null")
    ok("exec", str(d), "--hosts", "vm1", LEGACY_HAPROXY.format(address=f"198.18.{NET}.12"))
    url = f"http://198.18.{NET}.11:8095/"
    try:
        assert "service=" in fetch(url), "the earlier kob's HAProxy serves"
        refused = kob("deploy", str(d), "--wait", "30")
        assert refused.returncode == 1 and "load balancer of an earlier kob" in refused.stderr, refused
        with LoadLoop(url, limit=3000, seconds=200, pause=0.02) as load:
            ok("adopt", str(d), "--wait", "30")
        assert load.failures == [] and load.ok > 0, load.failures[:3]
        left = ok("exec", str(d), "--hosts", "vm1",
                  "ls /etc/haproxy; test -e /run/haproxy.pid && echo pidfile || echo no-pidfile")
        assert "haproxy.cfg" not in left and "no-pidfile" in left and "kob-olb-" in left, left
        assert earlier not in containers(lab)["vm2"]
        assert "service=olb" in fetch(url)
    finally:
        kob("down", str(d), "--wait", "30")
        ok("exec", str(d), "--hosts", "vm1",
           "pid=$(cat /run/haproxy.pid 2>/dev/null) && kill $pid; rm -f /run/haproxy.pid /etc/haproxy/haproxy.cfg; true")
        on_vm(lab, "vm2", f"docker rm -f {earlier} >/dev/null 2>&1 || true")
