"""`kob top` as text: a table of hosts, then one of kob's containers (pure)."""

from __future__ import annotations

from kob.metrics.rates import HostUsage


def size(n: int | None) -> str:
    """Bytes as 1.5G, 512M, 64K; '-' when unknown."""
    if n is None:
        return "-"
    for unit, scale in (("G", 1 << 30), ("M", 1 << 20), ("K", 1 << 10)):
        if n >= scale:
            return f"{n / scale:.1f}{unit}"
    return f"{n}B"


def percent(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def render_top(hosts: dict[str, HostUsage], unreachable: dict[str, str]) -> str:
    lines = [f"{'HOST':<12} {'CPU%':>6}  {'LOAD 1/5/15':<16} {'MEMORY':<17} {'DISK':<17} CONTAINERS"]
    for name, usage in hosts.items():
        load = " ".join(f"{v:.2f}" for v in usage.load)
        lines.append(f"{name:<12} {percent(usage.cpu):>6}  {load:<16} "
                     f"{size(usage.mem_used) + ' / ' + size(usage.mem_total):<17} "
                     f"{size(usage.disk_used) + ' / ' + size(usage.disk_total):<17} {len(usage.containers)}")
    for name, why in unreachable.items():
        lines.append(f"{name:<12} {'-':>6}  unreachable: {why}")
    containers = sorted(((c.service, c.replica or 0, name, c) for name, u in hosts.items() for c in u.containers),
                        key=lambda row: row[:3])
    if containers:
        lines += ["", f"{'SERVICE':<14} {'REPLICA':>7}  {'HOST':<12} {'CPU%':>6}  {'MEMORY':<22} {'RESTARTS':>8}  STATE"]
    for service, replica, host, c in containers:
        memory = size(c.memory) + (f" / {size(c.memory_limit)}" if c.memory_limit else "")
        lines.append(f"{service:<14} {replica or '-':>7}  {host:<12} {percent(c.cpu):>6}  {memory:<22} "
                     f"{c.restarts:>8}  {c.state}")
    return "\n".join(lines)
