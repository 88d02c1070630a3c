"""The services and load balancer an inventory asks for, as frozen dataclasses.

Loaded by kob.spec.services from the inventory's ``services:`` and ``lb:``
sections. Secrets never live here: an ``env_file`` is only a path, read on the
manager when containers start.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Literal, Mapping

from kob.spec.tls_model import FrontendTls

Strategy = Literal["spread", "least-loaded"]
UpdateOrder = Literal["start-first", "stop-first"]
FailureAction = Literal["rollback", "pause"]
Balance = Literal["roundrobin", "leastconn", "source"]


def _empty() -> Mapping[str, str]:
    return MappingProxyType({})


@dataclass(frozen=True)
class HealthCheck:
    """Either an HTTP GET on the container port (2xx/3xx is healthy) or a command run inside the container."""

    http_path: str | None = None
    command: tuple[str, ...] | None = None
    interval: float = 2.0
    timeout: float = 2.0
    retries: int = 3
    start_period: float = 0.0


@dataclass(frozen=True)
class Resources:
    cpus: float | None = None
    memory: int | None = None  # bytes


@dataclass(frozen=True)
class Constraint:
    """``zone==a`` or ``zone!=b`` on a host label; ``role==lb`` tests the host's roles."""

    label: str
    equal: bool
    value: str

    def allows(self, labels: Mapping[str, str], roles: tuple[str, ...]) -> bool:
        present = self.value in roles if self.label == "role" else labels.get(self.label) == self.value
        return present == self.equal


@dataclass(frozen=True)
class Placement:
    hosts: str = "all"  # a host pattern
    strategy: Strategy = "spread"
    constraints: tuple[Constraint, ...] = ()
    max_per_host: int | None = None


@dataclass(frozen=True)
class UpdatePolicy:
    parallelism: int = 1
    order: UpdateOrder = "start-first"
    failure_action: FailureAction = "rollback"
    monitor: float = 5.0  # seconds a new replica must stay healthy


@dataclass(frozen=True)
class Autoscale:
    """Keep the replica count between min and max so that average use stays near the targets.

    ``cpu`` is a percentage of the service's ``resources.cpus`` (of one CPU when unset);
    ``memory`` a percentage of ``resources.memory``. At least one of them is set.
    """

    min: int
    max: int
    cpu: float | None = None
    memory: float | None = None
    tolerance: float = 0.1
    scale_up_window: float = 0.0  # seconds
    scale_down_window: float = 300.0  # seconds
    max_step: int | None = None  # replicas added or removed per pass; None: no limit

    def clamp(self, replicas: int) -> int:
        return max(self.min, min(self.max, replicas))


@dataclass(frozen=True)
class Volume:
    source: str  # a host path (absolute) or a named volume
    target: str  # absolute path in the container
    read_only: bool = False


@dataclass(frozen=True)
class Service:
    name: str
    image: str
    replicas: int = 1
    port: int | None = None  # the container port HAProxy sends to
    command: tuple[str, ...] | None = None
    env: Mapping[str, str] = field(default_factory=_empty, hash=False)
    env_file: Path | None = None
    volumes: tuple[Volume, ...] = ()
    healthcheck: HealthCheck | None = None
    resources: Resources = field(default_factory=Resources)
    restart: str = "unless-stopped"  # no | always | unless-stopped | on-failure[:N]
    placement: Placement = field(default_factory=Placement)
    update: UpdatePolicy = field(default_factory=UpdatePolicy)
    autoscale: Autoscale | None = None
    line: int = field(default=0, compare=False)


HOST_PORTS = range(20000, 30000)  # where kob publishes replicas on their hosts


@dataclass(frozen=True)
class Route:
    """Requests whose Host header and/or path prefix match go to ``service``."""

    service: str
    host: str | None = None
    path_prefix: str | None = None


@dataclass(frozen=True)
class Frontend:
    name: str
    bind: int
    routes: tuple[Route, ...] = ()
    default_service: str | None = None
    tls: FrontendTls | None = None  # HTTPS on bind:, with the certificate read on the manager

    def ports(self) -> tuple[int, ...]:
        """Every port the frontend listens on: bind:, and tls.redirect_http's."""
        redirect = self.tls.redirect_http if self.tls else None
        return (self.bind,) + ((redirect,) if redirect is not None else ())


@dataclass(frozen=True)
class Failover:
    """How HAProxy keeps requests away from a replica that fails: retries elsewhere, and health checks.

    A request whose connection failed goes to another replica (up to ``retries`` times); one already
    sent that a replica closed without answering is sent again only if its method is in
    ``retry_methods`` (idempotent methods only: sending it twice must do no harm).
    """

    retries: int = 3
    retry_methods: tuple[str, ...] = ("GET", "HEAD", "OPTIONS")
    connect_timeout: float = 1.0  # s
    check_interval: float = 2.0  # s, between health checks of a replica that passes them
    check_fall: int = 2  # failed checks in a row that take a replica out of rotation
    check_rise: int = 2  # passed checks in a row that put it back


DEFAULT_FAILOVER = Failover()

@dataclass(frozen=True)
class LoadBalancer:
    hosts: str = "lb"  # a host pattern; by default the hosts with the lb role
    balance: Balance = "roundrobin"
    frontends: tuple[Frontend, ...] = ()
    failover: Failover = DEFAULT_FAILOVER
