"""Host addresses and state-store URLs: pure checks that raise ValueError.

The message of each ValueError is written for the user; loaders attach the
file, line and key path (``raise node.error(str(error))``).
"""

from __future__ import annotations

import ipaddress
import os
import re
from pathlib import Path

_LABEL = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?")
_STATE_FORMS = "etcd://host:port[,host:port], http://host:port, sqlite:///absolute/path or a file path"


def canonical_address(text: str) -> str:
    """The canonical form of an IPv4/IPv6 literal or DNS name (for comparing two hosts)."""
    if text.startswith("[") and text.endswith("]"):
        raise ValueError(f"write IPv6 addresses without brackets: {text[1:-1]}")
    if "@" in text:
        raise ValueError(f"{text!r} contains '@'; put the user in user:, not in the address")
    if ":" in text:
        return _ipv6(text)
    try:
        return str(ipaddress.IPv4Address(text))
    except ValueError:
        pass
    labels = text[:-1].split(".") if text.endswith(".") else text.split(".")
    if all(label.isdigit() for label in labels):
        raise ValueError(f"{text!r} is not a valid IPv4 address")
    if len(text) > 253 or not all(_LABEL.fullmatch(label) for label in labels):
        raise ValueError(f"{text!r} is not a valid IP address or DNS name")
    return ".".join(labels).lower()


def _ipv6(text: str) -> str:
    try:
        return str(ipaddress.IPv6Address(text))
    except ValueError:
        pass
    host, _, port = text.rpartition(":")
    if port.isdigit() and ":" not in host:
        raise ValueError(f"{text!r} contains a port; write the address alone and put {port} in port:")
    raise ValueError(f"{text!r} is not a valid IPv6 address")


def check_endpoint(text: str) -> tuple[str, int]:
    """Split and check "host:port" (IPv6 as "[addr]:port")."""
    if text.startswith("["):
        host, sep, port = text[1:].partition("]:")
        if not sep:
            raise ValueError(f"{text!r} needs a port, like [{text.strip('[]')}]:2379")
    else:
        host, sep, port = text.rpartition(":")
        if not sep or ":" in host:
            raise ValueError(f"{text!r} needs a port, like {text}:2379")
    if not port.isdigit() or not 1 <= int(port) <= 65535:
        raise ValueError(f"{text!r} has a bad port; use a number from 1 to 65535")
    canonical_address(host)
    return host, int(port)


def resolve_state_url(text: str, folder: Path) -> str:
    """The state store URL: etcd and http kept as given, paths made sqlite:///absolute."""
    scheme, sep, rest = text.partition("://")
    if not sep:
        path = Path(text).expanduser()
        return "sqlite://" + os.path.abspath(path if path.is_absolute() else folder / path)
    scheme = scheme.lower()
    if scheme == "etcd":
        for endpoint in rest.split(","):
            _state_endpoint(endpoint)
    elif scheme in ("http", "https"):
        _state_endpoint(rest[:-1] if rest.endswith("/") else rest)
    elif scheme == "sqlite":
        if not rest.startswith("/"):
            raise ValueError(
                f"{text!r}: sqlite URLs need an absolute path, like sqlite:///var/lib/kob/state.db; "
                "or write a plain path relative to the inventory's folder"
            )
        return "sqlite://" + os.path.normpath(rest)
    else:
        raise ValueError(f"unsupported state URL {text!r}; use {_STATE_FORMS}")
    return f"{scheme}://{rest}"


def _state_endpoint(endpoint: str) -> None:
    if not endpoint:
        raise ValueError(f"empty endpoint in state URL; use {_STATE_FORMS}")
    try:
        check_endpoint(endpoint)
    except ValueError as error:
        raise ValueError(f"state URL endpoint {error}") from None
