"""The inventory's lb: section: which hosts run HAProxy and where it sends requests.

    lb:                             # optional; absent means no load balancer
      hosts: lb                     # a host pattern; default lb (the hosts with the lb role);
                                    # it must select at least one host
      balance: roundrobin           # roundrobin | leastconn | source
      frontends:                    # required; name -> frontend; at least one
        http:                       # named like a service
          bind: 80                  # 1..65535; each frontend its own port
          default: web              # a service; optional if routes: are given
          routes:                   # optional; first match wins, then default:
            - {host: api.example.com, service: api}   # a DNS name, without port
            - {path: /api, service: api}              # a URL path prefix
            - {host: example.com, path: /v2, service: api}   # both must match
          tls: {cert: site.pem}     # optional: HTTPS on bind:, see kob.spec.tls (redirect_http, http2)
      # How requests keep away from a replica that fails (all optional; the defaults suit a LAN):
      retries: 3                    # 0..10; a request whose connection failed is tried again on
                                    # another replica, this many times at most
      retry_methods: [GET, HEAD, OPTIONS]   # a request already sent that the replica closed without
                                    # answering is sent to another one only with these methods;
                                    # idempotent ones only (also PUT, DELETE, TRACE); [] never
      connect_timeout: 1s           # a duration, at most 1m: a connect slower than this is a failure
      checks:                       # HAProxy's health checks of every replica (GET of the service's
                                    # healthcheck http: path, else a TCP connect)
        interval: 2s                # 100ms..1h; 500ms (or interval, if shorter) once a check or a
                                    # request failed; a replica a request could not connect to
                                    # leaves rotation at the next failed check, about 500ms later
        fall: 2                     # 1..10 failed checks in a row take a replica out of rotation
        rise: 2                     # 1..10 passed checks in a row put it back

Every service named by a default: or a route must exist and have a port:.
A frontend needs a default:, routes:, or both.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Mapping, get_args

from kob.errors import PatternError
from kob.spec.inventory_model import Inventory
from kob.spec.patterns import select_hosts
from kob.spec.service_model import (DEFAULT_FAILOVER, HOST_PORTS, Balance, Failover, Frontend, LoadBalancer, Route,
                                    Service)
from kob.spec.tls import TLS_KEYS, read_tls
from kob.spec.services import check_service_name, host_pattern, url_path
from kob.spec.yaml_source import Node, Record, did_you_mean

LB_KEYS = ("hosts", "balance", "frontends", "retries", "retry_methods", "connect_timeout", "checks")
CHECK_KEYS = ("interval", "fall", "rise")
IDEMPOTENT_METHODS = ("GET", "HEAD", "OPTIONS", "TRACE", "PUT", "DELETE")  # RFC 9110, 9.2.2
FRONTEND_KEYS = ("bind", "default", "routes", "tls")
ROUTE_KEYS = ("host", "path", "service")
DEFAULT_HOSTS = LoadBalancer.hosts

_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_DNS_NAME = re.compile(rf"(?=.{{1,253}}$){_LABEL}(?:\.{_LABEL})*")


def read_lb(node: Node | None, inventory: Inventory, services: tuple[Service, ...]) -> LoadBalancer | None:
    """The lb: section, or None when there is none; ``services`` are the ones already read."""
    if node is None:
        return None
    lb = node.record(LB_KEYS)
    hosts = lb.get("hosts")
    return LoadBalancer(
        hosts=host_pattern(hosts, inventory) if hosts is not None else _default_hosts(node, inventory),
        balance=lb.get_str("balance", default=LoadBalancer.balance, choices=get_args(Balance)),
        frontends=_frontends(lb.require("frontends"), {service.name: service for service in services},
                             inventory.path.parent),
        failover=_failover(lb),
    )


def _failover(lb: Record) -> Failover:
    default = DEFAULT_FAILOVER
    interval, fall, rise = _checks(lb.get("checks"), default)
    return Failover(
        retries=lb.get_int("retries", default=default.retries, min=0, max=10),
        retry_methods=_retry_methods(lb.get("retry_methods"), default.retry_methods),
        connect_timeout=lb.get_duration("connect_timeout", default=default.connect_timeout, min=0.001, max=60),
        check_interval=interval, check_fall=fall, check_rise=rise,
    )


def _checks(node: Node | None, default: Failover) -> tuple[float, int, int]:
    """interval, fall and rise of HAProxy's health checks."""
    if node is None:
        return default.check_interval, default.check_fall, default.check_rise
    checks = node.record(CHECK_KEYS)
    return (checks.get_duration("interval", default=default.check_interval, min=0.1, max=3600),
            checks.get_int("fall", default=default.check_fall, min=1, max=10),
            checks.get_int("rise", default=default.check_rise, min=1, max=10))


def _retry_methods(node: Node | None, default: tuple[str, ...]) -> tuple[str, ...]:
    if node is None:
        return default
    methods: list[str] = []
    for item in node.as_list(expected="a list of HTTP methods such as [GET, HEAD, OPTIONS]"):
        method = item.as_str()
        if method.upper() in ("POST", "PATCH", "CONNECT"):
            raise item.error(f"{method} is not idempotent: a replica may have acted on it before it closed, and "
                             f"sending it again could do it twice; list only {', '.join(IDEMPOTENT_METHODS)}")
        if method not in IDEMPOTENT_METHODS:
            raise item.error(f"should be one of {', '.join(IDEMPOTENT_METHODS)} (in capitals), got {method!r}")
        if method not in methods:
            methods.append(method)
    return tuple(methods)


def _default_hosts(node: Node, inventory: Inventory) -> str:
    try:
        select_hosts(inventory, DEFAULT_HOSTS)
    except PatternError:
        raise node.error(
            f"no host has the {DEFAULT_HOSTS!r} role; add roles: [{DEFAULT_HOSTS}] to the hosts that should run "
            "HAProxy, or name them in hosts: here"
        ) from None
    return DEFAULT_HOSTS


def _frontends(node: Node, services: Mapping[str, Service], base: Path) -> tuple[Frontend, ...]:
    entries = node.entries(expected="a mapping of frontend names to their settings")
    if not entries:
        raise node.error("no frontends; add at least one, e.g. http: {bind: 80, default: web}")
    frontends: list[Frontend] = []
    bound: dict[int, tuple[str, int]] = {}
    for name, value in entries:
        check_service_name(value, name, "frontend")
        frontend = value.record(FRONTEND_KEYS)
        bind = _port(frontend.require("bind"), bound, name, value.line)
        tls = read_tls(frontend.require("tls"), base) if "tls" in frontend else None
        if tls is not None and tls.redirect_http is not None:
            _port(frontend.require("tls").record(TLS_KEYS).require("redirect_http"), bound, name, value.line,
                  tls.redirect_http)
        default = frontend.get("default")
        default_service = _target(default, services) if default is not None else None
        routes = _routes(frontend.get("routes"), services)
        if default_service is None and not routes:
            raise value.error(f"frontend {name!r} sends requests nowhere; give it default: a service, or routes:")
        frontends.append(Frontend(name=name, bind=bind, routes=routes, default_service=default_service, tls=tls))
    return tuple(frontends)


def _port(node: Node, bound: dict[int, tuple[str, int]], name: str, line: int, port: int | None = None) -> int:
    """A port the frontend ``name`` listens on: outside kob's host ports and no other frontend's."""
    if port is None:
        port = node.as_int(min=1, max=65535)
    if port in HOST_PORTS:
        raise node.error(f"port {port} is in {HOST_PORTS.start}-{HOST_PORTS.stop - 1}, where kob publishes replicas; "
                         "choose a port outside it")
    if port in bound:
        other, other_line = bound[port]
        raise node.error(f"port {port} is already bound by frontend {other} (line {other_line}); give each frontend "
                         "its own port")
    bound[port] = (name, line)
    return port


def _routes(node: Node | None, services: Mapping[str, Service]) -> tuple[Route, ...]:
    routes: list[Route] = []
    seen: dict[tuple[str | None, str | None], int] = {}
    for index, item in enumerate(node.as_list(expected="a list of routes such as {path: /api, service: api}")
                                 if node else []):
        route = item.record(ROUTE_KEYS)
        host = _route_host(route.get("host"))
        path = url_path(route.get("path")) if "path" in route else None
        if host is None and path is None:
            raise item.error("give host:, path: or both, to say which requests go to this route's service")
        service = _target(route.require("service"), services)
        key = (host.lower() if host else None, path)
        if key in seen:
            raise item.error(f"routes[{seen[key]}] already takes these requests (same host and path); remove one")
        seen[key] = index
        routes.append(Route(service=service, host=host, path_prefix=path))
    return tuple(routes)


def _route_host(node: Node | None) -> str | None:
    if node is None:
        return None
    host = node.as_str()
    if ":" in host and _DNS_NAME.fullmatch(host.rsplit(":", 1)[0]):
        raise node.error(f"{host!r} contains a port; the frontend's bind: is the port, so write the host alone")
    if not _DNS_NAME.fullmatch(host):
        raise node.error(f"{host!r} is not a valid host name; write a DNS name such as api.example.com")
    return host


def _target(node: Node, services: Mapping[str, Service]) -> str:
    """The name of a service the load balancer sends to: it must exist and have a port."""
    name = node.as_str()
    service = services.get(name)
    if service is None:
        where = did_you_mean(name, services) or ("" if services else "; add it under services:")
        raise node.error(f"no service named {name!r}{where}")
    if service.port is None:
        raise node.error(
            f"service {name!r} has no port; add port: to services/{name} (line {service.line}) "
            "so the load balancer knows where to send requests"
        )
    return name
