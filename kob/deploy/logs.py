"""`kob logs`: the logs of every replica of a service, merged, each line naming its replica and host."""

from __future__ import annotations

import asyncio
import re
from typing import Callable

from kob.commands.docker import service_logs_argv
from kob.deploy.observe import observe_cluster
from kob.errors import KobError
from kob.facts.containers import ContainerFact, LogLine, parse_log_lines
from kob.spec.inventory import Inventory
from kob.transport.base import Transport
from kob.transport.targets import ssh_target


FOLLOW_LOOK = 2.0  # seconds between looks for new replicas while following

_SINCE = re.compile(r"([0-9]+(\.[0-9]+)?(ns|us|ms|s|m|h))+|[0-9]{1,12}(\.[0-9]{1,9})?"
                    r"|[0-9]{4}-[0-9]{2}-[0-9]{2}([T ][0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]{1,9})?)?)?(Z|[+-][0-9]{2}:?[0-9]{2})?")


async def service_logs(pool: Transport, inventory: Inventory, service: str, emit: Callable[[str], None], *,
                       owner: str, tail: int | None = None, since: str | None = None, follow: bool = False,
                       timestamps: bool = False) -> None:
    """Print the log lines of ``owner``'s replicas of the service: merged by time, or as they come with
    ``follow`` (until cancelled)."""
    if since is not None and not _SINCE.fullmatch(since):
        raise KobError(f"--since {since!r}: write a duration such as 10m or 2h30m, a date such as 2026-11-30T10:00:00Z "
                       "or a Unix time")
    seen = await observe_cluster(pool, inventory, owner)
    for why in seen.unreachable.values():
        emit(f"! {why}")
    by_host = {host: list(o.of_service(service)) for host, o in seen.hosts.items() if o.of_service(service)}
    if not by_host:
        raise KobError(f"{service}: no container of it on any reachable host; `kob deploy` starts them")
    names = {c.id: _replica_name(c, host) for host, containers in by_host.items() for c in containers}
    width = max(map(len, names.values()))

    def show(line: LogLine) -> None:
        stamp = f"{line.timestamp} " if timestamps and line.timestamp else ""
        emit(f"{names.get(line.container_id, line.container_id[:12]):<{width}} | {stamp}{line.text}")

    def argv(host: str) -> list[str]:
        return service_logs_argv([c.id for c in by_host[host]], tail, since, follow)

    targets = {host: ssh_target(inventory, inventory.host(host)) for host in by_host}
    if follow:
        await _follow(pool, inventory, owner, service, by_host, names, show, tail, since)
        return
    results = await asyncio.gather(*(pool.run(targets[host], argv(host)) for host in by_host))
    merged = [line for result in results for line in parse_log_lines(result.check().stdout)]
    for line in sorted(merged, key=lambda line: line.sort_key):
        show(line)


async def _follow(pool: Transport, inventory: Inventory, owner: str, service: str,
                  by_host: dict[str, list[ContainerFact]], names: dict[str, str], show: Callable[[LogLine], None],
                  tail: int | None, since: str | None) -> None:
    """Stream the replicas' lines as they come; every FOLLOW_LOOK seconds look for replicas started since
    (a rollout, a scale, a heal) and stream those too, from their first line. Runs until cancelled."""
    streaming: set[str] = set()
    tasks: list[asyncio.Task] = []

    async def stream(host: str, ids: list[str], tail: int | None, since: str | None) -> None:
        target = ssh_target(inventory, inventory.host(host))
        async for raw in pool.lines(target, service_logs_argv(ids, tail, since, follow=True)):
            for line in parse_log_lines(raw):
                show(line)

    def start(host: str, containers: list[ContainerFact], tail: int | None, since: str | None) -> None:
        new = [c for c in containers if c.id not in streaming]
        if new:
            streaming.update(c.id for c in new)
            names.update({c.id: _replica_name(c, host) for c in new})
            tasks.append(asyncio.create_task(stream(host, [c.id for c in new], tail, since)))

    for host, containers in by_host.items():
        start(host, containers, tail, since)
    try:
        while True:
            await asyncio.sleep(FOLLOW_LOOK)
            for task in tasks:
                if task.done() and task.exception():
                    raise task.exception()
            seen = await observe_cluster(pool, inventory, owner)
            for host, observation in seen.hosts.items():
                start(host, [c for c in observation.of_service(service) if c.running], None, None)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


def _replica_name(container: ContainerFact, host: str) -> str:
    return f"{container.service}.{container.replica}@{host}"
