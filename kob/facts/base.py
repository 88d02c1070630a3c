"""A fact: the command that asks a host something, paired with the parser of its answer (pure).

``kob.transport.gather.gather`` runs a fact on many hosts at once; apply code asks for
facts and never parses a command's output itself.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from typing import Callable, Generic, TypeVar

from kob.errors import ObservationError

T = TypeVar("T")
A = TypeVar("A")
B = TypeVar("B")
BOUNDARY = "#kob-next-fact"


@dataclass(frozen=True)
class Fact(Generic[T]):
    """``argv`` asks, ``parse(host, stdout)`` reads the answer (ObservationError naming the host if it cannot)."""

    what: str  # the act, for messages: "observing", "sampling"
    argv: tuple[str, ...]
    parse: Callable[[str, str], T]


def both(first: Fact[A], second: Fact[B]) -> Fact[tuple[A, B]]:
    """Two facts asked in one command (one SSH exec instead of two): ``second`` runs once ``first`` succeeded."""
    script = f"{shlex.join(first.argv)} && echo {shlex.quote(BOUNDARY)} && {shlex.join(second.argv)}"

    def parse(host: str, output: str) -> tuple[A, B]:
        head, marker, tail = output.partition(f"{BOUNDARY}\n")
        if not marker:
            raise ObservationError(f"{host}: {first.what} printed no end: {output[-200:]!r}")
        return first.parse(host, head), second.parse(host, tail)

    return Fact(f"{first.what} and {second.what}", ("sh", "-c", script), parse)
