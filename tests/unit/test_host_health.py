"""One rule for hosts that stop answering, shared by deploy and reconcile (a memory store, no hosts)."""

from __future__ import annotations

import pytest

from kob.deploy.host_health import HostHealthBook, note_hosts, waiting_services
from kob.facts.containers import ContainerFact, HostObservation
from kob.store.memory import MemoryStore
from kob.transport.gather import Gathered

NS = "kob/shop"


def container(service: str, replica: int) -> ContainerFact:
    return ContainerFact(id=f"{service}{replica}", name=f"kob-x-{service}-{replica}", service=service, replica=replica,
                         revision=1, spec_hash="h", host_port=20000 + replica, state="running", health=None,
                         image_id="sha256:1", image="i", started_at="t", restarts=0, exit_code=0)


def seen(answering: dict[str, list[ContainerFact]], silent: tuple[str, ...] = ()) -> Gathered:
    return Gathered({h: HostObservation(h, tuple(c)) for h, c in answering.items()},
                    {h: f"{h}: no route" for h in silent})


@pytest.mark.parametrize("silent_for, waiting, down", [
    (0, {"web", "api"}, set()),
    (20, {"web", "api"}, set()),
    (60, set(), {"vm2"}),  # down: its replicas move
    (90, set(), {"vm2"}),
])
async def test_services_of_a_silent_host_wait_until_it_is_down(silent_for, waiting, down):
    store = MemoryStore()
    book = HostHealthBook(store, NS)
    await book.update(seen({"vm1": [], "vm2": [container("web", 1), container("api", 1)]}), 60, now=1000)
    await book.update(seen({"vm1": []}, ("vm2",)), 60, now=1000)  # first pass without an answer
    marks = await book.update(seen({"vm1": []}, ("vm2",)), 60, now=1000 + silent_for)
    assert set(waiting_services(marks, 60)) == waiting
    assert marks.down == down


async def test_a_check_computes_the_marks_and_records_nothing():
    store = MemoryStore()
    await note_hosts(store, NS, seen({"vm1": [container("web", 1)]}), 60, print)
    before = await HostHealthBook(store, NS).records()
    said: list[str] = []
    marks = await note_hosts(store, NS, seen({}, ("vm1",)), 0, said.append, write=False)
    assert marks.newly_down == {"vm1"} and said == []
    assert await HostHealthBook(store, NS).records() == before
    assert await store.events() == []
