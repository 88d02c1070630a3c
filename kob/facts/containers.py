"""Parse the output of kob.commands.docker.observe_argv into typed observations (pure)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Mapping

from kob.commands.docker import (CONTAINERS_MARK, FIELD_SEP, HAPROXY_MARK, IMAGES_MARK, LABEL_IMAGE, LABEL_PORT, LABEL_REPLICA,
                                 LABEL_REVISION, LABEL_SERVICE, LABEL_SPEC)
from kob.commands.docker import observe_argv
from kob.errors import ObservationError
from kob.facts.base import Fact


@dataclass(frozen=True)
class ContainerFact:
    id: str
    name: str
    service: str
    replica: int
    revision: int
    spec_hash: str
    host_port: int | None
    state: str  # created | running | restarting | exited | paused | dead
    health: str | None  # starting | healthy | unhealthy | None without a health check
    image_id: str
    image: str  # the reference it was started from (kob.image label)
    started_at: str
    restarts: int
    exit_code: int

    @property
    def running(self) -> bool:
        return self.state == "running"

    @property
    def serving(self) -> bool:
        """Running, and healthy where it has a health check."""
        return self.running and self.health in (None, "healthy")


@dataclass(frozen=True)
class HaproxyFact:
    config_digest: str | None  # sha256 of the config file, None when there is none
    running: bool
    structure_digest: str | None = None  # from the config's "# kob-structure:" line: all but its servers
    listeners: tuple[tuple[int, str], ...] | None = None  # (port, program or "?"); None when unknown

    def port_taken_by(self, port: int) -> str | None:
        """The program other than HAProxy listening on ``port``, "?" when ss cannot tell, else None."""
        for listening, program in self.listeners or ():
            if listening == port and program != "haproxy" and not (program == "?" and self.running):
                return program
        return None


@dataclass(frozen=True)
class HostObservation:
    host: str
    containers: tuple[ContainerFact, ...]
    images: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}), hash=False)  # ref → image ID
    haproxy: HaproxyFact | None = None

    def of_service(self, service: str) -> tuple[ContainerFact, ...]:
        return tuple(c for c in self.containers if c.service == service)

    def has_image(self, image_id: str) -> bool:
        return image_id in self.images.values()


def observation_fact(haproxy: tuple[str, str] | None = None) -> Fact[HostObservation]:
    """Every kob container and image on a host; with ``haproxy`` = (config path, pid file), its load balancer too."""
    return Fact("observing", tuple(observe_argv(haproxy=haproxy)), parse_observation)


def parse_observation(host: str, output: str) -> HostObservation:
    """Read the two sections the observe command prints."""
    lines = output.splitlines()
    if CONTAINERS_MARK not in lines or IMAGES_MARK not in lines:
        raise ObservationError(f"{host}: unexpected output from the observe command: {output[:200]!r}")
    start, middle = lines.index(CONTAINERS_MARK), lines.index(IMAGES_MARK)
    end = lines.index(HAPROXY_MARK) if HAPROXY_MARK in lines else len(lines)
    containers = tuple(_container(host, line) for line in lines[start + 1:middle] if line.strip())
    images = {}
    for line in lines[middle + 1:end]:
        if line.strip():
            image_id, _, ref = line.partition(FIELD_SEP)
            images[ref] = image_id
    haproxy = _haproxy(host, lines[end + 1:]) if end < len(lines) else None
    return HostObservation(host, containers, MappingProxyType(images), haproxy)


def _haproxy(host: str, lines: list[str]) -> HaproxyFact:
    if len(lines) < 3 or lines[1] not in ("running", "stopped"):
        raise ObservationError(f"{host}: cannot read the HAProxy section {lines!r}")
    none_if = lambda text: None if text == "none" else text  # noqa: E731
    listeners = _listeners(host, lines[3]) if len(lines) > 3 else None
    return HaproxyFact(none_if(lines[0]), lines[1] == "running", none_if(lines[2]), listeners)


def _listeners(host: str, line: str) -> tuple[tuple[int, str], ...] | None:
    """"22:sshd 8080:haproxy" → ((22, "sshd"), (8080, "haproxy")); "?" (no ss on the host) → None."""
    if line.strip() == "?":
        return None
    found = []
    for word in line.split():
        port, _, program = word.partition(":")
        if not port.isdigit():
            raise ObservationError(f"{host}: cannot read listening port {word!r}")
        found.append((int(port), program or "?"))
    return tuple(sorted(set(found)))


def _container(host: str, line: str) -> ContainerFact:
    fields = line.split(FIELD_SEP)
    if len(fields) != 9:
        raise ObservationError(f"{host}: cannot read container line {line[:200]!r}")
    cid, name, labels_json, state, health, image, started, restarts, exit_code = fields
    labels = json.loads(labels_json) or {}
    port = labels.get(LABEL_PORT)
    return ContainerFact(
        id=cid, name=name.lstrip("/"), service=labels.get(LABEL_SERVICE, ""),
        replica=_int(labels.get(LABEL_REPLICA)), revision=_int(labels.get(LABEL_REVISION)),
        spec_hash=labels.get(LABEL_SPEC, ""), host_port=int(port) if port and port.isdigit() else None,
        state=state, health=health or None, image_id=image, image=labels.get(LABEL_IMAGE, ""),
        started_at=started,
        restarts=_int(restarts), exit_code=_int(exit_code))


def _int(text: str | None) -> int:
    try:
        return int(text or 0)
    except ValueError:
        return 0


def parse_health(output: str) -> dict[str, tuple[str, str | None]]:
    """container id → (state, health or None) from health_argv's output."""
    states = {}
    for line in output.splitlines():
        parts = line.split()
        if len(parts) == 3:
            states[parts[0]] = (parts[1], None if parts[2] == "none" else parts[2])
    return states


@dataclass(frozen=True)
class LogLine:
    container_id: str
    timestamp: str  # RFC 3339 with nanoseconds, as docker logs --timestamps prints it
    text: str

    @property
    def sort_key(self) -> str:
        """The timestamp with its fraction padded to 9 digits (docker trims trailing zeros), so it sorts."""
        stamp = self.timestamp.rstrip("Z")
        seconds, _, fraction = stamp.partition(".")
        return f"{seconds}.{fraction:0<9}"


def parse_log_lines(output: str) -> list[LogLine]:
    """Lines of service_logs_argv: "ID TIMESTAMP TEXT"; a line without a timestamp keeps an empty one."""
    lines = []
    for raw in output.splitlines():
        cid, _, rest = raw.partition(" ")
        stamp, _, text = rest.partition(" ")
        if not stamp[:4].isdigit():
            stamp, text = "", rest
        lines.append(LogLine(cid, stamp, text))
    return lines
