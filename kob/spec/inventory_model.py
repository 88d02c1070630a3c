"""A loaded inventory as frozen dataclasses: hosts, ssh settings, control settings, job templates.

kob.spec.inventory reads the YAML into these; the section readers (services, lb, jobs,
patterns) import them from here, so that nothing in kob.spec imports the loader back.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING

from kob.errors import PatternError
from kob.spec.yaml_source import did_you_mean

if TYPE_CHECKING:  # only in annotations: an inventory without services never loads their model
    from kob.spec.service_model import Constraint, LoadBalancer, Service


def frozen_mapping(mapping: Mapping | None = None) -> Mapping:
    return MappingProxyType(dict(mapping or {}))


@dataclass(frozen=True)
class SshSettings:
    """How kob logs in, unless a host says otherwise. Timeouts in seconds."""

    user: str = "root"
    key: Path | None = None
    known_hosts: Path = field(default_factory=lambda: Path("~/.ssh/known_hosts").expanduser())
    connect_timeout: float = 10.0
    command_timeout: float = 300.0


@dataclass(frozen=True)
class Control:
    """How kob watches the cluster: how long samples are kept, when a silent host counts as down (seconds)."""

    retention: float = 3600.0
    down_after: float = 60.0


@dataclass(frozen=True)
class Host:
    """One VM. ``user`` and ``key`` are the effective ones (host's, else ssh:'s).

    ``cpus`` and ``memory`` (bytes) are the capacity jobs may reserve; None when not declared.
    """

    name: str
    address: str
    port: int = 22
    user: str = "root"
    key: Path | None = None
    roles: tuple[str, ...] = ()
    labels: Mapping[str, str] = field(default_factory=frozen_mapping, hash=False)
    cpus: float | None = None
    memory: int | None = None
    line: int = field(default=0, compare=False)


@dataclass(frozen=True)
class JobTemplate:
    """How to run one kind of job. Durations in seconds, memory in bytes; None: no limit."""

    name: str
    image: str
    command: tuple[str, ...] = ()  # empty: the image's own command
    cpus: float | None = None
    memory: int | None = None
    retries: int = 0
    timeout: float | None = None
    backoff: float = 5.0
    priority: int = 0
    constraints: tuple[Constraint, ...] = ()
    env: Mapping[str, str] = field(default_factory=frozen_mapping, hash=False)  # values as written
    env_file: Path | None = None  # only a path: read on the manager when an attempt starts
    line: int = field(default=0, compare=False)


@dataclass(frozen=True)
class Inventory:
    """A loaded inventory. ``path`` is as the user gave it (for messages)."""

    path: Path
    hosts: tuple[Host, ...]
    groups: Mapping[str, tuple[str, ...]] = field(default_factory=frozen_mapping, hash=False)
    ssh: SshSettings = field(default_factory=SshSettings)
    state_url: str = ""  # StateUrl.url: parse_state_url reads it back (open_store does)
    services: tuple[Service, ...] = ()
    lb: LoadBalancer | None = None
    jobs: tuple[JobTemplate, ...] = ()
    control: Control = field(default_factory=Control)

    def host(self, name: str) -> Host:
        for host in self.hosts:
            if host.name == name:
                return host
        hint = did_you_mean(name, [h.name for h in self.hosts])
        raise PatternError(f"no host named {name!r} in {self.path}{hint}")

    def service(self, name: str) -> Service:
        for service in self.services:
            if service.name == name:
                return service
        hint = did_you_mean(name, [s.name for s in self.services])
        raise PatternError(f"no service named {name!r} in {self.path}{hint}")

    def job(self, name: str) -> JobTemplate:
        for job in self.jobs:
            if job.name == name:
                return job
        if not self.jobs:
            raise PatternError(f"no job named {name!r} in {self.path}: it has no jobs: section; add one")
        names = [j.name for j in self.jobs]
        hint = did_you_mean(name, names)
        raise PatternError(f"no job named {name!r} in {self.path} (jobs: {', '.join(names)}){hint}")

    def with_role(self, role: str) -> tuple[Host, ...]:
        return tuple(host for host in self.hosts if role in host.roles)
