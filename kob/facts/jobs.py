"""Parse what the job observation printed (pure): capacity, job containers, running service replicas, images."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from kob.commands.docker import FIELD_SEP, IMAGES_MARK
from kob.commands.jobs import CAPACITY_MARK, JOBS_MARK, SERVICES_MARK, observe_jobs_argv
from kob.errors import ObservationError
from kob.facts.base import Fact


@dataclass(frozen=True)
class JobContainer:
    name: str
    job_id: int
    attempt: int
    state: str  # created | running | exited | dead ...
    exit_code: int
    started_at: str
    finished_at: str
    oom_killed: bool

    @property
    def ended(self) -> bool:
        return self.state in ("exited", "dead")


@dataclass(frozen=True)
class HostJobs:
    host: str
    cpus: int
    memory: int  # bytes
    containers: tuple[JobContainer, ...] = ()
    services: Counter = field(default_factory=Counter)  # service → running replicas
    images: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}), hash=False)  # ref → image ID

    def container(self, name: str) -> JobContainer | None:
        return next((c for c in self.containers if c.name == name), None)

    def has_image(self, image_id: str) -> bool:
        return image_id in self.images.values()


def jobs_fact(owner: str) -> Fact[HostJobs]:
    """A host's CPUs and memory, the ``owner`` inventory's job containers and service replicas there, its images."""
    return Fact("observing jobs", tuple(observe_jobs_argv(owner)), parse_host_jobs)


def parse_host_jobs(host: str, output: str) -> HostJobs:
    lines = output.splitlines()
    if not {CAPACITY_MARK, JOBS_MARK, SERVICES_MARK, IMAGES_MARK} <= set(lines):
        raise ObservationError(f"{host}: unexpected output from the job observation: {output[:200]!r}")
    capacity = lines[lines.index(CAPACITY_MARK) + 1:lines.index(JOBS_MARK)]
    jobs = lines[lines.index(JOBS_MARK) + 1:lines.index(SERVICES_MARK)]
    services = lines[lines.index(SERVICES_MARK) + 1:lines.index(IMAGES_MARK)]
    images = MappingProxyType(_images(lines[lines.index(IMAGES_MARK) + 1:]))
    try:
        cpus, memory_kb = int(capacity[0]), int(capacity[1])
    except (IndexError, ValueError):
        raise ObservationError(f"{host}: cannot read its CPU count and memory from {capacity!r}") from None
    return HostJobs(host, cpus, memory_kb * 1024, tuple(_container(host, line) for line in jobs if line.strip()),
                    Counter(line.strip() for line in services if line.strip()), images)


def _container(host: str, line: str) -> JobContainer:
    fields = line.split(FIELD_SEP)
    try:
        name, job, attempt, state, exit_code, started, finished, oom = fields
        return JobContainer(name.lstrip("/"), int(job), int(attempt), state, int(exit_code), started, finished,
                            oom == "true")
    except ValueError:
        raise ObservationError(f"{host}: cannot read job container line {line!r}") from None


def _images(lines: list[str]) -> dict[str, str]:
    """ref → image ID from `docker image ls` lines in IMAGES_FORMAT, as the services' observation reads them."""
    images = {}
    for line in lines:
        if line.strip():
            image_id, _, ref = line.partition(FIELD_SEP)
            images[ref] = image_id
    return images
