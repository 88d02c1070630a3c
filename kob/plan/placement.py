"""Where new replicas go and which host ports they get (pure)."""

from __future__ import annotations

from collections import Counter
from typing import Mapping

from kob.errors import NoFreePort
from kob.facts.containers import HostObservation
from kob.spec.service_model import HOST_PORTS, Placement


class HostBook:
    """What each host runs, as observed plus what the plan adds so far."""

    def __init__(self, observed: Mapping[str, HostObservation], host_order: list[str],
                 load: Mapping[str, float] | None = None):
        self.order = {host: index for index, host in enumerate(host_order)}
        self.ports = {host: {c.host_port for c in seen.containers if c.host_port} | seen.busy_ports
                      for host, seen in observed.items()}
        self.containers = Counter({host: len(seen.containers) for host, seen in observed.items()})
        self.per_service: Counter[tuple[str, str]] = Counter(
            (host, c.service) for host, seen in observed.items() for c in seen.containers)
        self.load = dict(load or {})

    def choose_host(self, service: str, placement: Placement, eligible: tuple[str, ...],
                    leaving: Counter[tuple[str, str]]) -> str | None:
        """The best eligible host with room for one more replica, or None.

        ``leaving`` counts replicas of the service the plan will remove from a host.
        """
        def count(host: str) -> int:
            return self.per_service[(host, service)] - leaving[(host, service)]

        room = [h for h in eligible if h in self.ports
                and (placement.max_per_host is None or count(h) < placement.max_per_host)]
        if not room:
            return None
        if placement.strategy == "least-loaded":
            return min(room, key=lambda h: (self.load.get(h, self.containers[h]), count(h), self.order[h]))
        return min(room, key=lambda h: (count(h), self.containers[h], self.order[h]))

    def take(self, host: str, service: str) -> None:
        self.containers[host] += 1
        self.per_service[(host, service)] += 1

    def allocate_port(self, host: str) -> int:
        """The lowest free host port in kob's range on that host (stable: kept replicas keep theirs)."""
        used = self.ports[host]
        for port in HOST_PORTS:
            if port not in used:
                used.add(port)
                return port
        raise NoFreePort(host, HOST_PORTS)
