"""diff(desired, observed) → ordered actions: creates, then replaces, then removes (pure)."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Mapping

from kob.commands.docker import Replica
from kob.facts.containers import ContainerFact, HostObservation
from kob.plan.actions import Action, Create, Remove, Replace, Start
from kob.plan.placement import HostBook
from kob.spec.service_model import Service


@dataclass(frozen=True)
class DesiredService:
    """A service as this run wants it: count, revision, digest, and the hosts it may use."""

    service: Service
    replicas: int
    revision: int
    spec_hash: str
    eligible: tuple[str, ...]
    image_id: str | None = None  # where known, a container of another image ID is replaced too
    owner: str = ""  # the inventory's owner label (kob.identity.owner), carried by every container it starts

    def replica(self, start: Start) -> Replica:
        """The container ``start`` makes of this service."""
        return Replica(self.service, start.replica, self.revision, self.spec_hash, start.host, start.host_port,
                       self.owner)


@dataclass(frozen=True)
class Plan:
    actions: list[Action]
    warnings: list[str] = field(default_factory=list)


def diff(desired: list[DesiredService], observed: Mapping[str, HostObservation], host_order: list[str],
         load: Mapping[str, float] | None = None, avoid: frozenset[str] = frozenset(), scoped: bool = False) -> Plan:
    """The actions that turn ``observed`` into ``desired``; of duplicate replicas, those on ``avoid`` hosts go.

    ``scoped``: ``desired`` is some of the inventory's services, and the others are left as they are
    (still counted for placement and host ports); otherwise containers of other services are removed.
    """
    book = HostBook(observed, host_order, load)
    creates: list[Action] = []
    replaces: list[Action] = []
    removes: list[Action] = []
    warnings: list[str] = []
    wanted = {d.service.name for d in desired}
    for host in host_order:
        for fact in observed[host].containers if host in observed else ():
            if fact.service not in wanted and not scoped:
                removes.append(Remove(fact, host, "service not in the inventory"))
    for want in desired:
        c, r, x, w = _diff_service(want, _facts_of(want.service.name, observed, host_order), book, avoid)
        creates += c
        replaces += r
        removes += x
        warnings += w
    return Plan(creates + replaces + removes, warnings)


def _facts_of(name: str, observed: Mapping[str, HostObservation], order: list[str]) -> list[tuple[str, ContainerFact]]:
    return [(host, fact) for host in order if host in observed for fact in observed[host].of_service(name)]


def _diff_service(want: DesiredService, facts: list[tuple[str, ContainerFact]], book: HostBook,
                  avoid: frozenset[str]):
    name = want.service.name
    removes: list[Action] = []
    slots: dict[int, list[tuple[str, ContainerFact]]] = defaultdict(list)
    for host, fact in facts:
        if 1 <= fact.replica <= want.replicas:
            slots[fact.replica].append((host, fact))
        else:
            removes.append(Remove(fact, host, f"scale to {want.replicas}"))
    leaving: Counter[tuple[str, str]] = Counter((action.host, name) for action in removes)
    keepers: dict[int, tuple[str, ContainerFact]] = {}
    for slot, entries in slots.items():
        best = max(entries, key=lambda e: _preference(want, e, avoid))
        keepers[slot] = best
        for host, fact in entries:
            if fact is not best[1]:
                removes.append(Remove(fact, host, f"duplicate of replica {slot}"))
                leaving[(host, name)] += 1
    creates, replaces, warnings = [], [], []
    for slot in range(1, want.replicas + 1):
        if slot in keepers:
            host, fact = keepers[slot]
            reason = _replace_reason(want, host, fact)
            if reason:
                target = host if host in want.eligible else book.choose_host(name, want.service.placement,
                                                                              want.eligible, leaving)
                if target is None:
                    warnings.append(f"{name} replica {slot}: no eligible host has room to move it off {host}")
                    continue
                if target != host:
                    book.take(target, name)
                    leaving[(host, name)] += 1
                replaces.append(Replace(fact, host, _start(want, slot, target, book), reason))
            continue
        target = book.choose_host(name, want.service.placement, want.eligible, leaving)
        if target is None:
            warnings.append(f"{name} replica {slot}: no eligible host has room "
                            f"({len(want.eligible)} eligible, max_per_host {want.service.placement.max_per_host})")
            continue
        book.take(target, name)
        creates.append(Create(_start(want, slot, target, book)))
    return creates, replaces, removes, warnings


def _start(want: DesiredService, slot: int, host: str, book: HostBook) -> Start:
    port = book.allocate_port(host) if want.service.port is not None else None
    return Start(want.service.name, slot, host, port)


def _preference(want: DesiredService, entry: tuple[str, ContainerFact], avoid: frozenset[str]) -> tuple:
    host, fact = entry
    return (host in want.eligible, host not in avoid, fact.serving, fact.spec_hash == want.spec_hash, fact.running,
            fact.started_at)


def _replace_reason(want: DesiredService, host: str, fact: ContainerFact) -> str:
    """Why a kept replica must be replaced, or '' when it is fine as it is."""
    if fact.owner != want.owner:
        return "adopted: started by an earlier kob, without an owner label"
    if host not in want.eligible:
        return f"{host} is no longer eligible"
    if fact.spec_hash != want.spec_hash:
        if fact.image != want.service.image:
            return f"image {fact.image} → {want.service.image}"
        return "spec changed"
    if want.image_id and fact.image_id != want.image_id:
        return f"image {want.service.image} now has ID {want.image_id[7:19]}"
    if not fact.running:
        return f"not running ({fact.state}, exit {fact.exit_code})"
    if fact.health == "unhealthy":
        return "unhealthy"
    return ""
