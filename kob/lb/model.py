"""What kob wants HAProxy to do: frontends routing to backends of servers (frozen, pure)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from kob.commands.haproxy import ADMIN_SOCKET, haproxy_structure_digest, render_haproxy_config
from kob.spec.service_model import DEFAULT_FAILOVER, Balance, Failover
from kob.spec.tls_model import CertBundle


@dataclass(frozen=True)
class LbServer:
    """One replica behind a backend: HAProxy's server ``backend/name`` at address:port."""

    backend: str
    name: str
    address: str
    port: int


@dataclass(frozen=True)
class LbRoute:
    """Requests whose Host header and/or path prefix match go to ``backend``."""

    backend: str
    host: str | None = None
    path_prefix: str | None = None


@dataclass(frozen=True)
class LbTls:
    """HTTPS on a frontend's port: HAProxy reads ``cert`` from ``crt_path`` on the lb host."""

    crt_path: str
    cert: CertBundle  # its PEM is shipped to crt_path; only its path enters the config
    http2: bool = True
    redirect_port: int | None = None  # a plain-HTTP port answering 301 to https


@dataclass(frozen=True)
class LbFrontend:
    name: str
    bind_port: int
    routes: tuple[LbRoute, ...] = ()
    default_backend: str | None = None
    tls: LbTls | None = None


@dataclass(frozen=True)
class LbBackend:
    name: str
    balance: Balance = "roundrobin"
    health_path: str | None = None  # None: a TCP connect check
    servers: tuple[LbServer, ...] = ()

    def __post_init__(self) -> None:
        strays = [f"{s.backend}/{s.name}" for s in self.servers if s.backend != self.name]
        if strays:
            raise ValueError(f"backend {self.name!r} holds servers of another backend: {', '.join(strays)}")


@dataclass(frozen=True)
class LbConfig:
    frontends: tuple[LbFrontend, ...]
    backends: tuple[LbBackend, ...]
    admin_socket: str = ADMIN_SOCKET
    failover: Failover = DEFAULT_FAILOVER  # retries and health-check timing, the same for every backend

    def render(self) -> str:
        """The haproxy.cfg text; servers sorted by name, so their order never changes the digest."""
        return render_haproxy_config(*self._context(), admin_socket=self.admin_socket, failover=self.failover)

    def digest(self) -> str:
        """sha256 of the rendered text: what observe_argv reports for the installed file."""
        return hashlib.sha256(self.render().encode()).hexdigest()

    def structure_digest(self) -> str:
        """sha256 of the config without its servers: differs when only a reload can apply the change."""
        return haproxy_structure_digest(*self._context(), admin_socket=self.admin_socket, failover=self.failover)

    def certificates(self) -> tuple[LbTls, ...]:
        """The TLS frontends' certificates, each with the path HAProxy reads it from."""
        return tuple(f.tls for f in self.frontends if f.tls is not None)

    def servers(self) -> tuple[LbServer, ...]:
        return tuple(server for backend in self.backends for server in backend.servers)

    def _context(self) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        frontends = [{"name": f.name, "bind_port": f.bind_port, "default_backend": f.default_backend,
                      "routes": [{"backend": r.backend, "host": r.host, "path_prefix": r.path_prefix}
                                 for r in f.routes], "tls": _tls_context(f.tls)} for f in self.frontends]
        backends = [{"name": b.name, "balance": b.balance, "health_path": b.health_path,
                     "servers": [{"name": s.name, "address": s.address, "port": s.port, "disabled": False}
                                 for s in sorted(b.servers, key=lambda s: s.name)]} for b in self.backends]
        return frontends, backends


def _tls_context(tls: LbTls | None) -> dict[str, Any] | None:
    """The template's view of a TLS frontend: the certificate's path, never its content."""
    if tls is None:
        return None
    return {"crt": tls.crt_path, "alpn": "h2,http/1.1" if tls.http2 else "http/1.1",
            "redirect_port": tls.redirect_port}
