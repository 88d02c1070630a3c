"""The steps of a plan, and how a person reads them."""

from __future__ import annotations

from dataclasses import dataclass

from kob.facts.containers import ContainerFact


@dataclass(frozen=True)
class Start:
    """A new container for one replica slot."""

    service: str
    replica: int
    host: str
    host_port: int | None


@dataclass(frozen=True)
class Create:
    start: Start
    reason: str = ""

    @property
    def service(self) -> str:
        return self.start.service

    def describe(self) -> str:
        return f"+ {self.start.service} replica {self.start.replica} on {self.start.host}" + _why(self.reason)


@dataclass(frozen=True)
class Replace:
    """Start the new container, wait for health, then remove the old one (or the reverse for stop-first)."""

    old: ContainerFact
    old_host: str
    start: Start
    reason: str

    @property
    def service(self) -> str:
        return self.start.service

    def describe(self) -> str:
        where = self.start.host if self.start.host == self.old_host else f"{self.old_host} → {self.start.host}"
        return f"~ {self.start.service} replica {self.start.replica} on {where}" + _why(self.reason)


@dataclass(frozen=True)
class Remove:
    container: ContainerFact
    host: str
    reason: str

    @property
    def service(self) -> str:
        return self.container.service

    def describe(self) -> str:
        c = self.container
        return f"- {c.service or c.name} replica {c.replica} on {self.host}" + _why(self.reason)


Action = Create | Replace | Remove


def _why(reason: str) -> str:
    return f" ({reason})" if reason else ""


def render_plan(actions: list[Action]) -> str:
    """The plan as people read it, with a summary line."""
    if not actions:
        return "No changes: every service runs as the inventory asks.\n"
    counts = {kind: sum(isinstance(a, kind) for a in actions) for kind in (Create, Replace, Remove)}
    summary = f"Plan: {counts[Create]} to create, {counts[Replace]} to replace, {counts[Remove]} to remove."
    return "\n".join([*(a.describe() for a in actions), "", summary]) + "\n"
