"""Amounts an inventory declares for hosts, services and jobs: CPUs and memory sizes.

Kept apart from the service reader so that reading only an inventory's hosts (all `kob exec` needs)
does not load the service, load balancer and job models.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from kob.spec.yaml_source import Node

MIN_MEMORY = 6 * 1024 * 1024
"""docker run refuses a memory limit below 6 MiB."""
MAX_MEMORY = 1 << 40  # 1 TiB: more than any host of a small team has
MAX_CPUS = 1024.0

_MEMORY = re.compile(r"([0-9]+)([bkmg]?)", re.IGNORECASE)
_MEMORY_UNITS = {"": 1, "b": 1, "k": 1024, "m": 1024**2, "g": 1024**3}


def memory_size(node: Node | None) -> int | None:
    """Bytes: a plain number of bytes, or a number with a suffix b, k, m or g (1024-based)."""
    if node is None:
        return None
    text = node.as_str(expected="a size such as 256m or 1g")
    match = _MEMORY.fullmatch(text)
    if not match:
        raise node.error(f"should be a size such as 256m or 1g (suffix b, k, m or g; no suffix means bytes), "
                         f"got {node.describe()}")
    size = int(match[1]) * _MEMORY_UNITS[match[2].lower()]
    if size > MAX_MEMORY:
        raise node.error(f"{text} is more than {MAX_MEMORY >> 40} TiB; no host has that much")
    if size < MIN_MEMORY:
        hint = f"; did you mean {text}m?" if not match[2] else ""
        raise node.error(f"{text} is {size} bytes, below docker's minimum of 6m{hint}")
    return size
