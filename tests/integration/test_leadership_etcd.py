"""Leader election on a real etcd server: one of two connections leads, and a
leader that dies without releasing is replaced once its lease expires."""

from __future__ import annotations

import asyncio
import time

import pytest

from kob.passes.leader import Leadership

pytest_plugins = ["store_fixtures"]
pytestmark = [pytest.mark.etcd, pytest.mark.parametrize("backend", ["etcd"], indirect=True)]

TTL = 2  # etcd counts lease TTLs in whole seconds
STEP = TTL / 3
SLACK = 1.5  # etcd revokes expired leases every 500 ms, plus scheduling
LOCK = "kob/test/leader"


async def test_two_connections_elect_exactly_one_and_it_keeps_leading_past_its_ttl(store, open_other):
    first, second = Leadership(store, LOCK, "serve-a", TTL), Leadership(open_other(), LOCK, "serve-b", TTL)
    rounds = []
    for _ in range(6):  # two ttls: the lease lives only by its keep-alives
        rounds.append((await first.step(), await second.step()))
        await asyncio.sleep(STEP)
    assert rounds == [(True, False)] * 6
    assert (await second.leader()).holder == "serve-a"


@pytest.mark.parametrize("death", ["connection closed", "steps stop"])
async def test_a_leader_that_dies_without_releasing_is_replaced_once_its_lease_expires(store, open_other, death):
    dead, survivor = Leadership(store, LOCK, "serve-a", TTL), Leadership(open_other(), LOCK, "serve-b", TTL)
    assert await dead.step() and not await survivor.step()
    if death == "connection closed":
        await store.close()
    died_at = time.monotonic()
    while not await survivor.step() and time.monotonic() < died_at + 3 * TTL:
        await asyncio.sleep(STEP)
    took = time.monotonic() - died_at
    assert survivor.leading and not dead.leading
    assert TTL - 0.5 <= took <= TTL + STEP + SLACK
    assert (await survivor.leader()).holder == "serve-b"
