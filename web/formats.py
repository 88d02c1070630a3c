"""Jinja filters of the status page: sizes, percentages, times (pure)."""

from __future__ import annotations

import time

from kob.metrics.top import percent, size


def ago(when: float | None, now: float | None = None) -> str:
    """'12 s ago', '5 min ago', '3 h ago', '2 d ago'; '-' when never."""
    if when is None:
        return "-"
    seconds = max(0.0, (now if now is not None else time.time()) - when)
    for unit, length in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= length:
            return f"{int(seconds // length)} {unit} ago"
    return f"{int(seconds)} s ago"


def clock(when: float | None) -> str:
    """Local date and time, to the second; '-' when never."""
    return "-" if when is None else time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(when))


def share(used: int | None, total: int | None) -> float | None:
    """used as a % of total."""
    if used is None or not total:
        return None
    return 100.0 * used / total


FILTERS = {"ago": ago, "clock": clock, "size": size, "percent": percent, "share": share}
