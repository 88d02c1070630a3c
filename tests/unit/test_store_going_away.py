"""A store that goes away in the middle of a command leaves none of the command's records half made.

The store below stops answering after its first ``k`` writes, for every ``k``: a scale of two services and a
deploy's revisions of two services then find both of their records in the store, or neither.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import ClassVar

import pytest

from kob.deploy.revisions import RevisionBook
from kob.deploy.scaling import scale
from kob.errors import KobError, StoreError
from kob.identity import namespace
from kob.plan.spec_hash import spec_hash
from kob.spec.inventory import load_inventory
from kob.store.memory import MemoryStore

INVENTORY = """\
ssh: {user: root}
hosts:
  vm1: {address: 198.18.0.11}
services:
  web: {image: kob-demo/web:1, replicas: 2, port: 80}
  api: {image: kob-demo/web:1, replicas: 1, port: 80}
"""


class GoneAfter(MemoryStore):
    """Answers its first ``writes`` writes, then does not answer anything any more."""

    def __init__(self, writes: int):
        super().__init__()
        self.left = writes

    def _write(self) -> None:
        if self.left <= 0:
            raise StoreError("etcd at a:2379 does not answer (a:2379: connection refused)")
        self.left -= 1

    async def put(self, key, value):
        self._write()
        return await super().put(key, value)

    async def compare_and_swap(self, key, value, expected_version):
        self._write()
        return await super().compare_and_swap(key, value, expected_version)

    async def compare_and_swap_all(self, changes):
        self._write()
        return await super().compare_and_swap_all(changes)

    async def append_event(self, kind, message, fields=None):
        self._write()
        return await super().append_event(kind, message, fields)

    async def try_lock(self, name, holder, ttl, reclaim=False):
        self._write()
        return await super().try_lock(name, holder, ttl, reclaim)


class NoHosts:
    """A transport the test never gets to use: reaching it means every store write before it was made."""

    exec_count: ClassVar[dict] = {}

    def __getattr__(self, name):
        raise KobError("no hosts in this test")


@pytest.fixture
def inventory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "shop.yaml").write_text(INVENTORY)
    return load_inventory("shop.yaml")


async def kept(store: MemoryStore, suffix: str) -> list[str]:
    return sorted(key.split("/")[3] for key in store._entries if key.endswith(suffix))


@pytest.mark.parametrize("writes", range(4))
async def test_a_scale_of_two_services_keeps_both_counts_or_neither(inventory, writes):
    store = GoneAfter(writes)
    with pytest.raises(KobError):
        await scale(inventory, {"web": 3, "api": 2}, store, NoHosts())
    assert await kept(store, "/scale") in ([], ["api", "web"])


@pytest.mark.parametrize("writes", range(2))
async def test_the_revisions_of_one_deploy_are_kept_all_or_none(inventory, writes):
    store = GoneAfter(writes)
    book = RevisionBook(store, namespace(inventory))
    specs = [(s, spec_hash(s)) for s in inventory.services]
    try:
        await book.record_all(specs, "deploy")
    except StoreError:
        pass
    assert await kept(store, "/revisions/000001") in ([], ["api", "web"])
    if writes:
        bumped = [(dataclasses.replace(s, image="kob-demo/web:2"), "") for s, _ in specs]
        store.left = 0
        with pytest.raises(StoreError):
            await book.record_all([(s, spec_hash(s)) for s, _ in bumped], "deploy")
        assert await kept(store, "/revisions/000002") == []
