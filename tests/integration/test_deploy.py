"""`kob deploy` on the lab: real sshd, Docker Engine, HAProxy and etcd (the Must-show list of the deploy issue)."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import pytest

from tests.conftest import TEST_LAB_NET as NET
from tests.helpers.lab_services import LoadLoop, fetch, kob, on_vm, rolling_service

SERVICES = "\n" + rolling_service(8080)
URL = f"http://198.18.{NET}.11:8080/"


@pytest.fixture(scope="module")
def inventory(lab, tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("deploy") / "inventory.yaml"
    base = lab.layout.inventory.read_text()
    path.write_text(base + SERVICES.format(image="1", replicas=4))
    yield path
    path.write_text(base + SERVICES.format(image="1", replicas=0))
    kob("deploy", str(path), "--wait", "30")
    kob("down", str(path), "--wait", "30")


def set_spec(path: Path, lab, image: str = "1", replicas: int = 4, extra: str = "", services: str = SERVICES) -> None:
    """The lab's inventory with web (and ``extra`` services) behind HAProxy."""
    text = services.format(image=image, replicas=replicas).replace("\nlb:\n", f"\n{extra}lb:\n")
    path.write_text(lab.layout.inventory.read_text() + text)


def deploy_ok(path: Path, *extra: str) -> subprocess.CompletedProcess:
    done = kob("deploy", str(path), "--wait", "30", *extra)
    assert done.returncode == 0, done.stdout + done.stderr
    return done


def test_1_four_replicas_on_three_vms_all_reached_through_haproxy(lab, inventory):
    deploy_ok(inventory)
    replicas = Counter(fetch(URL).split("replica=")[1].split()[0] for _ in range(40))
    assert sorted(replicas) == ["1", "2", "3", "4"]


def test_2_unchanged_redeploy_changes_nothing_with_one_ssh_command_per_host(inventory):
    done = kob("-v", "deploy", str(inventory))
    assert done.returncode == 0, done.stderr
    assert "No changes" in done.stdout
    assert done.stdout.strip().splitlines()[-1] == "ssh commands: 3 (vm1 1, vm2 1, vm3 1)"


def test_3_image_change_under_load_loses_no_request(lab, inventory):
    set_spec(inventory, lab, image="2")
    with LoadLoop(URL) as load:
        deploy_ok(inventory)
        time.sleep(0.5)
    assert load.failures == [] and load.ok > 50
    assert {fetch(URL).split()[1] for _ in range(20)} == {"2"}


def test_4_a_failing_health_check_stops_and_rolls_back(lab, inventory):
    set_spec(inventory, lab, image="broken")
    with LoadLoop(URL) as load:
        done = kob("deploy", str(inventory), "--wait", "30")
    assert done.returncode == 1
    assert "is unhealthy; rolled back to revision" in done.stderr
    assert load.failures == []
    status = kob("status", str(inventory), "--json")
    assert '"image": "kob-demo/web:2"' in status.stdout and '"healthy": 4' in status.stdout
    assert {fetch(URL).split()[1] for _ in range(12)} == {"2"}


def test_4b_failure_action_pause_keeps_the_failed_replica_stopped_until_the_next_deploy(lab, inventory):
    services = SERVICES.replace("failure_action: rollback", "failure_action: pause")
    set_spec(inventory, lab, image="broken", services=services)
    with LoadLoop(URL) as load:
        done = kob("deploy", str(inventory), "--wait", "30")
    assert done.returncode == 1 and "paused: kept stopped for inspection" in done.stderr, done.stderr
    assert load.failures == []
    kept = re.search(r"\(docker logs\): (kob-\S+) on (vm\d)", done.stderr)
    assert kept, done.stderr
    name, vm = kept.groups()
    assert on_vm(lab, vm, f"docker inspect --format '{{{{.State.Status}}}}' {name}").strip() == "exited"
    assert {fetch(URL).split()[1] for _ in range(12)} == {"2"}, "the old replicas serve, the paused one does not"
    set_spec(inventory, lab, image="2", services=services)
    deploy_ok(inventory)
    assert name not in on_vm(lab, vm, "docker ps -a --format '{{.Names}}'").split(), "the next deploy removed it"


def test_5_rollback_and_scaling_lose_no_request(lab, inventory):
    set_spec(inventory, lab, image="2")
    with LoadLoop(URL) as load:
        assert kob("rollback", str(inventory), "web", "--to", "1").returncode == 0
        assert kob("scale", str(inventory), "web=6").returncode == 0
        assert kob("scale", str(inventory), "web=2").returncode == 0
        time.sleep(0.5)
    assert load.failures == []
    assert {fetch(URL).split()[1] for _ in range(10)} == {"1"}
    assert sorted({fetch(URL).split("replica=")[1].split()[0] for _ in range(20)}) == ["1", "2"]


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


def build_variant(lab, vm: str, ref: str) -> str:
    """A new image ID (web:1 plus a label) that only ``vm`` has; its ID."""
    on_vm(lab, vm, f"printf 'FROM kob-demo/web:1\\nLABEL variant={ref}\\n' | docker build -q -t {ref} -")
    return on_vm(lab, vm, f"docker image inspect --format '{{{{.Id}}}}' {ref}").strip()


SIDE = """  side:
    image: {image}
    replicas: 2
    port: 80
    placement: {{hosts: "vm2,vm3", max_per_host: 1}}
"""


def test_7_an_image_only_one_host_has_is_relayed_to_the_others(lab, inventory):
    image_id = build_variant(lab, "vm1", "kob-demo/relayed:1")
    set_spec(inventory, lab, replicas=3, extra=SIDE.format(image="kob-demo/relayed:1"))
    done = deploy_ok(inventory)
    assert "image kob-demo/relayed:1: vm1 → vm2: " in done.stdout and "vm1 → vm3: " in done.stdout
    for vm in ("vm2", "vm3"):
        assert on_vm(lab, vm, "docker image inspect --format '{{.Id}}' kob-demo/relayed:1").strip() == image_id
    assert "images " in done.stdout.split("RECAP")[1]  # bytes per host in the recap


def test_8_the_managers_docker_is_the_source_and_a_known_id_is_only_tagged(lab, inventory):
    manager = {"DOCKER_HOST": f"unix://{lab.layout.vm(1).docker_socket}"}  # the machine's "own" Docker
    build_variant(lab, "vm1", "kob-demo/built:1")
    on_vm(lab, "vm3", "docker tag kob-demo/relayed:1 kob-demo/built:1")  # same name, stale ID on vm3
    set_spec(inventory, lab, replicas=3, extra=SIDE.format(image="kob-demo/built:1"))
    done = kob("deploy", str(inventory), "--wait", "30", env=manager)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "image kob-demo/built:1: manager → vm2: " in done.stdout
    assert "image kob-demo/built:1: manager → vm3: " in done.stdout  # by ID: vm3's stale tag is replaced
    on_vm(lab, "vm1", "docker tag kob-demo/built:1 kob-demo/retagged:1")  # a new name for an ID vm2, vm3 have
    set_spec(inventory, lab, replicas=3, extra=SIDE.format(image="kob-demo/retagged:1"))
    done = kob("deploy", str(inventory), "--wait", "30", env=manager)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "image kob-demo/retagged:1: tagged on vm2" in done.stdout and "tagged on vm3" in done.stdout
    assert "manager →" not in done.stdout  # nothing streamed


def test_9_logs_merge_every_replica_prefixed_with_replica_and_host(inventory):
    [fetch(URL) for _ in range(6)]
    done = kob("logs", str(inventory), "web")
    assert done.returncode == 0, done.stderr
    prefixes = {line.split(" | ")[0].strip() for line in done.stdout.splitlines()}
    web = json.loads(kob("status", str(inventory), "--json").stdout)["services"][0]
    assert prefixes == {f"web.{r['replica']}@{r['host']}" for r in web["replicas"]}
    assert sum("listening on 80" in line for line in done.stdout.splitlines()) == len(prefixes)
    tail = kob("logs", str(inventory), "web", "--tail", "1", "--timestamps").stdout.splitlines()
    assert len(tail) == len(prefixes) and all(line.split(" | ")[1][:2] == "20" for line in tail)


def test_9b_logs_follow_picks_up_replicas_that_start_after_it_began(inventory):
    web = json.loads(kob("status", str(inventory), "--json").stdout)["services"][0]
    count = web["desired"]
    follow = subprocess.Popen([sys.executable, "-m", "kob", "logs", str(inventory), "web", "-f"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(iter(follow.stdout.readline, "")), daemon=True)
    reader.start()
    try:
        assert _eventually(lambda: sum("listening on 80" in line for line in lines) >= count), lines
        assert kob("scale", str(inventory), f"web={count + 1}", "--wait", "30").returncode == 0
        new = f"web.{count + 1}@"
        assert _eventually(lambda: any(line.startswith(new) and "listening on 80" in line for line in lines)), lines
    finally:
        follow.send_signal(signal.SIGINT)
        follow.wait(timeout=30)
        kob("scale", str(inventory), f"web={count}", "--wait", "30")


def _eventually(condition, seconds: float = 90) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.2)
    return condition()


LITERAL_ENV = "a'; touch /tmp/pwned-env; echo '\n$(touch /tmp/pwned-sub) `touch /tmp/pwned-bt` \"q\" *"
LITERAL = """  literal:
    image: kob-demo/web:1
    replicas: 1
    env: {X: %s}
    command: [sh, -c, 'printf "%%s" "$X" >/tmp/x; exec /bin/kob-demo', '; touch /tmp/pwned-arg']
""" % json.dumps(LITERAL_ENV)


def test_10_metacharacters_in_env_and_command_are_passed_literally(lab, inventory):
    set_spec(inventory, lab, replicas=3, extra=LITERAL)
    deploy_ok(inventory)
    services = json.loads(kob("status", str(inventory), "--json").stdout)["services"]
    (replica,) = next(s["replicas"] for s in services if s["service"] == "literal")
    host = replica["host"]
    inside = on_vm(lab, host, "docker exec $(docker ps -q --filter label=kob.service=literal) cat /tmp/x")
    assert inside == LITERAL_ENV
    assert "pwned" not in on_vm(lab, host, "docker exec $(docker ps -q --filter label=kob.service=literal) ls /tmp")
    hosts = [json.loads(line) for line in kob("exec", str(inventory), "--json", "ls /tmp").stdout.splitlines()]
    assert len(hosts) == 3 and all(h["rc"] == 0 and "pwned" not in h["stdout"] for h in hosts)
    set_spec(inventory, lab, replicas=3)
    deploy_ok(inventory)


CLASHING_LB = SERVICES.replace("http: {{bind: 8080, default: web}}",
                               "http: {{bind: 8080, default: web}}\n    ssh: {{bind: 22, default: web}}")
REFUSED = {
    "an image that exists nowhere": (SERVICES, SIDE.format(image="kob-demo/nowhere:1"),
                                     "error: image kob-demo/nowhere:1 (side) is neither on the manager nor on any "
                                     "reachable host; build or `docker load` it on the manager or on one host"),
    "a constraint on an unknown label value": (SERVICES, SIDE.replace("max_per_host: 1", "constraints: [role==db]")
                                               .format(image="kob-demo/web:1"), "constraints[0]: no host has role=db"),
    "a frontend port another program holds": (CLASHING_LB, "",
                                              "error: vm1: port 22 of frontend ssh is taken by sshd; free it or bind "
                                              "the frontend to another port"),
}


@pytest.mark.parametrize("case", sorted(REFUSED))
def test_11_refused_before_touching_any_host(lab, inventory, case):
    services, extra, message = REFUSED[case]
    set_spec(inventory, lab, replicas=3, extra=extra, services=services)
    before = kob("status", str(inventory), "--json").stdout
    done = kob("deploy", str(inventory))
    assert done.returncode == 1 and len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert message in done.stderr and "Traceback" not in done.stderr
    assert kob("status", str(inventory), "--json").stdout == before
    set_spec(inventory, lab, replicas=3)
