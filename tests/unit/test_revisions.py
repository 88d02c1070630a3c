"""Revisions and scale records over the memory store."""

from __future__ import annotations

import dataclasses

import pytest

from kob.deploy.revisions import RevisionBook
from kob.errors import KobError
from kob.plan.spec_hash import spec_hash
from kob.store import open_store
from kob.spec.service_model import Service

WEB = Service(name="web", image="kob-demo/web:1", replicas=4, port=80)


@pytest.fixture
async def book():
    store = open_store("memory://")
    yield RevisionBook(store, "kob/test")
    await store.close()


async def test_a_revision_per_spec_change_only(book):
    first = await book.record(WEB, spec_hash(WEB), "deploy")
    again = await book.record(WEB, spec_hash(WEB), "deploy")
    v2 = dataclasses.replace(WEB, image="kob-demo/web:2")
    second = await book.record(v2, spec_hash(v2), "deploy")
    assert (first.number, again.number, second.number) == (1, 1, 2)
    assert [r.spec.image for r in await book.history("web")] == ["kob-demo/web:1", "kob-demo/web:2"]
    assert (await book.get("web", 1)).spec == WEB
    assert "@" in first.who


async def test_unknown_revision_lists_the_known_ones(book):
    await book.record(WEB, spec_hash(WEB), "deploy")
    with pytest.raises(KobError, match=r"^web has no revision 7 \(revisions: 1\)$"):
        await book.get("web", 7)


@pytest.mark.parametrize("scaled_from, inventory_now, expected", [
    (None, 4, 4),   # never scaled: the inventory decides
    (4, 4, 6),      # scaled to 6 from 4, inventory unchanged: keep 6
    (4, 2, 2),      # the inventory's own value changed: it wins again
])
async def test_scale_is_kept_until_the_inventory_changes(book, scaled_from, inventory_now, expected):
    if scaled_from is not None:
        await book.set_scale("web", 6, scaled_from)
    assert await book.replicas_for(dataclasses.replace(WEB, replicas=inventory_now)) == expected
    if scaled_from is not None and inventory_now != scaled_from:
        assert await book.scale("web") is None
