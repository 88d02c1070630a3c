"""Ask every host for a fact at once: one command per host, each answer parsed or the reason it is missing."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Callable, Generic, Iterable, TypeVar

from kob.errors import ObservationError, TransportError
from kob.facts.base import Fact
from kob.spec.inventory import Host, Inventory
from kob.transport.base import Transport
from kob.transport.targets import ssh_target

T = TypeVar("T")

STDERR_SHOWN = 200  # characters of a failed command's stderr kept in its reason


@dataclass
class Gathered(Generic[T]):
    """Each answering host's value, and for the others why there is none."""

    hosts: dict[str, T] = field(default_factory=dict)
    unreachable: dict[str, str] = field(default_factory=dict)  # host → why, naming the host


async def gather(transport: Transport, inventory: Inventory, fact: Fact[T] | Callable[[Host], Fact[T]],
                 hosts: Iterable[Host] | None = None) -> Gathered[T]:
    """``fact`` (or the fact each host is asked, when a function) from ``hosts`` (default: all), in parallel."""
    chosen = list(inventory.hosts if hosts is None else hosts)
    facts = [fact if isinstance(fact, Fact) else fact(host) for host in chosen]
    answers = await asyncio.gather(*(ask(transport, inventory, host, f) for host, f in zip(chosen, facts)))
    found: Gathered[T] = Gathered()
    for host, (value, why) in zip(chosen, answers):
        if why is None:
            found.hosts[host.name] = value
        else:
            found.unreachable[host.name] = why
    return found


async def ask(transport: Transport, inventory: Inventory, host: Host, fact: Fact[T]) -> tuple[T | None, str | None]:
    """One host's answer: (value, None), or (None, why) when it failed, did not answer or printed nonsense."""
    try:
        result = await transport.run(ssh_target(inventory, host), fact.argv)
    except TransportError as error:
        return None, str(error)
    if not result.ok:
        return None, f"{host.name}: {fact.what} failed (exit {result.rc}): {result.stderr.strip()[:STDERR_SHOWN]}"
    try:
        return fact.parse(host.name, result.stdout), None
    except ObservationError as error:
        return None, str(error)
