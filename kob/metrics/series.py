"""From usage histories to (time, value) series a chart can draw (pure).

Hosts are sampled at slightly different times, so a service's series sums its
containers per time bucket: each host's last sample in the bucket counts once.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

from kob.metrics.rates import HostUsage

Point = tuple[float, float]


def host_series(history: Sequence[HostUsage], metric: str) -> list[Point]:
    """The host's "cpu" (% of all its CPUs) or "memory" (% used) over time; unknown values are left out."""
    value = _HOST_METRICS.get(metric)
    if value is None:
        raise ValueError(f"unknown host metric {metric!r}: use one of {', '.join(sorted(_HOST_METRICS))}")
    points = ((usage.time, value(usage)) for usage in history)
    return sorted((time, v) for time, v in points if v is not None)


def _memory_percent(usage: HostUsage) -> float | None:
    return 100.0 * usage.mem_used / usage.mem_total if usage.mem_total > 0 else None


_HOST_METRICS = {"cpu": lambda usage: usage.cpu, "memory": _memory_percent}


def service_cpu_series(histories: Mapping[str, Sequence[HostUsage]], service: str, bucket: float) -> list[Point]:
    """The service's CPU (% of one CPU, summed over its replicas on all hosts) per bucket of ``bucket`` seconds.

    A bucket where no host knew a CPU value for the service is left out rather than drawn as 0.
    """
    last: dict[tuple[float, str], HostUsage] = {}
    for host, history in histories.items():
        for usage in history:
            key = (math.floor(usage.time / bucket) * bucket, host)
            if key not in last or usage.time >= last[key].time:
                last[key] = usage
    totals: dict[float, float] = {}
    for (start, _host), usage in last.items():
        known = [c.cpu for c in usage.containers if c.service == service and c.cpu is not None]
        if known:
            totals[start] = totals.get(start, 0.0) + sum(known)
    return sorted(totals.items())


def bucket_for(span: float, points: int = 120, minimum: float = 5.0) -> float:
    """A bucket width, a whole multiple of ``minimum`` seconds, so that ``span`` seconds make about ``points`` at most.

    "About": a span that straddles bucket starts touches one bucket more than it is widths long.
    """
    return max(minimum, math.ceil(span / points / minimum) * minimum)
