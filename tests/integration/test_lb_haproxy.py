"""HaproxyDriver against real HAProxy on vm1, sending to demo containers on vm2 and vm3.

Every test reads HAProxy's state from vm1 with the observe command, as a deploy does.
At the end of the module HAProxy is stopped and its config removed, so vm1 is clean again.
"""

from __future__ import annotations

import asyncio
import http.client
import time
import urllib.error
import urllib.request
from dataclasses import dataclass

import pytest

from kob.commands.docker import Replica, observe_argv, run_argv
from kob.commands.haproxy import CONFIG_PATH, PIDFILE, stop_argv
from kob.facts.containers import parse_observation
from kob.lb import (
    HaproxyDriver,
    LbBackend,
    LbConfig,
    LbConfigInvalid,
    LbFrontend,
    LbServer,
)
from kob.spec.service_model import Service
from kob.transport.ssh import SshPool, SshTarget
from tests.helpers.lab_services import LoadLoop

PORT, OTHER_PORT = 18080, 18081
SERVICE = Service(name="lbtest", image="kob-demo/web:1", port=80)
SLOTS = {1: ("vm2", 21801), 2: ("vm3", 21802), 3: ("vm2", 21803)}  # replica → host, host port


def target(lab, name: str) -> SshTarget:
    return SshTarget(name=name, address=lab.state["vms"][name]["address"], port=22, user="root",
                     key=lab.layout.client_key, known_hosts=lab.layout.known_hosts, connect_timeout=3,
                     command_timeout=30)


@dataclass(frozen=True)
class Setup:
    lab: object
    servers: dict[int, LbServer]  # replica → its server

    @property
    def vm1(self) -> SshTarget:
        return target(self.lab, "vm1")

    @property
    def url(self) -> str:
        return f"http://{self.vm1.address}:{PORT}/"

    def config(self, *replicas: int, default: str = "lbtest", extra_frontend: bool = False) -> LbConfig:
        frontends = [LbFrontend("http", PORT, default_backend=default)]
        if extra_frontend:
            frontends.append(LbFrontend("other", OTHER_PORT, default_backend="lbtest"))
        backend = LbBackend("lbtest", "roundrobin", "/healthz", tuple(self.servers[r] for r in replicas))
        return LbConfig(tuple(frontends), (backend,))


@pytest.fixture(scope="module")
def setup(lab):
    replicas = {n: Replica(SERVICE, n, 1, "1bce57000", host, port, "labtest-0000") for n, (host, port) in SLOTS.items()}

    async def run_everywhere(argvs):
        async with SshPool() as pool:
            return await asyncio.gather(*(pool.run(target(lab, host), argv) for host, argv in argvs))

    def clean():
        remove = ["sh", "-c", 'docker rm -f "$@" >/dev/null 2>&1; true', "rm",
                  *(r.container_name for r in replicas.values())]
        asyncio.run(run_everywhere([("vm1", stop_argv(PIDFILE)), ("vm1", ["rm", "-f", CONFIG_PATH]),
                                    ("vm2", remove), ("vm3", remove)]))

    clean()
    try:
        for result in asyncio.run(run_everywhere([(r.host, run_argv(r)) for r in replicas.values()])):
            result.check()
        servers = {n: LbServer("lbtest", f"lbtest-{n}", lab.state["vms"][r.host]["address"], r.host_port)
                   for n, r in replicas.items()}
        for server in servers.values():
            wait_until_ok(f"http://{server.address}:{server.port}/healthz")
        yield Setup(lab, servers)
    finally:
        clean()


def wait_until_ok(url: str, within: float = 20.0) -> None:
    deadline = time.monotonic() + within
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            if time.monotonic() > deadline:
                raise
        time.sleep(0.1)


def get(url: str) -> str:
    with urllib.request.urlopen(url, timeout=5) as response:
        return response.read().decode()


async def more_answers(load: LoadLoop, count: int = 5, within: float = 60) -> None:
    """Wait until ``load`` has had ``count`` more answers: requests are going on around what follows."""
    goal, deadline = load.ok + count, time.monotonic() + within
    while load.ok < goal:
        assert time.monotonic() < deadline, f"{load.ok} answers, failures: {load.failures[:3]}"
        await asyncio.sleep(0.05)


def replicas_seen(bodies) -> set[int]:
    return {int(body.split("replica=")[1].split()[0]) for body in bodies}


async def observed(pool: SshPool, vm1: SshTarget):
    result = (await pool.run(vm1, observe_argv(haproxy=(CONFIG_PATH, PIDFILE)))).check()
    return {vm1.name: parse_observation(vm1.name, result.stdout, "labtest-0000").haproxy}


async def converge(pool: SshPool, setup: Setup, config: LbConfig) -> str:
    driver = HaproxyDriver(pool, [setup.vm1])
    return (await driver.ensure_config(config, await observed(pool, setup.vm1)))[setup.vm1.name]


async def test_ensure_config_starts_haproxy_once_then_costs_no_command(setup):
    async with SshPool() as pool:
        await pool.run(setup.vm1, stop_argv(PIDFILE))
        assert await converge(pool, setup, setup.config(1, 2)) == "started"
        bodies = [await asyncio.to_thread(get, setup.url) for _ in range(6)]
        assert replicas_seen(bodies) == {1, 2}
        seen = await observed(pool, setup.vm1)
        before = sum(pool.exec_count.values())
        again = await HaproxyDriver(pool, [setup.vm1]).ensure_config(setup.config(2, 1), seen)
        assert again == {"vm1": "unchanged"} and sum(pool.exec_count.values()) == before


async def test_a_killed_haproxy_is_observed_stopped_and_started_again(setup):
    """SIGKILL leaves the master a zombie until reaped (the lab's init is slow to reap): still "stopped"."""
    async with SshPool() as pool:
        assert await converge(pool, setup, setup.config(1)) in ("unchanged", "started", "reloaded", "written")
        kill = ["sh", "-c", 'pid=$(cat "$1"); pkill -9 -P "$pid"; kill -9 "$pid"; sleep 0.2', "kill", PIDFILE]
        (await pool.run(setup.vm1, kill)).check()
        assert (await observed(pool, setup.vm1))["vm1"].running is False
        assert await converge(pool, setup, setup.config(1)) == "started"
        assert replicas_seen([await asyncio.to_thread(get, setup.url)]) == {1}


async def test_a_written_config_lines_up_the_running_servers_without_a_reload(setup):
    async with SshPool() as pool:
        await converge(pool, setup, setup.config(1, 3))
        assert await converge(pool, setup, setup.config(1, 2)) == "written"
        stats = (await HaproxyDriver(pool, [setup.vm1]).stats())["vm1"]
        assert sorted(s.server for s in stats if s.backend == "lbtest") == ["lbtest-1", "lbtest-2"]
        bodies = [await asyncio.to_thread(get, setup.url) for _ in range(8)]
        assert replicas_seen(bodies) == {1, 2}


async def test_a_config_haproxy_refuses_leaves_the_old_one_serving(setup):
    async with SshPool() as pool:
        await converge(pool, setup, setup.config(1, 2))
        digest = (await observed(pool, setup.vm1))["vm1"].config_digest
        with pytest.raises(LbConfigInvalid, match=r"^vm1: HAProxy refused the new config \(the old one keeps "
                                                  r"serving\): .*default_backend: 'nowhere'"):
            await converge(pool, setup, setup.config(1, 2, default="nowhere"))
        assert (await observed(pool, setup.vm1))["vm1"].config_digest == digest
        assert "replica=" in await asyncio.to_thread(get, setup.url)
        leftovers = (await pool.run(setup.vm1, ["sh", "-c", "ls /etc/haproxy"])).check().stdout.split()
        assert leftovers == ["haproxy.cfg"]


async def test_servers_come_and_go_at_runtime_without_a_failed_request(setup):
    async with SshPool() as pool:
        driver = HaproxyDriver(pool, [setup.vm1])
        await converge(pool, setup, setup.config(1, 2))
        with LoadLoop(setup.url) as load:
            await more_answers(load)
            await driver.add_server(setup.servers[3])
            assert await converge(pool, setup, setup.config(1, 2, 3)) == "written"
            deadline = time.monotonic() + 60
            while not [s for s in (await driver.stats())["vm1"] if s.server == "lbtest-3" and s.up
                       and s.total_sessions > 0]:
                assert time.monotonic() < deadline, "lbtest-3 never came up and served"
                await asyncio.sleep(0.2)
            await driver.remove_server(setup.servers[3], drain_timeout=5)
            assert await converge(pool, setup, setup.config(1, 2)) == "written"
            await more_answers(load)
        assert load.failures == [] and load.ok > 0
        assert replicas_seen(load.bodies) == {1, 2, 3}
        assert "lbtest-3" not in {s.server for s in (await driver.stats())["vm1"]}
        await driver.remove_server(setup.servers[3])  # already gone: nothing to do


async def test_a_frontend_change_reloads_without_a_failed_request(setup):
    async with SshPool() as pool:
        await converge(pool, setup, setup.config(1, 2))
        with LoadLoop(setup.url) as load:
            await more_answers(load)
            assert await converge(pool, setup, setup.config(1, 2, extra_frontend=True)) == "reloaded"
            other = await asyncio.to_thread(get, f"http://{setup.vm1.address}:{OTHER_PORT}/")
            await more_answers(load)
        assert load.failures == [] and load.ok > 0 and "replica=" in other


SLOW_CGI = b'#!/bin/sh\necho "Content-Type: text/plain"\necho\nsleep "${QUERY_STRING:-2}"\necho done\n'


def get_status(url: str) -> tuple[int | str, str]:
    """(HTTP status, body), or ("failed", error) when the request broke."""
    try:
        with urllib.request.urlopen(url, timeout=120) as response:  # longer than any slow request
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, ""
    except (OSError, http.client.HTTPException) as error:
        return "failed", repr(error)


async def slow_requests_on_replica_3(pool: SshPool, setup: Setup, seconds: float) -> asyncio.Future:
    """Replica 3 (alone) gets a CGI that answers after ``seconds``; returns the requests under way."""
    driver = HaproxyDriver(pool, [setup.vm1])
    await converge(pool, setup, setup.config(1, 2, 3))
    await driver.add_server(setup.servers[3])
    name = Replica(SERVICE, 3, 1, "1bce57000", "vm2", 21803, "labtest-0000").container_name
    script = "mkdir -p /www/cgi-bin && cat >/www/cgi-bin/slow && busybox chmod 755 /www/cgi-bin/slow"
    (await pool.run(target(setup.lab, "vm2"), ["docker", "exec", "-i", name, "sh", "-c", script],
                    input=SLOW_CGI)).check()
    url = f"{setup.url}cgi-bin/slow?{seconds:g}"
    requests = asyncio.gather(*(asyncio.to_thread(get_status, url) for _ in range(6)))
    deadline = time.monotonic() + 60
    while not [s for s in (await driver.stats())["vm1"] if s.server == "lbtest-3" and s.current_sessions]:
        assert time.monotonic() < deadline, "replica 3 never got a slow request"
        await asyncio.sleep(0.05)
    return requests


async def test_remove_server_lets_running_sessions_finish(setup):
    async with SshPool() as pool:
        requests = await slow_requests_on_replica_3(pool, setup, 1.5)
        started = time.monotonic()
        await HaproxyDriver(pool, [setup.vm1]).remove_server(setup.servers[3], drain_timeout=120)
        waited = time.monotonic() - started
        answers = await requests
        assert (200, "done\n") in answers and {status for status, _ in answers} == {200, 404}  # none was cut
        assert waited < 60, f"{waited:.0f} s: removed at the drain timeout, not once the sessions ended"
        assert await converge(pool, setup, setup.config(1, 2)) == "written"


async def test_remove_server_cuts_sessions_still_running_at_the_drain_timeout(setup):
    async with SshPool() as pool:
        driver = HaproxyDriver(pool, [setup.vm1])
        requests = await slow_requests_on_replica_3(pool, setup, 30)
        await driver.remove_server(setup.servers[3], drain_timeout=0.5)
        assert "lbtest-3" not in {s.server for s in (await driver.stats())["vm1"]}
        answers = await requests
        # cut: the slow requests would have answered "done" after 30 s, well within the client's timeout
        assert (200, "done\n") not in answers and {status for status, _ in answers} - {404}
        assert await converge(pool, setup, setup.config(1, 2)) == "written"
