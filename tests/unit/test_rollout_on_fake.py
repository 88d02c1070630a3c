"""Rollout over the scripted fake: what docker answers → which commands and balancer calls follow, in order.

A recording balancer writes its calls into the fake's list of what was sent (as host "lb"), so one list
shows the order of everything; the last tests use the real HaproxyBalancer, whose runtime API lines go to vm1.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from dataclasses import replace
from pathlib import Path

import pytest

from kob.commands.haproxy import add_server_commands, delete_server_commands, drain_command, show_stat_command
from kob.deploy import rollout
from kob.deploy.haproxy_balancer import HaproxyBalancer
from kob.deploy.observe import ClusterObservation
from kob.deploy.rollout import Balancer, Rollout, RolloutFailed
from kob.errors import CommandFailed, HostUnreachable, StoreError
from kob.facts.containers import ContainerFact, HostObservation
from kob.facts.haproxy import ADDED, DELETED
from kob.plan.actions import Create, Remove, Replace, Start
from kob.plan.diff import DesiredService
from kob.spec.inventory import Host, Inventory, load_inventory
from kob.spec.service_model import HealthCheck, Service, UpdatePolicy
from tests.helpers.fake_transport import Reply, ScriptedTransport, Sent

REAL_SLEEP = asyncio.sleep
SPEC = "abcdef0123456789"  # the new containers are named kob-<service>-<replica>-abcdef01
INVENTORY = Inventory(Path("shop.yaml"), (Host("vm1", "198.18.0.11"), Host("vm2", "198.18.0.12")))
WEB = Service("web", "kob-demo/web:2", port=80, update=UpdatePolicy(monitor=0),
              healthcheck=HealthCheck(http_path="/healthz", interval=1, timeout=1, retries=2))
STOP_FIRST = replace(WEB, update=UpdatePolicy(order="stop-first", monitor=0))
TWO_AT_ONCE = replace(WEB, update=UpdatePolicy(parallelism=2, monitor=0))
WORKER = Service("worker", "kob-demo/worker:1")  # no port, no health check: watched for update.monitor (5 s)


def old(replica: int, cid: str, port: int = 20000, state: str = "running", health: str | None = "healthy",
        service: str = "web") -> ContainerFact:
    return ContainerFact(id=cid, name=f"kob-shop-{service}-{replica}-00000000", service=service, replica=replica,
                         revision=1, spec_hash="0000000000", host_port=port, state=state, health=health,
                         image_id="sha256:1", image="kob-demo/web:1", started_at="2026-01-01T00:00:00Z", restarts=0,
                         exit_code=0 if state == "running" else 1)


def create(replica: int, host: str, port: int | None = 20000, service: str = "web") -> Create:
    return Create(Start(service, replica, host, port))


def swap(replica: int, host: str, cid: str, port: int = 20001, **fact) -> Replace:
    """Replace ``cid`` (kob-shop-web-<replica>-00000000 on port 20000) by a new replica on ``port`` of the same host."""
    return Replace(old(replica, cid, **fact), host, Start("web", replica, host, port), "spec changed")


def run(host: str, *ids: str) -> tuple[str, str, Reply | list]:
    """docker run on ``host`` answers these container IDs, one per run."""
    return host, "docker run", [Reply(stdout=f"{cid}\n") for cid in ids]


def health(host: str, *outputs: str) -> tuple[str, str, list]:
    """docker inspect (health) on ``host`` answers these outputs in turn ("ID STATE HEALTH" lines)."""
    return host, "docker inspect", [Reply(stdout=text + "\n") for text in outputs]


class RecordingBalancer(Balancer):
    """Writes each call into the fake's record as a command sent to host "lb"."""

    def __init__(self, fake: ScriptedTransport):
        self.fake = fake

    async def add(self, service, replicas) -> None:
        names = " ".join(f"{service}/{name}@{host}:{port}" for host, name, port in replicas)
        self.fake.sent.append(Sent("lb", f"add {names}", ()))

    async def remove(self, service, host, name, port) -> None:
        self.fake.sent.append(Sent("lb", f"remove {service}/{name}@{host}:{port}", ()))


def timeline(fake: ScriptedTransport) -> list[str]:
    """What was sent, shortened: run NAME, health IDS, remove IDS -t STOP_TIMEOUT, lb calls, runtime API lines."""
    def short(sent: Sent) -> str:
        argv = sent.argv
        if sent.host == "lb":
            return f"lb: {sent.command}"
        if argv[:2] == ("docker", "run"):
            return f"{sent.host}: run {argv[argv.index('--name') + 1]}"
        if argv[:2] == ("docker", "inspect"):
            return f"{sent.host}: health {' '.join(argv[4:])}"
        if argv[0] == "sh" and "docker stop" in argv[2]:
            return f"{sent.host}: remove {' '.join(argv[4:])} -t {argv[3]}"
        if argv[0] == "socat":
            return f"{sent.host}: {sent.input.decode().strip()}"
        return f"{sent.host}: {sent.command}"

    return [short(s) for s in fake.sent]


class Clock:
    """A monotonic clock that only sleeping moves; the sleeps are kept."""

    def __init__(self):
        self.now, self.sleeps = 1000.0, []

    def monotonic(self) -> float:
        return self.now

    async def sleep(self, seconds, result=None):
        self.sleeps.append(seconds)
        self.now += seconds
        return await REAL_SLEEP(0, result)


@pytest.fixture
def clock(monkeypatch) -> Clock:
    clock = Clock()
    monkeypatch.setattr(rollout, "time", clock)
    monkeypatch.setattr(asyncio, "sleep", clock.sleep)
    return clock


async def roll(fake, service: Service, actions: list, balancer=None, inventory=INVENTORY) -> Rollout:
    said: list[str] = []
    doing = Rollout(fake, inventory, balancer or RecordingBalancer(fake), said.append)
    await doing.run_service(DesiredService(service, 3, 2, SPEC, ("vm1", "vm2"), owner="shop"), actions)
    return doing


@pytest.mark.parametrize("name, service, actions, script, expected, outcome, sleeps", [
    ("create: started, healthy at once, then into the lb",
     WEB, [create(1, "vm2")], [run("vm2", "new1"), health("vm2", "new1 running healthy")],
     ["vm2: run kob-shop-web-1-abcdef01", "vm2: health new1", "lb: add web/kob-shop-web-1-abcdef01@vm2:20000"],
     {"created": 1}, []),
    ("create: health polled while it starts",
     WEB, [create(1, "vm2")],
     [run("vm2", "new1"), health("vm2", "new1 running starting", "new1 running starting", "new1 running healthy")],
     ["vm2: run kob-shop-web-1-abcdef01", "vm2: health new1", "vm2: health new1", "vm2: health new1",
      "lb: add web/kob-shop-web-1-abcdef01@vm2:20000"],
     {"created": 1}, [0.5, 0.5]),
    ("creates start together, one health command per host, one lb call",
     WEB, [create(1, "vm1"), create(2, "vm2"), create(3, "vm2", 20001)],
     [run("vm1", "new1"), run("vm2", "new2", "new3"), health("vm1", "new1 running healthy"),
      health("vm2", "new2 running healthy\nnew3 running healthy")],
     ["vm1: run kob-shop-web-1-abcdef01", "vm2: run kob-shop-web-2-abcdef01", "vm2: run kob-shop-web-3-abcdef01",
      "vm1: health new1", "vm2: health new2 new3",
      "lb: add web/kob-shop-web-1-abcdef01@vm1:20000 web/kob-shop-web-2-abcdef01@vm2:20000 web/kob-shop-web-3-abcdef01@vm2:20001"],
     {"created": 3}, []),
    ("replace start-first: the new one healthy and in the lb before the old is drained and removed",
     WEB, [swap(1, "vm1", "old1")], [run("vm1", "new1"), health("vm1", "new1 running healthy")],
     ["vm1: run kob-shop-web-1-abcdef01", "vm1: health new1", "lb: add web/kob-shop-web-1-abcdef01@vm1:20001",
      "lb: remove web/kob-shop-web-1-00000000@vm1:20000", "vm1: remove old1 -t 10"],
     {"replaced": 1}, []),
    ("replace stop-first: the old is drained and removed before the new starts",
     STOP_FIRST, [swap(1, "vm1", "old1")], [run("vm1", "new1"), health("vm1", "new1 running healthy")],
     ["lb: remove web/kob-shop-web-1-00000000@vm1:20000", "vm1: remove old1 -t 10", "vm1: run kob-shop-web-1-abcdef01",
      "vm1: health new1", "lb: add web/kob-shop-web-1-abcdef01@vm1:20001"],
     {"replaced": 1}, []),
    ("replace of a dead replica: it goes first, even start-first",
     WEB, [swap(1, "vm1", "old1", state="exited", health=None)],
     [run("vm1", "new1"), health("vm1", "new1 running healthy")],
     ["lb: remove web/kob-shop-web-1-00000000@vm1:20000", "vm1: remove old1 -t 10", "vm1: run kob-shop-web-1-abcdef01",
      "vm1: health new1", "lb: add web/kob-shop-web-1-abcdef01@vm1:20001"],
     {"replaced": 1}, []),
    ("parallelism 2: replaces go two by two",
     TWO_AT_ONCE, [swap(1, "vm1", "old1"), swap(2, "vm2", "old2"), swap(3, "vm1", "old3", port=20002)],
     [run("vm1", "new1", "new3"), run("vm2", "new2"), health("vm1", "new1 running healthy", "new3 running healthy"),
      health("vm2", "new2 running healthy")],
     ["vm1: run kob-shop-web-1-abcdef01", "vm2: run kob-shop-web-2-abcdef01", "vm1: health new1", "vm2: health new2",
      "lb: add web/kob-shop-web-1-abcdef01@vm1:20001 web/kob-shop-web-2-abcdef01@vm2:20001",
      "lb: remove web/kob-shop-web-1-00000000@vm1:20000", "vm1: remove old1 -t 10",
      "lb: remove web/kob-shop-web-2-00000000@vm2:20000", "vm2: remove old2 -t 10",
      "vm1: run kob-shop-web-3-abcdef01", "vm1: health new3", "lb: add web/kob-shop-web-3-abcdef01@vm1:20002",
      "lb: remove web/kob-shop-web-3-00000000@vm1:20000", "vm1: remove old3 -t 10"],
     {"replaced": 3}, []),
    ("remove: out of the lb, then stopped",
     WEB, [Remove(old(2, "old2"), "vm2", "scale to 1")], [],
     ["lb: remove web/kob-shop-web-2-00000000@vm2:20000", "vm2: remove old2 -t 10"],
     {"removed": 1}, []),
    ("creates, then replaces, then removes, whatever the order given",
     WEB, [Remove(old(3, "old3"), "vm2", "scale to 2"), swap(1, "vm1", "old1"), create(2, "vm2")],
     [run("vm2", "new2"), run("vm1", "new1"), health("vm2", "new2 running healthy"),
      health("vm1", "new1 running healthy")],
     ["vm2: run kob-shop-web-2-abcdef01", "vm2: health new2", "lb: add web/kob-shop-web-2-abcdef01@vm2:20000",
      "vm1: run kob-shop-web-1-abcdef01", "vm1: health new1", "lb: add web/kob-shop-web-1-abcdef01@vm1:20001",
      "lb: remove web/kob-shop-web-1-00000000@vm1:20000", "vm1: remove old1 -t 10",
      "lb: remove web/kob-shop-web-3-00000000@vm2:20000", "vm2: remove old3 -t 10"],
     {"created": 1, "replaced": 1, "removed": 1}, []),
    ("a killed deploy's half-started replica (starting, the new spec's name) goes before its name is needed",
     WEB, [swap(1, "vm1", "old1"),
           Remove(replace(old(1, "left", port=20001, health="starting"), name="kob-shop-web-1-abcdef01",
                          spec_hash=SPEC), "vm1", "duplicate of replica 1")],
     [run("vm1", "new1"), health("vm1", "new1 running healthy")],
     ["lb: remove web/kob-shop-web-1-abcdef01@vm1:20001", "vm1: remove left -t 10", "vm1: run kob-shop-web-1-abcdef01",
      "vm1: health new1", "lb: add web/kob-shop-web-1-abcdef01@vm1:20001",
      "lb: remove web/kob-shop-web-1-00000000@vm1:20000", "vm1: remove old1 -t 10"],
     {"replaced": 1, "removed": 1}, []),
    ("no health check: running, watched for the monitor time (at most 2 s), still running",
     WORKER, [create(1, "vm2", None, "worker")],
     [run("vm2", "new1"), health("vm2", "new1 running none", "new1 running none")],
     ["vm2: run kob-shop-worker-1-abcdef01", "vm2: health new1", "vm2: health new1",
      "lb: add worker/kob-shop-worker-1-abcdef01@vm2:None"],
     {"created": 1}, [2]),
])
async def test_a_rollout_that_succeeds(clock, name, service, actions, script, expected, outcome, sleeps):
    fake = ScriptedTransport(script)
    doing = await roll(fake, service, actions)
    assert timeline(fake) == expected, name
    assert doing.outcome == {service.name: Counter(outcome)}
    assert clock.sleeps == sleeps
    counted = Counter(line.split(":")[0] for line in expected if not line.startswith("lb:")
                      and (" run " in line or " remove " in line))
    assert doing.changed == dict(counted), "each container started or removed counts on its host"


@pytest.mark.parametrize("name, service, actions, script, expected, error, message", [
    ("unhealthy: the new one is removed, the lb never hears of it",
     WEB, [create(1, "vm2")], [run("vm2", "new1"), health("vm2", "new1 running unhealthy")],
     ["vm2: run kob-shop-web-1-abcdef01", "vm2: health new1", "vm2: remove new1 -t 2"],
     RolloutFailed, "web: new replica kob-shop-web-1-abcdef01 on vm2 is unhealthy"),
    ("exited while starting",
     WEB, [create(1, "vm2")], [run("vm2", "new1"), health("vm2", "new1 exited none")],
     ["vm2: run kob-shop-web-1-abcdef01", "vm2: health new1", "vm2: remove new1 -t 2"],
     RolloutFailed, "web: new replica kob-shop-web-1-abcdef01 on vm2 is exited"),
    ("gone: docker knows no such container",
     WEB, [create(1, "vm2")], [run("vm2", "new1"), health("vm2", "")],
     ["vm2: run kob-shop-web-1-abcdef01", "vm2: health new1", "vm2: remove new1 -t 2"],
     RolloutFailed, "web: new replica kob-shop-web-1-abcdef01 on vm2 is gone"),
    ("never healthy: polled until the budget (1 + 1) * (2 + 1) + 5 = 11 s is spent, then removed",
     WEB, [create(1, "vm2")], [run("vm2", "new1"), health("vm2", "new1 running starting")],
     ["vm2: run kob-shop-web-1-abcdef01", *["vm2: health new1"] * 24, "vm2: remove new1 -t 2"],
     RolloutFailed, "web: new replica kob-shop-web-1-abcdef01 on vm2 is starting after 11 s"),
    ("a failed replace leaves the old one serving: not drained, not removed",
     WEB, [swap(1, "vm1", "old1")], [run("vm1", "new1"), health("vm1", "new1 running unhealthy")],
     ["vm1: run kob-shop-web-1-abcdef01", "vm1: health new1", "vm1: remove new1 -t 2"],
     RolloutFailed, "web: new replica kob-shop-web-1-abcdef01 on vm1 is unhealthy"),
    ("one bad replica of a batch: every new one of the batch is removed",
     WEB, [create(1, "vm1"), create(2, "vm2")],
     [run("vm1", "new1"), run("vm2", "new2"), health("vm1", "new1 running healthy"),
      health("vm2", "new2 running unhealthy")],
     ["vm1: run kob-shop-web-1-abcdef01", "vm2: run kob-shop-web-2-abcdef01", "vm1: health new1", "vm2: health new2",
      "vm1: remove new1 -t 2", "vm2: remove new2 -t 2"],
     RolloutFailed, "web: new replica kob-shop-web-2-abcdef01 on vm2 is unhealthy"),
    ("the second batch fails: the first stays replaced, the rest is not touched",
     WEB, [swap(1, "vm1", "old1"), swap(2, "vm2", "old2")],
     [run("vm1", "new1"), run("vm2", "new2"), health("vm1", "new1 running healthy"),
      health("vm2", "new2 running unhealthy")],
     ["vm1: run kob-shop-web-1-abcdef01", "vm1: health new1", "lb: add web/kob-shop-web-1-abcdef01@vm1:20001",
      "lb: remove web/kob-shop-web-1-00000000@vm1:20000", "vm1: remove old1 -t 10",
      "vm2: run kob-shop-web-2-abcdef01", "vm2: health new2", "vm2: remove new2 -t 2"],
     RolloutFailed, "web: new replica kob-shop-web-2-abcdef01 on vm2 is unhealthy"),
    ("no health check, stopped while watched",
     WORKER, [create(1, "vm2", None, "worker")],
     [run("vm2", "new1"), health("vm2", "new1 running none", "new1 exited none")],
     ["vm2: run kob-shop-worker-1-abcdef01", "vm2: health new1", "vm2: health new1", "vm2: remove new1 -t 2"],
     RolloutFailed, "worker: new replica kob-shop-worker-1-abcdef01 on vm2 stopped"),
    ("docker run refused: docker's own words, nothing polled",
     WEB, [create(1, "vm2")],
     [("vm2", "docker run", Reply(rc=125, stderr="docker: Error response from daemon: pull access denied for "
                                                 "kob-demo/web, repository does not exist.\n"))],
     ["vm2: run kob-shop-web-1-abcdef01", "vm2: remove kob-shop-web-1-abcdef01 -t 0"],
     RolloutFailed, "web: cannot start replica 1 on vm2: pull access denied for kob-demo/web, "
                    "repository does not exist."),
    ("one docker run of a batch refused: what it created and the replica that did start are removed again",
     WEB, [create(1, "vm1"), create(2, "vm2")],
     [run("vm1", "new1"), ("vm2", "docker run", Reply(rc=125, stderr=(
         "docker: Error response from daemon: driver failed programming external connectivity on endpoint "
         "kob-shop-web-2-abcdef01: Bind for 0.0.0.0:20000 failed: port is already allocated.\n"
         "Run 'docker run --help' for more information\n")))],
     ["vm1: run kob-shop-web-1-abcdef01", "vm2: run kob-shop-web-2-abcdef01", "vm2: remove kob-shop-web-2-abcdef01 -t 0",
      "vm1: remove new1 -t 2"],
     RolloutFailed, "web: cannot start replica 2 on vm2: driver failed programming external connectivity on "
                    "endpoint kob-shop-web-2-abcdef01: Bind for 0.0.0.0:20000 failed: port is already allocated."),
    ("stop-first and the new one fails: the old one is already gone",
     STOP_FIRST, [swap(1, "vm1", "old1")], [run("vm1", "new1"), health("vm1", "new1 running unhealthy")],
     ["lb: remove web/kob-shop-web-1-00000000@vm1:20000", "vm1: remove old1 -t 10", "vm1: run kob-shop-web-1-abcdef01",
      "vm1: health new1", "vm1: remove new1 -t 2"],
     RolloutFailed, "web: new replica kob-shop-web-1-abcdef01 on vm1 is unhealthy"),
    ("a host that stops answering: its error, naming it",
     WEB, [create(1, "vm2")], [run("vm2", "new1"), ("vm2", "docker inspect", HostUnreachable("vm2", "no route"))],
     ["vm2: run kob-shop-web-1-abcdef01", "vm2: health new1"],
     HostUnreachable, "vm2: no route"),
])
async def test_a_rollout_that_fails(clock, name, service, actions, script, expected, error, message):
    fake = ScriptedTransport(script)
    with pytest.raises(error) as raised:
        await roll(fake, service, actions)
    assert message in str(raised.value), name
    assert timeline(fake) == expected


async def test_an_old_replica_that_cannot_be_removed_stops_the_rollout(clock):
    fake = ScriptedTransport([run("vm1", "new1", "new2"), health("vm1", "new1 running healthy", "new2 running healthy"),
                              ("vm1", "docker stop", Reply(rc=1, stderr="Error: cannot kill container old1\n"))])
    with pytest.raises(CommandFailed, match="vm1: .* exited 1: Error: cannot kill container old1"):
        await roll(fake, WEB, [swap(1, "vm1", "old1"), swap(2, "vm1", "old2", port=20002)])
    assert timeline(fake) == ["vm1: run kob-shop-web-1-abcdef01", "vm1: health new1",
                              "lb: add web/kob-shop-web-1-abcdef01@vm1:20001", "lb: remove web/kob-shop-web-1-00000000@vm1:20000",
                              "vm1: remove old1 -t 10"]


async def test_secrets_go_on_stdin_never_in_argv(clock, tmp_path):
    env = tmp_path / "web.env"
    env.write_text("PASSWORD=hunter2\n")
    fake = ScriptedTransport([run("vm2", "new1"), health("vm2", "new1 running healthy")])
    await roll(fake, replace(WEB, env_file=env), [create(1, "vm2")])
    started = fake.sent[0]
    assert started.argv[started.argv.index("--env-file") + 1] == "/dev/stdin"
    assert started.input == b"PASSWORD=hunter2\n" and "hunter2" not in started.command


# With the real HaproxyBalancer: its runtime API lines go to the lb host, vm1, in the same order.

LB_INVENTORY = """\
hosts:
  vm1: {address: 198.18.0.11, roles: [lb]}
  vm2: {address: 198.18.0.12}
services:
  web: {image: kob-demo/web:2, port: 80, healthcheck: {http: /healthz}}
  worker: {image: kob-demo/worker:1}
lb:
  frontends: {http: {bind: 80, default: web}}
"""


def haproxy_runtime(host, argv, input) -> Reply:
    """HAProxy's runtime API: each command of the line answered as HAProxy would, with no session open."""
    replies = {"add": ADDED, "show": "# pxname,svname,qcur,scur,stot,status,weight,type", "del": DELETED}
    words = [command.split()[0] for command in input.decode().strip().split("; ")]
    return Reply(stdout="\n".join(replies[w] for w in words if w in replies) + "\n")


@pytest.mark.parametrize("name, service, actions, script, expected", [
    ("create then remove: added in one line; drained, then maint and del",
     WEB, [create(1, "vm2"), Remove(old(3, "old3", port=20005), "vm1", "scale to 1")],
     [run("vm2", "new1"), health("vm2", "new1 running healthy")],
     ["vm2: run kob-shop-web-1-abcdef01", "vm2: health new1",
      "vm1: " + add_server_commands("web", "kob-shop-web-1-abcdef01", "198.18.0.12", 20000),
      f"vm1: {drain_command('web', 'kob-shop-web-3-00000000')}; {show_stat_command()}",
      "vm1: " + delete_server_commands("web", "kob-shop-web-3-00000000"),
      "vm1: remove old3 -t 10"]),
    ("replace across hosts: the new address is added before the old one goes",
     WEB, [Replace(old(1, "old1"), "vm1", Start("web", 1, "vm2", 20000), "vm1 is no longer eligible")],
     [run("vm2", "new1"), health("vm2", "new1 running healthy")],
     ["vm2: run kob-shop-web-1-abcdef01", "vm2: health new1",
      "vm1: " + add_server_commands("web", "kob-shop-web-1-abcdef01", "198.18.0.12", 20000),
      f"vm1: {drain_command('web', 'kob-shop-web-1-00000000')}; {show_stat_command()}",
      "vm1: " + delete_server_commands("web", "kob-shop-web-1-00000000"),
      "vm1: remove old1 -t 10"]),
    ("a service no frontend sends to: no runtime API line",
     replace(WORKER, update=UpdatePolicy(monitor=0)),
     [create(1, "vm2", None, "worker"), Remove(old(2, "old2", port=None, service="worker"), "vm1", "scale to 1")],
     [run("vm2", "new1"), health("vm2", "new1 running none")],
     ["vm2: run kob-shop-worker-1-abcdef01", "vm2: health new1", "vm1: remove old2 -t 10"]),
])
async def test_the_haproxy_balancer_switches_servers_during_the_rollout(clock, tmp_path, name, service, actions,
                                                                         script, expected):
    (tmp_path / "shop.yaml").write_text(LB_INVENTORY)
    inventory = load_inventory(tmp_path / "shop.yaml")
    seen = ClusterObservation({h: HostObservation(h, ()) for h in ("vm1", "vm2")})
    fake = ScriptedTransport([("vm1", "socat", haproxy_runtime), *script], default=None)
    fake.script("*", "docker stop", Reply())
    await roll(fake, service, actions, HaproxyBalancer(fake, inventory, seen, "shop"), inventory)
    assert timeline(fake) == expected, name


PAUSE = replace(TWO_AT_ONCE, update=UpdatePolicy(parallelism=2, monitor=0, failure_action="pause"))


@pytest.mark.parametrize("name, actions, script, expected, message", [
    ("a failed batch is stopped and kept, never in the lb; the old replicas keep serving",
     [swap(1, "vm1", "old1"), swap(2, "vm2", "old2")],
     [run("vm1", "new1"), run("vm2", "new2"), health("vm1", "new1 running healthy"),
      health("vm2", "new2 running unhealthy")],
     ["vm1: run kob-shop-web-1-abcdef01", "vm2: run kob-shop-web-2-abcdef01", "vm1: health new1", "vm2: health new2",
      "vm1: docker stop -t 2 new1", "vm2: docker stop -t 2 new2"],
     "web: new replica kob-shop-web-2-abcdef01 on vm2 is unhealthy; paused: kept stopped for inspection (docker logs): "
     "kob-shop-web-1-abcdef01 on vm1, kob-shop-web-2-abcdef01 on vm2; the next deploy removes them"),
])
async def test_failure_action_pause_keeps_the_failed_replicas_stopped(clock, name, actions, script, expected, message):
    fake = ScriptedTransport(script)
    with pytest.raises(RolloutFailed) as raised:
        await roll(fake, PAUSE, actions)
    assert str(raised.value) == message, name
    assert timeline(fake) == expected


async def test_removing_a_duplicate_points_the_server_of_that_name_at_the_replica_that_stays(clock, tmp_path):
    """A host that was unreachable comes back with a replica started elsewhere meanwhile: two containers of one
    name (the same spec) on two hosts, and HAProxy has one server of that name. The duplicate goes; the server
    is pointed at the one that stays instead of being deleted (which took that replica out of rotation)."""
    (tmp_path / "shop.yaml").write_text(LB_INVENTORY)
    inventory = load_inventory(tmp_path / "shop.yaml")
    stays, goes = old(2, "stays", port=20001), old(2, "goes", port=20000)
    seen = ClusterObservation({"vm1": HostObservation("vm1", (stays,)), "vm2": HostObservation("vm2", (goes,))})
    fake = ScriptedTransport([("vm1", "socat", haproxy_runtime)], default=None)
    fake.script("*", "docker stop", Reply())
    await roll(fake, WEB, [Remove(goes, "vm2", "duplicate of replica 2")],
               HaproxyBalancer(fake, inventory, seen, "shop"), inventory)
    assert timeline(fake) == ["vm1: " + add_server_commands("web", "kob-shop-web-2-00000000", "198.18.0.11", 20001),
                              "vm2: remove goes -t 10"]


async def test_a_guard_that_refuses_stops_the_rollout_between_batches_with_every_replica_whole(clock):
    fake = ScriptedTransport([run("vm1", "new1"), health("vm1", "new1 running healthy")])
    steps = []

    def guard() -> None:  # the deploy lock could not be kept after the first batch
        steps.append(len(steps))
        if len(steps) > 1:
            raise StoreError("lock 'kob/shop/deploy' could not be kept")

    doing = Rollout(fake, INVENTORY, RecordingBalancer(fake), lambda line: None, guard)
    with pytest.raises(StoreError, match="could not be kept"):
        await doing.run_service(DesiredService(WEB, 2, 2, SPEC, ("vm1", "vm2"), owner="shop"),
                                [swap(1, "vm1", "old1"), swap(2, "vm1", "old2", port=20002)])
    assert timeline(fake) == ["vm1: run kob-shop-web-1-abcdef01", "vm1: health new1",
                              "lb: add web/kob-shop-web-1-abcdef01@vm1:20001",
                              "lb: remove web/kob-shop-web-1-00000000@vm1:20000", "vm1: remove old1 -t 10"]
