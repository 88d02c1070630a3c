"""Leader election on a real etcd server: one of two connections leads, and a
leader that dies without releasing is replaced once its lease expires."""

from __future__ import annotations

import asyncio
import time

import pytest

from kob.passes.leader import Leadership

pytestmark = [pytest.mark.etcd, pytest.mark.parametrize("backend", ["etcd"], indirect=True)]

TTL = 2  # etcd counts lease TTLs in whole seconds
STEP = TTL / 3
# About TTL + STEP + 0.5 s on an idle machine (etcd revokes expired leases every 500 ms); the deadline
# leaves a loaded machine room and still fails a survivor that waits far longer than the lease.
DEADLINE = 4 * TTL
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
    before_the_lease = time.monotonic()  # a slow step only moves the lease's expiry later than this + TTL
    assert await dead.step() and not await survivor.step()
    if death == "connection closed":
        await store.close()
    while not await survivor.step() and time.monotonic() < before_the_lease + DEADLINE:
        await asyncio.sleep(STEP)
    took = time.monotonic() - before_the_lease
    assert survivor.leading and not dead.leading, f"no takeover within {DEADLINE} s"
    assert took >= TTL - 0.5, "taken over before the dead leader's lease could expire"
    assert (await survivor.leader()).holder == "serve-b"
