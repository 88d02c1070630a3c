"""Where queued batch jobs run now, and when a failed one may try again.

Pure: the caller passes each host's room (its capacity and what running jobs and service replicas
reserve), the queue and the time. :func:`schedule` says where each job starts and why the others
wait; :func:`place` is its placements alone.

Jobs are taken by priority (highest first), then in the order they were submitted. Each job goes
to the host with the most free capacity after placing it, preferring hosts it did not fail or get
lost on before. A job that does not fit waits while smaller ones behind it may start, except that
a job never takes room on a host where a job of higher priority waits for room.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Literal

from kob.spec.service_model import Constraint

EPSILON = 1e-9  # float noise: three 0.1-CPU jobs fill a 0.3-CPU host
WaitCause = Literal["backoff", "constraints", "too-big", "room", "held"]


@dataclass(frozen=True)
class QueuedJob:
    id: int
    priority: int
    submitted: float  # unix seconds
    cpus: float  # the reservation (callers pass 1.0 for a job that declared none)
    memory: int | None  # bytes; None: reserves no memory
    constraints: tuple[Constraint, ...] = ()
    not_before: float = 0.0  # retry backoff: not placed before this time
    avoid: frozenset[str] = frozenset()  # hosts where it was lost or failed: placed elsewhere when any other host fits


@dataclass(frozen=True)
class HostRoom:
    """A host's capacity for jobs right now."""

    name: str
    cpus: float  # total CPUs (declared in the inventory, else sampled)
    memory: int | None  # total bytes; None: unknown, so memory does not limit placement on it
    used_cpus: float  # reserved by running jobs and service replicas
    used_memory: int
    labels: Mapping[str, str] = field(default_factory=dict)
    roles: tuple[str, ...] = ()

    @property
    def free_cpus(self) -> float:
        return self.cpus - self.used_cpus

    @property
    def free_memory(self) -> int | None:
        return None if self.memory is None else self.memory - self.used_memory

    def allows(self, job: QueuedJob) -> bool:
        return all(c.allows(self.labels, self.roles) for c in job.constraints)

    def could_hold(self, job: QueuedJob) -> bool:
        """Whether the job fits once the host is empty."""
        return _fits(self.cpus, self.memory, job)

    def has_room(self, job: QueuedJob) -> bool:
        return _fits(self.free_cpus, self.free_memory, job)

    def reserve(self, job: QueuedJob) -> HostRoom:
        return replace(self, used_cpus=self.used_cpus + job.cpus, used_memory=self.used_memory + (job.memory or 0))


@dataclass(frozen=True)
class Placement:
    job_id: int
    host: str
    reason: str  # one line for people


@dataclass(frozen=True)
class Waiting:
    job_id: int
    reason: str  # one line for people
    cause: WaitCause  # "room" and "held" (for a higher priority) hold hosts for the priorities below; the others do not


@dataclass(frozen=True)
class Schedule:
    placed: tuple[Placement, ...]  # in queue order
    waiting: tuple[Waiting, ...]  # in queue order


def schedule(queue: Sequence[QueuedJob], rooms: Sequence[HostRoom], now: float) -> Schedule:
    """Where each job of the queue starts now, and why the others wait. Host names are unique."""
    state = {room.name: room for room in rooms}
    held: list[tuple[QueuedJob, frozenset[str]]] = []  # jobs waiting for room, with the hosts that could hold them
    placed: list[Placement] = []
    waiting: list[Waiting] = []
    for job in sorted(queue, key=lambda j: (-j.priority, j.submitted, j.id)):
        outcome, waits_on = _decide(job, list(state.values()), held, now)
        if isinstance(outcome, Placement):
            placed.append(outcome)
            state[outcome.host] = state[outcome.host].reserve(job)
        else:
            waiting.append(outcome)
            if waits_on:
                held.append((job, waits_on))
    return Schedule(tuple(placed), tuple(waiting))


def place(queue: Sequence[QueuedJob], rooms: Sequence[HostRoom], now: float) -> list[Placement]:
    """The jobs to start now and their hosts; see :func:`schedule` for why the others wait."""
    return list(schedule(queue, rooms, now).placed)


def next_try(attempts_made: int, retries: int, backoff: float, ended: float, cap: float = 300.0) -> float | None:
    """When the next attempt may start, or None when no retry is left.

    ``attempts_made`` counts the attempt that just ended at ``ended``: the first retry waits
    ``backoff`` seconds, each later one twice as long as the one before, never more than ``cap``.
    """
    if attempts_made < 1:
        raise ValueError(f"attempts_made is {attempts_made}; it counts the attempt that ended, so at least 1")
    if attempts_made > retries:
        return None
    return ended + min(cap, backoff * 2.0 ** min(attempts_made - 1, 1000))


def _fits(cpus: float, memory: int | None, job: QueuedJob) -> bool:
    return cpus >= job.cpus - EPSILON and (memory is None or job.memory is None or memory >= job.memory)


def _decide(job: QueuedJob, rooms: list[HostRoom], held: list[tuple[QueuedJob, frozenset[str]]],
            now: float) -> tuple[Placement | Waiting, frozenset[str]]:
    """The job's placement or why it waits, and the hosts it holds for the priorities below it."""
    if job.not_before > now:
        return Waiting(job.id, f"backoff: next try in {_seconds(job.not_before - now)}", "backoff"), frozenset()
    allowed = [room for room in rooms if room.allows(job)]
    if not allowed:
        why = f"no host satisfies {_rules(job.constraints)}" if job.constraints else "no host to run on"
        return Waiting(job.id, why, "constraints"), frozenset()
    capable = [room for room in allowed if room.could_hold(job)]
    if not capable:
        return Waiting(job.id, _shortfall(job, allowed, free=False), "too-big"), frozenset()
    waits_on = frozenset(room.name for room in capable)
    roomy = [room for room in capable if room.has_room(job)]
    blockers = {room.name: _blocker(job, room.name, held) for room in roomy}
    open_rooms = [room for room in roomy if blockers[room.name] is None]
    if open_rooms:
        return _placement(job, open_rooms), frozenset()
    if roomy:
        first = min((b for b in blockers.values() if b), key=lambda b: (-b.priority, b.submitted, b.id))
        hosts = ", ".join(sorted(blockers))
        return Waiting(job.id, f"held for job {first.id} (priority {first.priority}), which waits for room on "
                               f"{hosts}", "held"), waits_on
    return Waiting(job.id, _shortfall(job, allowed, free=True), "room"), waits_on


def _blocker(job: QueuedJob, host: str, held: list[tuple[QueuedJob, frozenset[str]]]) -> QueuedJob | None:
    """The first job of higher priority that waits for room on the host."""
    return next((other for other, hosts in held if other.priority > job.priority and host in hosts), None)


def _placement(job: QueuedJob, rooms: list[HostRoom]) -> Placement:
    preferred = [room for room in rooms if room.name not in job.avoid] or rooms
    best = min(preferred, key=lambda room: _rank(room, job))
    after = best.reserve(job)
    reason = f"most free: {_cpus(after.free_cpus)} of {_cpus(best.cpus)} left"
    if best.memory is not None:
        reason += f", {_size(after.free_memory or 0)} of {_size(best.memory)} memory"
    skipped = sorted(room.name for room in rooms if room.name in job.avoid)
    if best.name in job.avoid:
        reason += f"; it failed or was lost on {best.name} before, but no other host has room"
    elif skipped:
        reason += f"; avoids {', '.join(skipped)}, where it failed or was lost before"
    return Placement(job.id, best.name, reason)


def _rank(room: HostRoom, job: QueuedJob) -> tuple[float, float, str]:
    """Smallest first: the most free CPUs, then memory, as a share of the host once the job runs; then the name.

    A host whose memory is unknown ranks after one with known free memory at the same CPU share. CPU
    shares are rounded so that float noise ties; memory shares, ints divided, need not be.
    """
    after = room.reserve(job)
    cpu_share = after.free_cpus / room.cpus if room.cpus > 0 else 0.0
    memory_share = after.free_memory / room.memory if after.free_memory is not None and room.memory else -math.inf
    return -round(cpu_share, 9), -memory_share, room.name


def _shortfall(job: QueuedJob, rooms: list[HostRoom], free: bool) -> str:
    """Why none of the rooms holds the job: its CPUs, its memory, or both at once, with the closest host."""
    word, best = ("free", "most free") if free else ("in total", "largest")
    have = [(room.name, room.free_cpus, room.free_memory) if free else (room.name, room.cpus, room.memory)
            for room in rooms]
    name, cpus, _ = min(have, key=lambda h: (-h[1], h[0]))
    if cpus < job.cpus - EPSILON:
        return f"no host has {_cpus(job.cpus)} {word} ({best}: {name} {_cpus(cpus)})"
    # so the job's memory is known, and so is that of every host with enough CPUs, and short there
    need = job.memory or 0
    name, _, memory = min(((n, c, m) for n, c, m in have if m is not None), key=lambda h: (-(h[2] or 0), h[0]))
    if (memory or 0) < need:
        return f"no host has {_size(need)} memory {word} ({best}: {name} {_size(memory or 0)})"
    name, cpus, memory = min((h for h in have if h[1] >= job.cpus - EPSILON), key=lambda h: (-h[1], h[0]))
    return (f"no host has {_cpus(job.cpus)} and {_size(need)} memory {word} at once "
            f"(most CPUs: {name} {_cpus(cpus)} with {_size(memory or 0)})")


def _rules(constraints: tuple[Constraint, ...]) -> str:
    return ", ".join(f"{c.label}{'==' if c.equal else '!='}{c.value}" for c in constraints)


def _cpus(n: float) -> str:
    n = round(max(n, 0.0), 3)
    return f"{n:g} CPU" + ("" if n == 1 else "s")


def _size(n: int) -> str:
    """Bytes as 1.5G, 512M, 64K or 100B."""
    n = max(n, 0)
    unit, scale = next(((u, s) for u, s in (("G", 1 << 30), ("M", 1 << 20), ("K", 1 << 10)) if n >= s), ("B", 1))
    return f"{round(n / scale, 1):g}{unit}"


def _seconds(n: float) -> str:
    return f"{max(n, 0.1):.1f}s" if n < 10 else f"{n:.0f}s"
