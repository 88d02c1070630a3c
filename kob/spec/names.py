"""Names users give to hosts, groups and roles (and later services)."""

from __future__ import annotations

import re

from kob.spec.yaml_source import Node

NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")
"""A name: starts with a letter or digit, then letters, digits, '_', '.' or '-'."""

RESERVED = frozenset({"all"})
"""Names that host patterns give a meaning of their own."""


def check_name(node: Node, name: str, what: str) -> str:
    """Refuse a malformed or reserved ``what`` name (host, group, role); errors at ``node``."""
    if name in RESERVED:
        raise node.error(f"{name!r} is reserved (it means every host); pick another {what} name")
    if not NAME.fullmatch(name):
        raise node.error(
            f"{name!r} is not a valid {what} name; use letters, digits, '_', '.' and '-', "
            "starting with a letter or digit"
        )
    return name
