"""A fact: the command that asks a host something, paired with the parser of its answer (pure).

``kob.transport.gather.gather`` runs a fact on many hosts at once; apply code asks for
facts and never parses a command's output itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Generic, TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class Fact(Generic[T]):
    """``argv`` asks, ``parse(host, stdout)`` reads the answer (ObservationError naming the host if it cannot)."""

    what: str  # the act, for messages: "observing", "sampling"
    argv: tuple[str, ...]
    parse: Callable[[str, str], T]
