"""The docker builders and the observation parser against a lab VM's real Docker Engine."""

from __future__ import annotations

import asyncio
import time

from kob.commands.docker import Replica, observe_argv, remove_argv, run_argv
from kob.facts.containers import parse_observation
from kob.lab import demo_image
from kob.spec.service_model import HealthCheck, Service
from kob.transport.ssh import SshPool, SshTarget
from tests.conftest import TEST_LAB_NET as NET

OWNER = "labtest-0000"


def target(lab, name: str = "vm2") -> SshTarget:
    return SshTarget(name=name, address=lab.state["vms"][name]["address"], port=22, user="root",
                     key=lab.layout.client_key, known_hosts=lab.layout.known_hosts, connect_timeout=3,
                     command_timeout=30)


async def observe(pool, vm):
    result = (await pool.run(vm, observe_argv())).check()
    return parse_observation(vm.name, result.stdout, OWNER)


async def test_a_started_replica_is_observed_with_its_labels_health_and_image(lab):
    vm = target(lab)
    service = Service(name="probe", image="kob-demo/web:1", port=80,
                      healthcheck=HealthCheck(http_path="/healthz", interval=0.5, timeout=3, retries=3, start_period=5))
    replica = Replica(service, replica=1, revision=3, spec_hash="feedface00", host="vm2", host_port=20999, owner=OWNER)
    _, image_ids = demo_image.save_archive()
    async with SshPool() as pool:
        (await pool.run(vm, run_argv(replica, env_from_stdin=True), input=b"SECRET_TOKEN=s3cr3t\n")).check()
        try:
            deadline = time.monotonic() + 60
            while True:
                seen = await observe(pool, vm)
                (fact,) = seen.of_service("probe")
                if fact.health == "healthy" or time.monotonic() > deadline:
                    break
                await asyncio.sleep(0.3)
            assert (fact.name, fact.replica, fact.revision, fact.spec_hash, fact.host_port, fact.state, fact.health) \
                == ("kob-labtest-0000-probe-1-feedface", 1, 3, "feedface00", 20999, "running", "healthy")
            assert fact.image_id == image_ids["kob-demo/web:1"]
            assert seen.images["kob-demo/web:2"] == image_ids["kob-demo/web:2"]
            env = (await pool.run(vm, ["docker", "exec", fact.id, "env"])).check().stdout
            assert "SECRET_TOKEN=s3cr3t" in env and "KOB_SERVICE=probe" in env
            body = (await pool.run(target(lab, "vm1"), ["wget", "-qO-", f"http://198.18.{NET}.12:20999/"])).check().stdout
            assert body.startswith("kob-demo 1 service=probe replica=1 host=vm2")
        finally:
            ids = [c.id for c in (await observe(pool, vm)).of_service("probe")]
            (await pool.run(vm, remove_argv(ids, stop_timeout=2))).check()
        assert (await observe(pool, vm)).of_service("probe") == ()


async def test_a_replica_without_a_health_check_is_observed_and_polled(lab):
    """Docker's templates fail on .State.Health when there is none: observe and health_argv must not."""
    from kob.commands.docker import health_argv
    from kob.facts.containers import parse_health

    vm = target(lab)
    replica = Replica(Service(name="nocheck", image="kob-demo/web:1", port=80), 1, 1, "0badc0de00", "vm2", 20998, OWNER)
    async with SshPool() as pool:
        cid = (await pool.run(vm, run_argv(replica))).check().stdout.strip()
        try:
            (fact,) = (await observe(pool, vm)).of_service("nocheck")
            assert (fact.id, fact.state, fact.health) == (cid, "running", None)
            states = parse_health((await pool.run(vm, health_argv([cid]))).check().stdout)
            assert states == {cid: ("running", None)}
        finally:
            (await pool.run(vm, remove_argv([cid], stop_timeout=2))).check()


async def test_the_engine_api_reader_sees_what_the_docker_cli_sees(lab):
    """The observe and sample commands read Docker's Engine API with python3; their docker CLI fallback must give
    the same observation: a healthy replica, an exited one, a container started by hand with a port, images."""
    from kob.commands.docker import _OBSERVE_WITH_CLI
    from kob.commands.docker_engine import ENGINE_READER
    from kob.commands.metrics import _INSPECT

    vm = target(lab)
    checked = Service(name="api", image="kob-demo/web:1", port=80,
                      healthcheck=HealthCheck(http_path="/healthz", interval=0.5, timeout=3, retries=3, start_period=5))
    running = Replica(checked, 1, 2, "a11ce00000", "vm2", 20997, OWNER)
    stopped = Replica(Service(name="once", image="kob-demo/web:2", command=("sh", "-c", "exit 3"), restart="no"), 1, 1, "b0b0000000", "vm2",
                      None, OWNER)
    reader = lambda *mode: ["python3", "-I", "-S", "-c", ENGINE_READER, *mode]
    cli_sample = ["sh", "-c", (f"ids=$(docker ps -aq --no-trunc --filter label=kob.inventory={OWNER}); "
                               f'if [ -n "$ids" ]; then docker inspect --format \'{_INSPECT}\' $ids; fi')]
    async with SshPool() as pool:
        ids = [(await pool.run(vm, run_argv(r))).check().stdout.strip() for r in (running, stopped)]
        ids.append((await pool.run(vm, ["docker", "run", "-d", "-p", "20996:80", "kob-demo/web:1"])).check().stdout.strip())
        try:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                seen = await observe(pool, vm)
                if [c.health for c in seen.of_service("api")] == ["healthy"] and seen.of_service("once")[0].state == "exited":
                    break
                await asyncio.sleep(0.3)
            by_cli = (await pool.run(vm, ["sh", "-c", "\n".join(_OBSERVE_WITH_CLI)])).check().stdout
            by_api = (await pool.run(vm, reader("observe"))).check().stdout
            assert sorted(by_api.splitlines()) == sorted(by_cli.splitlines())
            assert parse_observation("vm2", by_api, OWNER) == parse_observation("vm2", by_cli, OWNER)
            assert {c.service: (c.state, c.exit_code) for c in parse_observation("vm2", by_api, OWNER).containers} \
                == {"api": ("running", 0), "once": ("exited", 3)}
            assert 20996 in parse_observation("vm2", by_api, OWNER).busy_ports
            sampled = (await pool.run(vm, reader("sample", OWNER))).check().stdout
            assert sorted(sampled.splitlines()) == sorted((await pool.run(vm, cli_sample)).check().stdout.splitlines())
            assert len(sampled.splitlines()) == 2
        finally:
            (await pool.run(vm, remove_argv(ids, stop_timeout=2))).check()
