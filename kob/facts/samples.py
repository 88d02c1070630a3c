"""Parse what kob.commands.metrics.sample_argv printed into counter samples (pure)."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from kob.commands.metrics import SAMPLE_MARK, sample_argv
from kob.errors import ObservationError
from kob.facts.base import Fact

UNLIMITED = 1 << 62  # cgroup v1 reports "no memory limit" as a huge number near 2**63


@dataclass(frozen=True)
class ContainerCounters:
    id: str
    service: str
    replica: int | None
    state: str
    restarts: int
    cpu_ns: int | None  # CPU time used since the container (re)started
    memory: int | None  # bytes in use, without reclaimable page cache
    memory_limit: int | None  # bytes; None: no limit


@dataclass(frozen=True)
class HostCounters:
    uptime: float  # seconds since boot, the host's own clock for rates
    cpu_busy: int  # jiffies spent not idle, all CPUs
    cpu_total: int
    ncpu: int
    load: tuple[float, float, float]
    mem_total: int  # bytes
    mem_available: int
    disk_total: int
    disk_used: int
    containers: tuple[ContainerCounters, ...] = ()

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "HostCounters":
        containers = tuple(ContainerCounters(**c) for c in data.get("containers", ()))
        return cls(**{**data, "load": tuple(data["load"]), "containers": containers})


def samples_fact(owner: str, gap: float = 0.0) -> Fact[list[HostCounters]]:
    """One sample of a host's counters and of ``owner``'s containers; two, ``gap`` seconds apart, when ``gap`` > 0."""
    return Fact("sampling", tuple(sample_argv(owner, gap)), parse_samples)


def parse_samples(host: str, text: str) -> list[HostCounters]:
    """Every sample in the output, oldest first; ObservationError names the host and the line."""
    blocks = text.split(SAMPLE_MARK + "\n")
    if blocks[0].strip() or len(blocks) < 2:
        raise ObservationError(f"{host}: the sample has no {SAMPLE_MARK} block: {text[:120]!r}")
    return [_parse_block(host, block) for block in blocks[1:]]


def _parse_block(host: str, block: str) -> HostCounters:
    fields: dict[str, list[str]] = {}
    containers = []
    for line in filter(str.strip, block.splitlines()):
        key, *values = line.split()
        try:
            if key == "c":
                containers.append(_container(values))
            else:
                fields[key] = values
        except (ValueError, IndexError):
            raise ObservationError(f"{host}: cannot read sample line {line!r}") from None
    try:
        return _host(fields, tuple(containers))
    except (KeyError, ValueError, IndexError) as error:
        raise ObservationError(f"{host}: incomplete sample ({error!r}): {block[:200]!r}") from None


def _host(fields: dict[str, list[str]], containers: tuple[ContainerCounters, ...]) -> HostCounters:
    jiffies = [int(v) for v in fields["cpu"]]
    total = sum(jiffies[:8])  # user nice system idle iowait irq softirq steal (guest is inside user)
    idle = jiffies[3] + (jiffies[4] if len(jiffies) > 4 else 0)
    mem_total, mem_available = (int(v) * 1024 for v in fields["mem"])
    disk_total, disk_used = (int(v) * 1024 for v in fields["disk"])
    load = tuple(float(v) for v in fields["load"][:3])
    return HostCounters(float(fields["uptime"][0]), total - idle, total, int(fields["ncpu"][0]), load,  # type: ignore[arg-type]
                        mem_total, mem_available, disk_total, disk_used, containers)


def _container(values: list[str]) -> ContainerCounters:
    cid, service, replica, state, restarts, cpu, memory, limit = values
    limit_bytes = _number(limit)
    return ContainerCounters(cid, service, int(replica) if replica.isdigit() else None, state, int(restarts),
                             _number(cpu), _number(memory),
                             limit_bytes if limit_bytes is not None and limit_bytes < UNLIMITED else None)


def _number(text: str) -> int | None:
    return None if text == "-" else int(text)
