"""What the Compose import makes of one service, before it is written as inventory entries."""

from __future__ import annotations

from dataclasses import dataclass, field

from kob.spec.compose_labels import Route
from kob.spec.compose_render import Entry
from kob.spec.yaml_source import Node


@dataclass
class Constraint:
    label: str
    equal: bool
    value: str
    node: Node



@dataclass
class Published:
    """A published port: an lb frontend bound to ``bind`` sending to the service."""

    bind: int
    node: Node


@dataclass
class ImportedService:
    name: str
    node: Node
    entries: list[Entry] = field(default_factory=list)
    port: int | None = None
    published: list[Published] = field(default_factory=list)
    constraints: list[Constraint] = field(default_factory=list)
    hostnames: list[Constraint] = field(default_factory=list)  # node.hostname==X: placement.hosts
    routes: list[Route] = field(default_factory=list)  # from Traefik labels
    global_mode: bool = False
    max_per_host: int | None = None
    env_file: str | None = None  # a path, as written in the inventory
    generated_env: str | None = None  # the content of <name>.env, to write beside the inventory
    env_file_comment: str = ""
