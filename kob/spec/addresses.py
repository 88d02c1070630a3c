"""Host addresses: pure checks that raise ValueError.

The message of each ValueError is written for the user; loaders attach the
file, line and key path (``raise node.error(str(error))``).
"""

from __future__ import annotations

import ipaddress
import re

_LABEL = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?")


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
