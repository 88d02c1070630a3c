"""From two counter samples of a host to its usage: CPU %, memory, load, disk (pure)."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from kob.facts.samples import ContainerCounters, HostCounters


@dataclass(frozen=True)
class ContainerUsage:
    id: str
    service: str
    replica: int | None
    state: str
    restarts: int
    cpu: float | None  # % of one CPU over the interval; None without an earlier sample of the same run
    memory: int | None  # bytes
    memory_limit: int | None

    @property
    def memory_percent(self) -> float | None:
        if self.memory is None or not self.memory_limit:
            return None
        return 100.0 * self.memory / self.memory_limit


@dataclass(frozen=True)
class HostUsage:
    host: str
    time: float  # unix time on the manager when sampled
    interval: float | None  # seconds the rates were taken over
    cpu: float | None  # % of all the host's CPUs busy
    ncpu: int
    load: tuple[float, float, float]
    mem_used: int
    mem_total: int
    disk_used: int
    disk_total: int
    containers: tuple[ContainerUsage, ...] = ()

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "HostUsage":
        containers = tuple(ContainerUsage(**c) for c in data.get("containers", ()))
        return cls(**{**data, "load": tuple(data["load"]), "containers": containers})


def host_usage(host: str, time: float, previous: HostCounters | None, current: HostCounters) -> HostUsage:
    """Rates over the interval since ``previous``; none when there is no earlier sample of this boot."""
    elapsed = current.uptime - previous.uptime if previous else 0.0
    before = previous if previous and elapsed > 0 else None
    return HostUsage(
        host=host, time=time, interval=elapsed if before else None,
        cpu=_host_cpu(before, current),
        ncpu=current.ncpu, load=current.load,
        mem_used=current.mem_total - current.mem_available, mem_total=current.mem_total,
        disk_used=current.disk_used, disk_total=current.disk_total,
        containers=tuple(_container_usage(c, before, elapsed) for c in current.containers),
    )


def _host_cpu(before: HostCounters | None, now: HostCounters) -> float | None:
    if before is None or now.cpu_total <= before.cpu_total:
        return None
    return 100.0 * (now.cpu_busy - before.cpu_busy) / (now.cpu_total - before.cpu_total)


def _container_usage(now: ContainerCounters, before: HostCounters | None, elapsed: float) -> ContainerUsage:
    earlier = next((c for c in before.containers if c.id == now.id), None) if before else None
    cpu = None
    if earlier and earlier.cpu_ns is not None and now.cpu_ns is not None and now.cpu_ns >= earlier.cpu_ns:
        cpu = 100.0 * (now.cpu_ns - earlier.cpu_ns) / (elapsed * 1e9)  # a restart resets the counter: no rate
    return ContainerUsage(now.id, now.service, now.replica, now.state, now.restarts, cpu, now.memory,
                          now.memory_limit)
