"""One dispatch pass: follow the running jobs to their end, then start queued ones where there is room.

The caller holds the jobs lock (JobBook.lock). One SSH command per host observes every job
container, the host's CPUs and memory and the service replicas running there; each ended
attempt costs one more (its output, then its removal). A pass with no queued or running
job touches no host at all.

A job is saved as running before its container starts, so a dispatcher killed in between
leaves a running job without a container, which the next pass finds lost and retries.

Before jobs start, their images go to the hosts that lack them, as a deploy ships services'
(kob.deploy.images: from the manager's Docker, else from a host that has the image). A job's
environment is read on the manager and sent on stdin. Its timeout is enforced on its host by
a watchdog started with the container (kob.commands.jobs.start_job_argv); a pass still stops
an attempt past its deadline, should that watchdog be gone.
"""

from __future__ import annotations

import asyncio
import re
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Callable

from kob.commands.jobs import GONE_MARK, collect_argv, container_name, kill_argv, output_argv, run_job_argv, start_job_argv
from kob.deploy.events import EventLog
from kob.deploy.images import lacking, manager_image_ids, ship_to_each
from kob.errors import KobError, TransportError
from kob.facts.jobs import HostJobs, JobContainer, jobs_fact
from kob.identity import namespace, owner
from kob.jobs.book import LOG_KEPT, JobBook
from kob.jobs.environment import job_environment
from kob.jobs.model import ACTIVE, Attempt, Job, answered, ended, started, unanswered
from kob.jobs.rooms import host_rooms, queued_jobs
from kob.plan.preflight import ImageSource, image_source
from kob.policy.jobs import next_try, schedule
from kob.spec.inventory import Host, Inventory
from kob.store.base import Store
from kob.transport.base import Transport
from kob.transport.gather import Gathered, gather
from kob.transport.targets import ssh_target


KILLED_EXIT = 137  # 128 + SIGKILL: what docker kill leaves


JobsSeen = Gathered[HostJobs]


@dataclass
class DispatchReport:
    started: list[str] = field(default_factory=list)
    ended: list[str] = field(default_factory=list)
    waiting: list[str] = field(default_factory=list)
    unreachable: dict[str, str] = field(default_factory=dict)
    active: int = 0  # queued or running after the pass
    collected: set[tuple[str, str]] = field(default_factory=set)  # (host, container) whose output this pass kept

    def summary(self) -> str:
        return (f"{len(self.started)} started, {len(self.ended)} ended, {len(self.waiting)} waiting"
                if self.started or self.ended or self.waiting or self.active else "no job to run")


class Dispatcher:
    def __init__(self, inventory: Inventory, store: Store, pool: Transport, say: Callable[[str], None] = print):
        self.inventory, self.store, self.pool, self.say = inventory, store, pool, say
        self._owner: str | None = None
        self.book = JobBook(store, namespace(inventory))
        self.events = EventLog(store, namespace(inventory))

    async def dispatch(self) -> DispatchReport:
        """Follow, then place and start. The caller holds the jobs lock."""
        report = DispatchReport()
        jobs = await self.book.by_state(ACTIVE, tidy=True)
        if not jobs:
            return report
        seen = await self.observe(self.inventory.hosts)
        report.unreachable = seen.unreachable
        jobs = list(await asyncio.gather(*(self._follow(j, seen, report) if j.state == "running" else _same(j)
                                           for j in jobs)))
        await self._remove_orphans(seen, jobs, report.collected)
        running = [j for j in jobs if j.state == "running"]
        plan = schedule(queued_jobs(jobs, self.inventory), host_rooms(self.inventory, seen, running), time.time())
        by_id = {j.id: j for j in jobs}
        placed = [(by_id[p.job_id], p.host) for p in plan.placed]
        unready = await self._bring_images(placed, seen)
        await asyncio.gather(*(self._start(job, host, report, unready.get(job.id)) for job, host in placed))
        report.waiting = [f"job {w.job_id}: {w.reason}" for w in plan.waiting]
        report.active = len(await self.book.by_state(ACTIVE))
        if report.ended:
            await self.book.forget_old()
        return report

    async def cancel(self, job: Job) -> Job:
        """Cancel a queued job, or stop a running one on its host now. The caller holds the jobs lock."""
        if job.state == "queued":
            job = Job.from_dict({**job.to_dict(), "state": "cancelled"})
            await self.book.save(job)
            await self.events.add("job", f"job {job.id} ({job.name}): cancelled while queued", job=job.id)
            return job
        job = Job.from_dict({**job.to_dict(), "cancel_requested": True})
        await self.book.save(job)
        hosts = [h for h in self.inventory.hosts if h.name == job.current.host]
        return await self._follow(job, await self.observe(hosts), DispatchReport())

    async def follow_output(self, attempt: Attempt, say: Callable[[str], None], follow: bool) -> bool:
        """A running attempt's output from its host; with ``follow``, line by line until it ends. False when
        its container was gone (its output is then kept in the store, or lost)."""
        target = ssh_target(self.inventory, self.inventory.host(attempt.host))
        if follow:
            async for line in self.pool.lines(target, output_argv(attempt.container, follow=True)):
                if line == GONE_MARK:
                    return False
                say(line)
        else:
            say((await self.pool.run(target, output_argv(attempt.container))).stdout.rstrip("\n"))
        return True

    async def owner_label(self) -> str:
        """The inventory's owner label (kob.identity.owner): its job containers carry it."""
        if self._owner is None:
            self._owner = await owner(self.store, self.inventory)
        return self._owner

    async def observe(self, hosts: list[Host]) -> JobsSeen:
        return await gather(self.pool, self.inventory, jobs_fact(await self.owner_label()), hosts)

    async def _follow(self, job: Job, seen: JobsSeen, report: DispatchReport) -> Job:
        """A running job: ended, lost, timed out, cancelled, or still running (saved only when that changed it)."""
        attempt, now, before = job.current, time.time(), job
        if attempt.host not in seen.hosts and attempt.host not in seen.unreachable:
            return await self._end(job, "cancelled" if job.cancel_requested else "lost", report,
                                   reason=f"{attempt.host} is no longer in the inventory")
        if attempt.host in seen.unreachable:
            job = unanswered(job, now)
            silent = now - job.current.unanswered_since
            if silent >= self.inventory.control.down_after:
                return await self._end(job, "cancelled" if job.cancel_requested else "lost", report,
                                       reason=f"{attempt.host} has not answered for {silent:.0f} s")
            if job != before:
                await self.book.save(job)
            return job
        job = answered(job)
        container = seen.hosts[attempt.host].container(attempt.container)
        if container is None:
            return await self._end(job, "cancelled" if job.cancel_requested else "lost", report,
                                   reason=f"its container is gone from {attempt.host}")
        stopped = None
        if not container.ended:
            stopped = _why_stop(job, now)
            if stopped is None:
                if job != before:
                    await self.book.save(job)
                return job
            await self._run(attempt.host, kill_argv(attempt.container))
        return await self._collect(job, container, report, stopped)

    async def _collect(self, job: Job, container: JobContainer, report: DispatchReport, stopped: str | None) -> Job:
        """Keep the attempt's output, remove its container, record how it ended (``stopped``: kob killed it)."""
        attempt = job.current
        output = await self._run(attempt.host, collect_argv(attempt.container, LOG_KEPT))
        report.collected.add((attempt.host, attempt.container))
        await self.book.keep_log(job.id, attempt.number, output or "")
        exit_code = KILLED_EXIT if stopped else container.exit_code
        if not stopped and exit_code != 0 and _ran_into_timeout(job, container):
            stopped = f"timed out after {job.timeout:g} s (stopped on {attempt.host})"
        if job.cancel_requested:
            outcome, reason = "cancelled", "cancelled while running" if stopped else f"cancelled; it had ended with exit {exit_code}"
        elif stopped:
            outcome, reason = "failed", stopped
        elif exit_code == 0:
            outcome, reason = "succeeded", "exit 0"
        else:
            outcome, reason = "failed", f"exit {exit_code}" + (" (out of memory)" if container.oom_killed else "")
        return await self._end(job, outcome, report, exit_code=exit_code, reason=reason,
                               docker_started=container.started_at,
                               docker_finished=container.finished_at if container.ended else None)

    async def _end(self, job: Job, outcome: str, report: DispatchReport, **details) -> Job:
        now = time.time()
        retry_at = next_try(len(job.attempts), job.retries, job.backoff, now) if outcome in ("failed", "lost") else None
        job = ended(job, outcome, now, retry_at=retry_at, **details)
        await self.book.save(job)
        attempt = job.attempts[-1]
        then = f"; retry {attempt.number + 1} of {job.retries + 1} in {retry_at - now:.0f} s" if retry_at else ""
        line = f"job {job.id} ({job.name}) on {attempt.host}: {outcome} ({attempt.reason}){then}"
        report.ended.append(line)
        self.say(line)
        await self.events.add("job", line, job=job.id)
        return job

    async def _bring_images(self, placed: list[tuple[Job, str]], seen: JobsSeen) -> dict[int, str]:
        """Ship the images of the jobs about to start to the hosts that lack them; job id → why its image is not
        there (those jobs fail to start)."""
        if not placed:
            return {}
        refs = sorted({job.image for job, _ in placed})
        on_manager = await manager_image_ids(refs)
        sources: dict[str, ImageSource] = {}
        problems: dict[str, str] = {}
        for ref in refs:
            users = ", ".join(f"job {job.id}" for job, _ in placed if job.image == ref)
            found = image_source(ref, users, seen.hosts, on_manager)
            if isinstance(found, ImageSource):
                sources[ref] = found
            else:
                problems[ref] = found
        wanted: dict[str, list[str]] = {}
        for job, host in placed:
            if job.image in sources:
                wanted.setdefault(host, []).append(job.image)
        missing = lacking(wanted, seen.hosts, sources)
        shipment = await ship_to_each(self.pool, self.inventory, seen, missing, self.say)
        not_sent = {host: f"its image could not be sent to {host}: {why}" for host, why in shipment.failed.items()}
        unready = {job.id: problems.get(job.image) or not_sent.get(host) for job, host in placed}
        return {job_id: why for job_id, why in unready.items() if why}

    async def _start(self, job: Job, host: str, report: DispatchReport, unready: str | None = None) -> None:
        """Start an attempt on ``host``; ``unready``: why it cannot start (it fails at once, with that reason)."""
        number, me = len(job.attempts) + 1, await self.owner_label()
        job = started(job, host, container_name(me, job.id, number), time.time())
        await self.book.save(job)  # first: a dispatcher killed now leaves a job the next pass finds lost
        failure = unready
        try:
            env = job_environment(job, self.inventory) if failure is None else None
        except KobError as error:
            failure = str(error)
        if failure is None:
            argv = start_job_argv(run_job_argv(me, job.id, number, job.image, job.command, job.cpus, job.memory,
                                               env_from_stdin=bool(env.content)), job.timeout)
            try:
                result = await self.pool.run(ssh_target(self.inventory, self.inventory.host(host)), argv,
                                             input=env.content or None)
                refused = None if result.ok else (result.stderr.strip().splitlines() or ["no output"])[-1]
            except TransportError as error:
                refused = str(error)
            failure = f"docker run failed: {refused}" if refused else None
        if failure:
            await self._end(job, "failed", report, reason=failure)
            return
        line = f"job {job.id} ({job.name}) started on {host} (attempt {number})"
        report.started.append(line)
        self.say(line)
        await self.events.add("job", line, job=job.id)

    async def _remove_orphans(self, seen: JobsSeen, jobs: list[Job], collected: set[tuple[str, str]]) -> None:
        """Job containers no running attempt owns (a lost attempt's host came back): keep their output, remove.

        ``collected``: (host, container) of attempts that ended in this pass; their output is kept already."""
        owned = {(j.current.host, j.current.container) for j in jobs if j.state == "running"} | collected
        for host, found in seen.hosts.items():
            for container in found.containers:
                if (host, container.name) in owned:
                    continue
                output = await self._run(host, collect_argv(container.name, LOG_KEPT))
                if output is not None and await self.book.log(container.job_id, container.attempt) is None:
                    await self.book.keep_log(container.job_id, container.attempt, output)

    async def _run(self, host: str, argv: list[str]) -> str | None:
        """stdout of a command on a host; None when the host did not answer."""
        try:
            return (await self.pool.run(ssh_target(self.inventory, self.inventory.host(host)), argv)).stdout
        except TransportError as error:
            self.say(f"! {error}")
            return None


def _why_stop(job: Job, now: float) -> str | None:
    """Why a running attempt must be stopped now, if it must."""
    if job.cancel_requested:
        return "cancelled"
    if job.timeout is not None and now - job.current.started > job.timeout:
        return f"timed out after {job.timeout:g} s"
    return None


def _ran_into_timeout(job: Job, container: JobContainer) -> bool:
    """Whether the container ran until its timeout (so its host's watchdog stopped it), by docker's own clock."""
    if job.timeout is None:
        return False
    started_at, finished_at = docker_instant(container.started_at), docker_instant(container.finished_at)
    return started_at is not None and finished_at is not None and finished_at - started_at >= job.timeout - 0.5


def docker_instant(text: str) -> float | None:
    """Unix time of docker's RFC 3339 times (nanoseconds cut to microseconds); None for docker's zero time."""
    match = re.fullmatch(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(\.\d+)?(Z|[+-]\d\d:\d\d)", text.strip())
    if match is None or match[1].startswith("0001-"):
        return None
    fraction = (match[2] or ".0")[:7]
    zone = "+00:00" if match[3] == "Z" else match[3]
    return datetime.fromisoformat(match[1] + fraction + zone).timestamp()


async def _same(job: Job) -> Job:
    return job
