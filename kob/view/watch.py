"""Gather the status page's data: the store's records and, with an SSH pool, what the hosts run now.

A live look costs one observe and one sample command per host and one runtime-API
command per lb host, all in parallel. Samples taken here go into the metrics history
like any other, so the page's charts fill in without cron. Nothing else is written.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import deque
from typing import Any

from kob.view.overview import Live, StoreRecords, assemble, container_row, job_row
from kob.deploy.host_health import HostHealthBook
from kob.passes.periodic import last_outcome, leader_lock_name
from kob.identity import namespace, owner
from kob.deploy.observe import lb_hosts, observe_and_sample
from kob.deploy.revisions import RevisionBook, wanted_replicas
from kob.errors import KobError
from kob.commands.haproxy import HaproxyPaths
from kob.facts.haproxy import ServerStat
from kob.jobs.book import JobBook
from kob.view.overview import JOBS_ENDED_SHOWN
from kob.lb.driver import HaproxyDriver
from kob.metrics.history import MetricsBook
from kob.metrics.rates import HostUsage
from kob.metrics.series import bucket_for, host_series, service_cpu_series
from kob.spec.inventory import Inventory
from kob.store.base import Event, Store
from kob.transport.base import Transport
from kob.transport.targets import ssh_target

EVENTS_SHOWN = 30
EVENT_PAGE = 500


class Watcher:
    """The latest overview of one inventory, refreshed on demand."""

    def __init__(self, inventory: Inventory, store: Store, pool: Transport | None = None):
        self.store, self.pool = store, pool
        self.follow(inventory)
        self._events: deque[Event] = deque(maxlen=EVENTS_SHOWN)
        self._after = 0
        self.latest: dict[str, Any] | None = None

    def follow(self, inventory: Inventory) -> None:
        """Show ``inventory`` from the next refresh on (kob web and kob serve follow their inventory file)."""
        self.inventory = inventory
        self.ns = namespace(inventory)
        self.revisions = RevisionBook(self.store, self.ns)
        self.metrics = MetricsBook(self.store, self.ns, inventory.control.retention)
        self.jobs = JobBook(self.store, self.ns)

    async def refresh(self) -> dict[str, Any]:
        """Read the store, look at the hosts (with a pool), and keep the result as ``latest``."""
        live, records = await asyncio.gather(self._live(), self._records())
        self.latest = assemble(self.inventory, records, live, time.time())
        return self.latest

    async def latest_usage(self) -> dict[str, HostUsage]:
        """Each host's newest sample kept in the store, whoever took it (this page, `kob top`, cron, the passes)."""
        hosts = self.inventory.hosts
        found = await asyncio.gather(*(self.metrics.latest(h.name) for h in hosts))
        return {h.name: usage for h, usage in zip(hosts, found) if usage is not None}

    async def service_page(self, name: str) -> dict[str, Any] | None:
        """The overview's row of a service, its revisions and its CPU over the kept history."""
        row = await self._row("services", name)
        if row is None:
            return None
        history = await self.revisions.history(name)
        histories = dict(zip([h.name for h in self.inventory.hosts], await asyncio.gather(
            *(self.metrics.history(h.name) for h in self.inventory.hosts))))
        times = [u.time for samples in histories.values() for u in samples]
        span = max(times) - min(times) if times else 0.0
        return {**row,
                "revisions": [{"number": r.number, "image": r.spec.image, "who": r.who, "when": r.when,
                               "reason": r.reason} for r in reversed(history)],
                "cpu_series": service_cpu_series(histories, name, bucket_for(span))}

    async def host_page(self, name: str) -> dict[str, Any] | None:
        """The overview's row of a host, its containers and its CPU and memory over the kept history."""
        row = await self._row("hosts", name)
        if row is None:
            return None
        history = await self.metrics.history(name)
        last = history[-1] if history else None
        return {**row,
                "container_rows": [container_row(name, c) for c in sorted(last.containers, key=lambda c: (c.service, c.replica or 0))]
                if last else [],
                "cpu_series": host_series(history, "cpu"), "memory_series": host_series(history, "memory")}

    async def job_page(self, job_id: int) -> dict[str, Any] | None:
        """A job, every attempt, and each attempt's kept output (the running one's is read at its end)."""
        job = await self.jobs.find(job_id)
        if job is None:
            return None
        logs = await asyncio.gather(*(self.jobs.log(job_id, a.number) for a in job.attempts))
        return {**job_row(job), "logs": {a.number: log for a, log in zip(job.attempts, logs)}}

    async def _row(self, part: str, name: str) -> dict[str, Any] | None:
        overview = self.latest or await self.refresh()
        return next((row for row in overview[part] if row["name"] == name), None)

    async def _records(self) -> StoreRecords:
        specs = self.inventory.services
        currents = await asyncio.gather(*(self.revisions.current(s.name) for s in specs))
        scales = await asyncio.gather(*(self.revisions.scale(s.name) for s in specs))
        decisions = await asyncio.gather(*(self.store.get(f"{self.ns}/services/{s.name}/autoscale") for s in specs))
        records = StoreRecords(
            revisions={s.name: c for s, c in zip(specs, currents)},
            desired={s.name: wanted_replicas(s, scaled) for s, scaled in zip(specs, scales)},
            autoscale={s.name: json.loads(d.value).get("last") for s, d in zip(specs, decisions) if d},
            hosts=await HostHealthBook(self.store, self.ns).records(),
            events=await self._recent_events(),
            leader=await self.store.lock_info(leader_lock_name(self.inventory)),
            jobs=await self.jobs.active_and_recent(JOBS_ENDED_SHOWN),
            job_counts=await self.jobs.counts_by_state())
        outcome = await last_outcome(self.store, self.inventory)
        records.last_pass = outcome.__dict__ if outcome else None
        if self.pool is None:
            records.usage = await self._recorded_usage()
        return records

    async def _recorded_usage(self) -> dict:
        histories = await asyncio.gather(*(self.metrics.history(h.name, time.time() - 3600)
                                           for h in self.inventory.hosts))
        return {h.name: samples[-1] for h, samples in zip(self.inventory.hosts, histories) if samples}

    async def _recent_events(self) -> list[Event]:
        """This inventory's newest events, oldest first; only events not read before are fetched."""
        while page := await self.store.events(self._after, EVENT_PAGE):
            self._events.extend(e for e in page if e.fields.get("ns") == self.ns)
            self._after = page[-1].seq
        return list(self._events)

    async def _live(self) -> Live | None:
        if self.pool is None:
            return None
        me = await owner(self.store, self.inventory)
        (seen, usage), lb = await asyncio.gather(observe_and_sample(self.pool, self.inventory, me, self.metrics),
                                                 self._lb_stats(HaproxyPaths.of(me)))
        return Live(seen, usage.hosts, lb)

    async def _lb_stats(self, paths: HaproxyPaths) -> dict[str, list[ServerStat] | str]:
        targets = [ssh_target(self.inventory, host) for host in lb_hosts(self.inventory)]

        async def one(target) -> list[ServerStat] | str:
            try:
                driver = HaproxyDriver(self.pool, [target], config_path=paths.config, pidfile=paths.pidfile,
                                       admin_socket=paths.admin_socket)
                return (await driver.stats())[target.name]
            except KobError as error:
                return str(error)

        return dict(zip([t.name for t in targets], await asyncio.gather(*(one(t) for t in targets))))
