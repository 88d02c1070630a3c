"""Revisions of each service and replica counts chosen by `kob scale`, kept in the store.

Keys, under the inventory's namespace (``kob/<inventory stem>/``):

    services/<name>/revisions/<000001>   {"revision", "spec", "spec_hash", "image", "who", "when", "reason"}
    services/<name>/scale                {"replicas", "inventory_replicas"}
"""

from __future__ import annotations

import dataclasses
import json
import time
from dataclasses import dataclass
from typing import Any

from kob.errors import KobError
from kob.identity import operator
from kob.spec.service_codec import service_from_dict, service_to_dict
from kob.spec.service_model import Service
from kob.store.base import Store


@dataclass(frozen=True)
class Revision:
    service: str
    number: int
    spec: Service
    spec_hash: str
    who: str
    when: float
    reason: str


class RevisionBook:
    def __init__(self, store: Store, namespace: str):
        self.store = store
        self.prefix = namespace.rstrip("/") + "/services/"

    def _key(self, service: str, suffix: str) -> str:
        return f"{self.prefix}{service}/{suffix}"

    async def history(self, service: str) -> list[Revision]:
        entries = await self.store.list(self._key(service, "revisions/"))
        return [_revision(service, json.loads(e.value)) for e in entries]

    async def current(self, service: str) -> Revision | None:
        history = await self.history(service)
        return history[-1] if history else None

    async def get(self, service: str, number: int) -> Revision:
        entry = await self.store.get(self._key(service, f"revisions/{number:06d}"))
        if entry is None:
            known = ", ".join(str(r.number) for r in await self.history(service)) or "none"
            raise KobError(f"{service} has no revision {number} (revisions: {known})")
        return _revision(service, json.loads(entry.value))

    async def record(self, spec: Service, spec_hash: str, reason: str) -> Revision:
        """A new revision when the spec digest changed; the current one otherwise."""
        return (await self.record_all([(spec, spec_hash)], reason))[0]

    async def record_all(self, specs: list[tuple[Service, str]], reason: str) -> list[Revision]:
        """``record`` of several (spec, digest) in one write: a store that goes away keeps all or none."""
        while True:
            revisions, writes = [], []
            for spec, digest in specs:
                current = await self.current(spec.name)
                if current and current.spec_hash == digest:
                    revisions.append(current)
                    continue
                number = current.number + 1 if current else 1
                data = {"revision": number, "spec": service_to_dict(spec), "spec_hash": digest,
                        "image": spec.image, "who": operator(), "when": time.time(), "reason": reason}
                writes.append((self._key(spec.name, f"revisions/{number:06d}"), json.dumps(data).encode(), 0))
                revisions.append(_revision(spec.name, data))
            if not writes or await self.store.compare_and_swap_all(writes):
                return revisions

    async def scale(self, service: str) -> dict[str, int] | None:
        entry = await self.store.get(self._key(service, "scale"))
        return json.loads(entry.value) if entry else None

    async def set_scale(self, service: str, replicas: int, inventory_replicas: int) -> None:
        await self.set_scales({service: (replicas, inventory_replicas)})

    async def set_scales(self, counts: dict[str, tuple[int, int]]) -> None:
        """service → (replicas, inventory_replicas), in one write: a store that goes away keeps all or none."""
        while True:
            writes = []
            for service, (replicas, inventory_replicas) in counts.items():
                key = self._key(service, "scale")
                found = await self.store.get(key)
                data = {"replicas": replicas, "inventory_replicas": inventory_replicas}
                writes.append((key, json.dumps(data).encode(), found.version if found else 0))
            if await self.store.compare_and_swap_all(writes):
                return

    async def replicas_for(self, spec: Service) -> int:
        """`kob scale`'s count while the inventory's own value is the one it was scaled from.

        An autoscaled service keeps its last chosen count, brought within its min..max. A count
        scaled from an inventory value that has since changed is forgotten.
        """
        scaled = await self.scale(spec.name)
        if scaled and not spec.autoscale and scaled["inventory_replicas"] != spec.replicas:
            await self.store.delete(self._key(spec.name, "scale"))
        return wanted_replicas(spec, scaled)


def wanted_replicas(spec: Service, scaled: dict[str, int] | None) -> int:
    """The replica count of a service given what `kob scale` or autoscaling chose (pure)."""
    if spec.autoscale:
        return spec.autoscale.clamp(scaled["replicas"] if scaled else spec.replicas)
    if scaled and scaled["inventory_replicas"] == spec.replicas:
        return scaled["replicas"]
    return spec.replicas


async def deployed_services(book: RevisionBook, services: tuple[Service, ...], names: set[str]) -> tuple[Service, ...]:
    """The services with those ``names`` as last deployed (the inventory's count and autoscale kept), others as is.

    Scaling, autoscaling and healing act on what runs: they never roll out an inventory change nobody deployed.
    """
    result = []
    for spec in services:
        current = await book.current(spec.name) if spec.name in names else None
        result.append(dataclasses.replace(current.spec, replicas=spec.replicas, autoscale=spec.autoscale)
                      if current else spec)
    return tuple(result)


def _revision(service: str, data: dict[str, Any]) -> Revision:
    return Revision(service, data["revision"], service_from_dict(data["spec"]), data["spec_hash"], data["who"],
                    data["when"], data["reason"])
