"""Parse the output of kob.commands.docker.observe_argv into typed observations (pure).

A host's observation keeps the asking inventory's containers (label ``kob.inventory`` equal to
its owner). Of everything else it keeps only what the inventory must step around: the host ports
other containers publish, and the containers an earlier kob started without an owner label
(``legacy``: never touched, until ``kob adopt`` takes them over).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Mapping

from kob.commands.docker import (CONTAINERS_MARK, FIELD_SEP, HAPROXY_MARK, IMAGES_MARK, LABEL_IMAGE, LABEL_INVENTORY,
                                 LABEL_PORT, LABEL_REPLICA, LABEL_REVISION, LABEL_SERVICE, LABEL_SPEC, PORTS_MARK)
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
    owner: str = ""  # its kob.inventory label; "" for a container of an earlier kob

    @property
    def running(self) -> bool:
        return self.state == "running"

    @property
    def serving(self) -> bool:
        """Running, and healthy where it has a health check."""
        return self.running and self.health in (None, "healthy")


@dataclass(frozen=True)
class HaproxyFact:
    """The inventory's own HAProxy on an lb host, what listens there, and the other kob HAProxies beside it."""

    config_digest: str | None  # sha256 of the config file, None when there is none
    running: bool
    structure_digest: str | None = None  # from the config's "# kob-structure:" line: all but its servers
    listeners: tuple[tuple[int, str], ...] | None = None  # (port, program or "?"); None when unknown
    others: tuple[tuple[str, tuple[int, ...]], ...] = ()  # (config file name, frontend ports) of other kob HAProxies
    certs: tuple[tuple[str, str], ...] | None = None  # (file name, sha256) of its TLS certificates; None: not asked

    def port_taken_by(self, port: int) -> str | None:
        """Who else holds ``port``: another kob HAProxy, another program ("?" when ss cannot tell); None if free."""
        for config, ports in self.others:
            if port in ports:
                return balancer_holder(config)
        for listening, program in self.listeners or ():
            if listening != port:
                continue
            if program == "haproxy" and not self.running:
                return "an HAProxy kob did not start for this inventory"
            if program != "haproxy" and not (program == "?" and self.running):
                return program
        return None


def balancer_holder(config: str) -> str:
    """Who the kob HAProxy of config file ``config`` belongs to, for messages."""
    if config.startswith("kob-") and config.endswith(".cfg"):
        return f"the load balancer of inventory {config[4:-4]}"
    return f"the load balancer of an earlier kob ({config}; `kob adopt INVENTORY` takes it over)"


@dataclass(frozen=True)
class HostObservation:
    host: str
    containers: tuple[ContainerFact, ...]
    images: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}), hash=False)  # ref → image ID
    haproxy: HaproxyFact | None = None
    busy_ports: frozenset[int] = frozenset()  # host ports that containers not of this inventory publish
    legacy: tuple[ContainerFact, ...] = ()  # started by an earlier kob, without an owner label

    def of_service(self, service: str) -> tuple[ContainerFact, ...]:
        return tuple(c for c in self.containers if c.service == service)

    def has_image(self, image_id: str) -> bool:
        return image_id in self.images.values()


def observation_fact(owner: str, haproxy: tuple[str, str] | None = None) -> Fact[HostObservation]:
    """The ``owner`` inventory's containers and every image on a host; with ``haproxy`` = (config path,
    pid file), its load balancer too."""
    return Fact("observing", tuple(observe_argv(haproxy=haproxy)),
                lambda host, output: parse_observation(host, output, owner))


def parse_observation(host: str, output: str, owner: str) -> HostObservation:
    """Read the sections the observe command prints, keeping ``owner``'s containers."""
    lines = output.splitlines()
    if not {CONTAINERS_MARK, IMAGES_MARK, PORTS_MARK} <= set(lines):
        raise ObservationError(f"{host}: unexpected output from the observe command: {output[:200]!r}")
    start, middle, ports = lines.index(CONTAINERS_MARK), lines.index(IMAGES_MARK), lines.index(PORTS_MARK)
    end = lines.index(HAPROXY_MARK) if HAPROXY_MARK in lines else len(lines)
    every = [_container(host, line) for line in lines[start + 1:middle] if line.strip()]
    images = {}
    for line in lines[middle + 1:ports]:
        if line.strip():
            image_id, _, ref = line.partition(FIELD_SEP)
            images[ref] = image_id
    haproxy = _haproxy(host, lines[end + 1:]) if end < len(lines) else None
    return HostObservation(host, tuple(c for c in every if c.owner == owner), MappingProxyType(images), haproxy,
                           _busy_ports(lines[ports + 1:end], owner), tuple(c for c in every if not c.owner))


def _busy_ports(lines: list[str], owner: str) -> frozenset[int]:
    """Host ports published by containers of other owners: "OWNER\t0.0.0.0:20001->80/tcp, :::20001->80/tcp"."""
    busy = set()
    for line in lines:
        label, _, published = line.partition(FIELD_SEP)
        if label != owner:
            for first, last in _PUBLISHED.findall(published):
                busy.update(range(int(first), int(last or first) + 1))
    return frozenset(busy)


_PUBLISHED = re.compile(r":(\d+)(?:-(\d+))?->")  # the host side of "0.0.0.0:20001->80/tcp" or of a range


def _haproxy(host: str, lines: list[str]) -> HaproxyFact:
    if len(lines) < 3 or lines[1] not in ("running", "stopped"):
        raise ObservationError(f"{host}: cannot read the HAProxy section {lines!r}")
    none_if = lambda text: None if text == "none" else text  # noqa: E731
    listeners = _listeners(host, lines[3]) if len(lines) > 3 else None
    others = _other_balancers(host, lines[4]) if len(lines) > 4 else ()
    certs = _cert_digests(host, lines[5]) if len(lines) > 5 else None
    return HaproxyFact(none_if(lines[0]), lines[1] == "running", none_if(lines[2]), listeners, others, certs)


def _cert_digests(host: str, line: str) -> tuple[tuple[str, str], ...]:
    """"https.pem:ab12... -" → (("https.pem", "ab12..."),)."""
    found = []
    for word in line.split():
        if word == "-":
            continue
        name, _, digest = word.rpartition(":")
        if not name or not re.fullmatch(r"[0-9a-f]{64}", digest):
            raise ObservationError(f"{host}: cannot read a certificate's digest {word[:80]!r}")
        found.append((name, digest))
    return tuple(sorted(found))


def _other_balancers(host: str, line: str) -> tuple[tuple[str, tuple[int, ...]], ...]:
    """"kob-b-1a2b.cfg:80,443 haproxy.cfg:8080 -" → (("kob-b-1a2b.cfg", (80, 443)), ("haproxy.cfg", (8080,)))."""
    found = []
    for word in line.split():
        if word == "-":
            continue
        config, _, ports = word.rpartition(":")
        if not config or not all(p.isdigit() for p in ports.split(",") if p):
            raise ObservationError(f"{host}: cannot read another load balancer's ports {word!r}")
        found.append((config, tuple(int(p) for p in ports.split(",") if p)))
    return tuple(found)


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
        restarts=_int(restarts), exit_code=_int(exit_code), owner=labels.get(LABEL_INVENTORY, ""))


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
