"""A job and its attempts, as kept in the store (pure).

States: queued → running → succeeded | failed | cancelled | lost; a failed or lost attempt
with retries left puts the job back to queued, not before its backoff.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from typing import Any

FINAL = ("succeeded", "failed", "cancelled", "lost")
ACTIVE = ("queued", "running")
DEFAULT_CPUS = 1.0  # what a job that declares no cpus reserves for placement


@dataclass(frozen=True)
class Attempt:
    number: int
    host: str
    container: str
    started: float  # when kob started it (manager clock)
    ended: float | None = None
    exit_code: int | None = None
    outcome: str | None = None  # succeeded | failed | lost | cancelled; None while running
    reason: str = ""
    unanswered_since: float | None = None  # its host has not answered since then
    docker_started: str | None = None  # the container's own StartedAt / FinishedAt (RFC 3339)
    docker_finished: str | None = None


@dataclass(frozen=True)
class Job:
    id: int
    name: str
    image: str
    command: tuple[str, ...]
    submitted: float
    who: str
    cpus: float | None = None
    memory: int | None = None
    retries: int = 0
    timeout: float | None = None
    backoff: float = 5.0
    priority: int = 0
    constraints: tuple[str, ...] = ()  # "zone==a" texts, as the inventory wrote them
    template: str | None = None  # the inventory's job template it came from: where its env: values are read
    env_names: tuple[str, ...] = ()  # the names of its env: (never the values: those stay in the inventory)
    env_file: str | None = None  # an absolute path on the manager, read when an attempt starts
    state: str = "queued"
    not_before: float = 0.0
    cancel_requested: bool = False
    attempts: tuple[Attempt, ...] = field(default_factory=tuple)

    @property
    def current(self) -> Attempt | None:
        """The attempt that runs now, if the job runs."""
        return self.attempts[-1] if self.attempts and self.state == "running" else None

    @property
    def reserved_cpus(self) -> float:
        return self.cpus if self.cpus is not None else DEFAULT_CPUS

    @property
    def exit_code(self) -> int | None:
        return self.attempts[-1].exit_code if self.attempts else None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Job":
        attempts = tuple(Attempt(**a) for a in data.get("attempts", ()))
        return cls(**{**data, "command": tuple(data["command"]), "constraints": tuple(data.get("constraints", ())),
                      "env_names": tuple(data.get("env_names", ())), "attempts": attempts})


def started(job: Job, host: str, container: str, now: float) -> Job:
    attempt = Attempt(len(job.attempts) + 1, host, container, now)
    return replace(job, state="running", attempts=(*job.attempts, attempt))


def ended(job: Job, outcome: str, now: float, *, exit_code: int | None = None, reason: str = "",
          retry_at: float | None = None, **docker_times: str | None) -> Job:
    """The current attempt ended with ``outcome``; queued again when ``retry_at`` is given."""
    last = replace(job.attempts[-1], ended=now, exit_code=exit_code, outcome=outcome, reason=reason, **docker_times)
    attempts = (*job.attempts[:-1], last)
    if retry_at is not None:
        return replace(job, state="queued", not_before=retry_at, attempts=attempts)
    return replace(job, state=outcome, attempts=attempts)


def unanswered(job: Job, since: float) -> Job:
    last = job.attempts[-1]
    if last.unanswered_since is not None:
        return job
    return replace(job, attempts=(*job.attempts[:-1], replace(last, unanswered_since=since)))


def answered(job: Job) -> Job:
    last = job.attempts[-1]
    if last.unanswered_since is None:
        return job
    return replace(job, attempts=(*job.attempts[:-1], replace(last, unanswered_since=None)))
