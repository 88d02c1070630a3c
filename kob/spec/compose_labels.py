"""A Compose service's labels (pure): kob sets its own container labels, so the only ones it takes are the
Traefik routers that fit its lb routes; every other label is a note.

    labels:
      - traefik.http.routers.api.rule=Host(`api.example.com`) && PathPrefix(`/v1`)
      - traefik.http.services.api.loadbalancer.server.port=8000

becomes a route {host: api.example.com, path: /v1, service: api} on the lb frontend that takes Traefik's
place (bound to the port Traefik published for its container port 80, else 80), and port: 8000 when the
service gives no other. A Traefik service itself is left out with a note: kob's HAProxy is its stand-in.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from kob.spec.compose_values import Values
from kob.spec.yaml_source import Node

_ROUTER_RULE = re.compile(r"traefik\.http\.routers\.[^.]+\.rule")
_SERVER_PORT = re.compile(r"traefik\.http\.services\.[^.]+\.loadbalancer\.server\.port")
_TERM = re.compile(r"\s*(Host|PathPrefix)\(\s*`([^`]*)`\s*\)\s*")
_HOST = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?")
_PATH = re.compile(r"/[A-Za-z0-9._~%!&()*+,;=:@/-]*")
TRAEFIK_IMAGE = re.compile(r"(?:.*/)?traefik(?:[:@].*)?")


@dataclass(frozen=True)
class Route:
    host: str | None
    path: str | None
    node: Node


@dataclass
class Labels:
    routes: list[Route]
    port: int | None


def read_labels(node: Node | None, values: Values) -> Labels:
    """The Traefik routes and server port of a service's labels; notes for the rest."""
    found = Labels([], None)
    left: list[str] = []
    for name, value, item in _pairs(node, values):
        if _ROUTER_RULE.fullmatch(name):
            route = _route(value, item, values)
            if route is not None:
                found.routes.append(route)
        elif _SERVER_PORT.fullmatch(name) and re.fullmatch(r"[0-9]{1,5}", value) and 0 < int(value) < 65536:
            found.port = int(value)
        elif name != "traefik.enable":
            left.append(name)
    if left and node is not None:
        values.note(node, f"kob sets its own container labels and has no place for others; left out: "
                          f"{', '.join(left[:8])}{' ...' if len(left) > 8 else ''}")
    return found


def _pairs(node: Node | None, values: Values) -> list[tuple[str, str, Node]]:
    if node is None:
        return []
    if node.kind == "list":
        return [(*values.text(item).partition("=")[::2], item) for item in node.as_list()]
    return [(name, values.text(value), value) for name, value in node.entries(expected="a list or a mapping")]


def _route(rule: str, node: Node, values: Values) -> Route | None:
    host = path = None
    for term in rule.split("&&"):
        match = _TERM.fullmatch(term)
        if match is None or (match[1] == "Host" and host) or (match[1] == "PathPrefix" and path):
            values.note(node, f"the Traefik rule {rule!r} is left out: kob routes by one Host(`...`) and/or one "
                              "PathPrefix(`...`) joined with &&")
            return None
        if match[1] == "Host":
            host = match[2]
        else:
            path = match[2]
    if (host is not None and not _HOST.fullmatch(host)) or (path is not None and not _PATH.fullmatch(path)):
        values.note(node, f"the Traefik rule {rule!r} is left out: kob routes DNS names and URL paths only")
        return None
    return Route(host, path, node)
