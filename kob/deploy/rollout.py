"""Carry out a plan: start, wait for health, switch the load balancer, remove (apply layer)."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from dataclasses import dataclass
from typing import Callable

from kob.commands.docker import docker_reason, health_argv, remove_argv, run_argv, stop_argv
from kob.deploy.desired import read_secrets
from kob.errors import RolloutFailed
from kob.facts.containers import parse_health
from kob.plan.actions import Create, Remove, Replace, Start
from kob.plan.diff import DesiredService
from kob.spec.inventory import Inventory
from kob.transport.base import Transport
from kob.transport.targets import ssh_target

POLL = 0.5


@dataclass(frozen=True)
class Started:
    host: str
    container_id: str
    name: str
    host_port: int | None


class Balancer:
    """What a rollout needs of the load balancer; kob.deploy.balancer.NullBalancer when there is none."""

    async def add(self, service: str, replicas: list[tuple[str, str, int | None]]) -> None:
        """Put healthy new replicas, (host, container name, host port) each, in service."""

    async def remove(self, service: str, host: str, name: str, port: int | None) -> None:
        """Drain a replica and take it out, before it is stopped."""


class Rollout:
    def __init__(self, pool: Transport, inventory: Inventory, balancer: Balancer, say: Callable[[str], None],
                 before_step: Callable[[], None] = lambda: None):
        self.pool, self.inventory, self.balancer, self.say = pool, inventory, balancer, say
        self.before_step = before_step  # raises to stop between batches (the deploy lock could not be kept)
        self.changed: dict[str, int] = {}  # host → containers started or removed there
        self.outcome: dict[str, Counter] = {}  # service → created / replaced / removed

    def _target(self, host: str):
        return ssh_target(self.inventory, self.inventory.host(host))

    async def run_service(self, want: DesiredService, actions: list) -> None:
        """Removes of replicas that serve nothing first (a leftover of a killed deploy may hold the name a new
        replica needs), then new replicas all at once (nothing serving is touched), then replaces in batches of
        update.parallelism, then the other removes (all at once, each drained first); stops at the first failure."""
        idle = [a for a in actions if isinstance(a, Remove) and not a.container.serving]
        if idle:
            self.before_step()
            await self._remove(want, idle)
        creates = [a for a in actions if isinstance(a, Create)]
        if creates:
            self.before_step()
            await self._batch(want, creates)
        replaces = [a for a in actions if isinstance(a, Replace)]
        for index in range(0, len(replaces), want.service.update.parallelism):
            self.before_step()
            await self._batch(want, replaces[index:index + want.service.update.parallelism])
        removes = [a for a in actions if isinstance(a, Remove) and a not in idle]
        if removes:
            self.before_step()
            await self._remove(want, removes)

    async def _remove(self, want: DesiredService, removes: list[Remove]) -> None:
        await asyncio.gather(*(self._retire(a.host, a.container.id, a.container.name, a.container.service,
                                            a.container.host_port) for a in removes))
        self.outcome.setdefault(want.service.name, Counter())["removed"] += len(removes)

    async def _batch(self, want: DesiredService, batch: list) -> None:
        stop_first = want.service.update.order == "stop-first"
        olds = [a for a in batch if isinstance(a, Replace)]
        # A dead or unhealthy replica serves nothing: it goes first, freeing its name (same spec, same name).
        first = olds if stop_first else [a for a in olds if not a.old.serving]
        await asyncio.gather(*(self._retire(a.old_host, a.old.id, a.old.name, a.old.service, a.old.host_port)
                               for a in first))
        started = await self._start_all(want, batch)
        await self._await_health(want, started)
        await self.balancer.add(want.service.name, [(s.host, s.name, s.host_port) for s in started])
        for action, new in zip(batch, started):
            self.say(f"{action.describe()[0]} {want.service.name} replica {action.start.replica} on {new.host}: healthy")
            kind = "replaced" if isinstance(action, Replace) else "created"
            self.outcome.setdefault(want.service.name, Counter())[kind] += 1
        await asyncio.gather(*(self._retire(a.old_host, a.old.id, a.old.name, a.old.service, a.old.host_port)
                               for a in olds if a not in first))

    async def _start_all(self, want: DesiredService, batch: list) -> list[Started]:
        """Start the batch's new replicas; if one fails to start, the others are removed again before it is raised."""
        outcomes = await asyncio.gather(*(self._start(want, a.start) for a in batch), return_exceptions=True)
        started = [o for o in outcomes if isinstance(o, Started)]
        failures = [o for o in outcomes if isinstance(o, BaseException)]
        if failures:
            await self._discard(started)
            raise failures[0]
        return started

    async def _start(self, want: DesiredService, start: Start) -> Started:
        """Start one replica; if docker refuses, remove what it created and say docker's reason."""
        replica = want.replica(start)
        secrets = read_secrets(want.service)
        argv = run_argv(replica, env_from_stdin=bool(secrets.content))
        target = self._target(start.host)
        result = await self.pool.run(target, argv, input=secrets.content or None)
        self._count(start.host)
        if result.rc != 0:
            await self.pool.run(target, remove_argv([replica.container_name], stop_timeout=0))
            raise RolloutFailed(f"{want.service.name}: cannot start replica {start.replica} on {start.host}: "
                                f"{docker_reason(result.stderr or result.stdout)}")
        return Started(start.host, result.stdout.strip(), replica.container_name, start.host_port)

    async def _await_health(self, want: DesiredService, started: list[Started]) -> None:
        check = want.service.healthcheck
        budget = (check.start_period + (check.interval + check.timeout) * (check.retries + 1) + 5) if check else 10
        deadline = time.monotonic() + budget
        pending = list(started)
        while pending:
            states = await self._states(pending)
            failed = [s for s in pending if states.get(s.container_id, ("gone", None))[0] != "running"
                      or states[s.container_id][1] == "unhealthy"]
            if failed or time.monotonic() > deadline:
                kept = await self._fail(want, started)
                bad = failed[0] if failed else pending[0]
                state = states.get(bad.container_id, ("gone", None))
                raise RolloutFailed(f"{want.service.name}: new replica {bad.name} on {bad.host} is "
                                    f"{state[1] or state[0]}" + ("" if failed else f" after {budget:.0f} s") + kept)
            pending = [s for s in pending if (states[s.container_id][1] or "healthy") != "healthy"]
            if pending:
                await asyncio.sleep(POLL)
        if want.service.update.monitor and not check:
            await asyncio.sleep(min(want.service.update.monitor, 2))
            await self._await_running(want, started)

    async def _await_running(self, want: DesiredService, started: list[Started]) -> None:
        states = await self._states(started)
        down = [s for s in started if states.get(s.container_id, ("gone", None))[0] != "running"]
        if down:
            kept = await self._fail(want, started)
            raise RolloutFailed(f"{want.service.name}: new replica {down[0].name} on {down[0].host} stopped{kept}")

    async def _states(self, started: list[Started]) -> dict[str, tuple[str, str | None]]:
        by_host: dict[str, list[str]] = {}
        for s in started:
            by_host.setdefault(s.host, []).append(s.container_id)
        results = await asyncio.gather(*(self.pool.run(self._target(h), health_argv(ids)) for h, ids in by_host.items()))
        states: dict[str, tuple[str, str | None]] = {}
        for result in results:
            for cid, value in parse_health(result.stdout).items():
                states[cid] = value
        return states

    async def _fail(self, want: DesiredService, started: list[Started]) -> str:
        """The batch's new replicas after a failed check: removed, or with ``failure_action: pause`` stopped and
        kept (never in the load balancer) for inspection; the next deploy removes them. What to add to the error."""
        if want.service.update.failure_action != "pause":
            await self._discard(started)
            return ""
        await asyncio.gather(*(self.pool.run(self._target(s.host), stop_argv([s.container_id], 2)) for s in started))
        where = ", ".join(f"{s.name} on {s.host}" for s in started)
        return f"; paused: kept stopped for inspection (docker logs): {where}; the next deploy removes them"

    async def _discard(self, started: list[Started]) -> None:
        await asyncio.gather(*(self.pool.run(self._target(s.host), remove_argv([s.container_id], 2)) for s in started))

    async def _retire(self, host: str, container_id: str, name: str, service: str, port: int | None) -> None:
        """Out of the load balancer first (drained), then stopped and removed."""
        await self.balancer.remove(service, host, name, port)
        (await self.pool.run(self._target(host), remove_argv([container_id]))).check()
        self._count(host)

    def _count(self, host: str) -> None:
        self.changed[host] = self.changed.get(host, 0) + 1
