"""Leader election on a MemoryStore: one leads, a silent leader is replaced, a cut-off one stops acting."""

from __future__ import annotations

import asyncio
import logging
import time

import pytest

from kob.passes import leader as leader_module
from kob.passes.leader import Leadership
from kob.errors import LockLost, StoreError
from kob.store.memory import MemoryLock, MemoryStore

TTL = 0.3
STEP = TTL / 3
LOCK = "kob/test/leader"
BECAME = f"became leader (lock {LOCK}, ttl {TTL:g} s)"


class FakeClock:
    """Stands in for time.monotonic in kob.passes.leader; the store keeps real time."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch):
        self.now = 1000.0
        monkeypatch.setattr(leader_module, "monotonic", lambda: self.now)


@pytest.fixture
def store() -> MemoryStore:
    return MemoryStore()


def contenders(store: MemoryStore, count: int, ttl: float = TTL) -> list[Leadership]:
    return [Leadership(store, LOCK, f"serve-{i}", ttl) for i in range(count)]


async def refuse(*args: object, **kwargs: object) -> None:
    raise StoreError("refresh refused")


async def lose(*args: object, **kwargs: object) -> None:
    raise LockLost("lock gone")


@pytest.mark.parametrize("count", [2, 3])
async def test_exactly_one_of_several_leads_after_a_step_each(store, count):
    sides = contenders(store, count)
    results = [await side.step() for side in sides]
    assert results == [True] + [False] * (count - 1)
    assert [side.leading for side in sides] == results
    assert (await sides[-1].leader()).holder == "serve-0"


async def test_the_follower_stays_follower_while_the_leader_keeps_stepping(store):
    leader, follower = contenders(store, 2)
    rounds = []
    for _ in range(9):  # three ttls
        rounds.append((await leader.step(), await follower.step()))
        await asyncio.sleep(STEP)
    assert rounds == [(True, False)] * 9


async def test_a_leader_that_stops_stepping_is_replaced_within_ttl_and_one_step(store):
    crashed, follower = contenders(store, 2)
    assert await crashed.step() and not await follower.step()
    crashed_at = time.monotonic()  # it never steps again and never releases
    while not await follower.step() and time.monotonic() < crashed_at + 5 * TTL:
        await asyncio.sleep(STEP)
    took = time.monotonic() - crashed_at
    assert follower.leading and not crashed.leading
    assert TTL - 0.05 <= took <= TTL + STEP + 0.1
    assert (await follower.leader()).holder == "serve-1"


async def test_two_never_lead_at_once_while_a_silent_leader_is_replaced(store):
    crashed, follower = contenders(store, 2)
    await crashed.step()
    both_seen = []
    for _ in range(int(2 * TTL / 0.01)):
        await follower.step()
        both_seen.append(crashed.leading and follower.leading)
        await asyncio.sleep(0.01)
    assert follower.leading and not any(both_seen)


async def test_release_hands_the_lock_over_at_once(store):
    leader, follower = contenders(store, 2)
    await leader.step()
    await follower.step()
    await leader.release()
    assert not leader.leading
    assert await leader.leader() is None
    assert await follower.step()
    assert (await leader.leader()).holder == "serve-1"


def break_refresh(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(MemoryLock, "refresh", refuse)


async def perform(action: str, side: Leadership, monkeypatch: pytest.MonkeyPatch) -> None:
    if action == "step":
        await side.step()
    elif action == "release":
        await side.release()
    elif action == "refresh fails":
        break_refresh(monkeypatch)
    elif action == "refresh mended":
        monkeypatch.undo()
    elif action == "lock lost":
        monkeypatch.setattr(MemoryLock, "refresh", lose)
    elif action == "key deleted":
        del side.store._locks[LOCK]
    else:
        assert action == "ttl passes"
        await asyncio.sleep(TTL + 0.02)


EXPIRED_TEXT = f"lock {LOCK!r} of serve-0 expired before it was refreshed"
EXPIRED = f"lost leadership: {EXPIRED_TEXT}"


@pytest.mark.parametrize(
    ("actions", "expected"),
    [
        (["step"], [(True, BECAME)]),
        (["step", "step", "step"], [(True, BECAME)]),
        (["release"], []),
        (["step", "release", "release"], [(True, BECAME), (False, "released")]),
        (["step", "release", "step"], [(True, BECAME), (False, "released"), (True, BECAME)]),
        # a store error is not a lost lock: the leader leads on while its last confirmation is young
        (["step", "refresh fails", "step"], [(True, BECAME)]),
        (["step", "refresh fails", "step", "step", "refresh mended", "step"], [(True, BECAME)]),
        (["step", "refresh fails", "step", "ttl passes", "step"],
         [(True, BECAME), (False, "lost leadership: refresh refused")]),
        (["step", "refresh fails", "ttl passes", "step", "refresh mended", "step", "step"],
         [(True, BECAME), (False, "lost leadership: refresh refused"), (True, BECAME)]),
        # a lost lock is dropped at once; the holder takes its own lock again when it is still there
        (["step", "lock lost", "step"], [(True, BECAME), (False, "lost leadership: lock gone")]),
        (["step", "lock lost", "step", "refresh mended", "step"],
         [(True, BECAME), (False, "lost leadership: lock gone"), (True, BECAME)]),
        # a lock key deleted by hand is noticed by the next refresh
        (["step", "key deleted", "step"], [(True, BECAME), (False, f"lost leadership: {EXPIRED_TEXT}")]),
        (["step", "key deleted", "step", "step"],
         [(True, BECAME), (False, f"lost leadership: {EXPIRED_TEXT}"), (True, BECAME)]),
        (["step", "ttl passes", "step"], [(True, BECAME), (False, EXPIRED)]),
        (["step", "ttl passes", "step", "step"], [(True, BECAME), (False, EXPIRED), (True, BECAME)]),
    ],
)
async def test_on_change_hears_every_transition_once(store, monkeypatch, actions, expected):
    heard = []
    side = Leadership(store, LOCK, "serve-0", TTL, on_change=lambda leading, reason: heard.append((leading, reason)))
    for action in actions:
        await perform(action, side, monkeypatch)
    assert heard == expected


async def test_an_async_on_change_is_awaited(store):
    heard = []

    async def on_change(leading: bool, reason: str) -> None:
        await asyncio.sleep(0)
        heard.append((leading, reason))

    side = Leadership(store, LOCK, "serve-0", TTL, on_change=on_change)
    await side.step()
    await side.release()
    assert heard == [(True, BECAME), (False, "released")]


@pytest.mark.parametrize(("broken", "leading"), [("acquire", False), ("refresh", True)])
async def test_a_store_error_is_logged_once_per_outage_and_is_not_raised(store, monkeypatch, caplog, broken, leading):
    side = Leadership(store, LOCK, "serve-0", ttl=8)
    if broken == "refresh":
        assert await side.step()
        break_refresh(monkeypatch)
    else:
        monkeypatch.setattr(store, "acquire_lock", refuse)
    with caplog.at_level(logging.INFO, logger="kob.passes.leader"):
        assert [await side.step() for _ in range(3)] == [leading] * 3
        monkeypatch.undo()
        assert await side.step()
        break_refresh(monkeypatch)
        await side.step()
    logged = [r.getMessage() for r in caplog.records if r.getMessage().startswith("leader election")]
    assert logged == [f"leader election on {LOCK}: refresh refused"] * 2


async def test_a_holder_reclaims_its_own_lock_instead_of_waiting_for_it_to_expire(store):
    lost_answer = await store.acquire_lock(LOCK, "serve-0", 8)  # taken, but the answer never reached the leader
    side, other = Leadership(store, LOCK, "serve-0", ttl=8), Leadership(store, LOCK, "serve-1", ttl=8)
    assert not await other.step()
    assert await side.step()
    assert (await side.leader()).since == lost_answer.since
    assert not await other.step()


@pytest.mark.parametrize(
    ("seconds_since_refresh", "leading"),
    [(0, True), (5.9, True), (6, False), (7.9, False), (100, False)],
)
async def test_leading_lapses_by_itself_after_ttl_minus_a_quarter(store, monkeypatch, seconds_since_refresh, leading):
    clock = FakeClock(monkeypatch)
    side = Leadership(store, LOCK, "serve-0", ttl=8)
    assert await side.step()
    clock.now += seconds_since_refresh
    assert side.leading is leading


async def test_a_lapsed_leader_whose_lock_never_expired_keeps_it_after_one_refresh(store, monkeypatch):
    clock, heard = FakeClock(monkeypatch), []
    side = Leadership(store, LOCK, "serve-0", ttl=8, on_change=lambda leading, reason: heard.append(leading))
    await side.step()
    since = (await side.leader()).since
    clock.now += 7
    assert not side.leading
    assert await side.step()
    assert (await side.leader()).since == since  # the same lock, refreshed, not taken anew
    assert heard == [True]


BECAME_8 = f"became leader (lock {LOCK}, ttl 8 s)"
TOO_LATE = f"lost leadership: the store took 7.0 s to confirm lock {LOCK}"


@pytest.mark.parametrize(
    ("slow", "owner", "expected"),
    [
        ("acquire_lock", MemoryStore, [(True, BECAME_8)]),
        ("refresh", MemoryLock, [(True, BECAME_8), (False, TOO_LATE), (True, BECAME_8)]),
    ],
)
async def test_a_confirmation_answered_too_late_does_not_count(store, monkeypatch, slow, owner, expected):
    clock, heard = FakeClock(monkeypatch), []
    side = Leadership(store, LOCK, "serve-0", ttl=8, on_change=lambda *change: heard.append(change))
    if slow == "refresh":
        assert await side.step()
    fast = getattr(owner, slow)

    async def slowly(*args: object, **kwargs: object) -> object:
        clock.now += 7
        return await fast(*args, **kwargs)

    monkeypatch.setattr(owner, slow, slowly)
    assert await side.step() is False
    monkeypatch.setattr(owner, slow, fast)
    assert await side.step() is True
    assert heard == expected


@pytest.mark.parametrize("ending", ["stop", "cancel"])
async def test_run_leads_until_it_ends_then_releases(store, ending):
    heard: dict[str, list[tuple[bool, str]]] = {"serve-0": [], "serve-1": []}
    sides = [Leadership(store, LOCK, holder, TTL, on_change=lambda *change, h=holder: heard[h].append(change))
             for holder in heard]
    stop = asyncio.Event()
    runs = [asyncio.create_task(side.run(stop)) for side in sides]
    await asyncio.sleep(2 * TTL)
    assert [side.leading for side in sides] == [True, False]
    if ending == "stop":
        stop.set()
    else:
        for run in runs:
            run.cancel()
    await asyncio.wait_for(asyncio.gather(*runs, return_exceptions=True), timeout=STEP)
    assert await store.lock_info(LOCK) is None
    assert heard == {"serve-0": [(True, BECAME), (False, "released")], "serve-1": []}


async def test_a_held_lock_that_the_store_stops_confirming_is_refused_between_steps(store, monkeypatch):
    from kob.store.backend import require_held

    with pytest.raises(StoreError, match="expired while held"):  # and said so on the way out
        async with store.lock("kob/test/deploy", "deploy-0", TTL) as lock:
            require_held(lock)
            break_refresh(monkeypatch)
            await asyncio.sleep(TTL)  # three refreshes fail meanwhile
            with pytest.raises(StoreError, match=r"could not be kept \(refresh refused\); stopped before the next"):
                require_held(lock)
            monkeypatch.undo()
            await asyncio.sleep(TTL / 2)  # a refresh gets through: the lock lapsed meanwhile (LockLost)
            with pytest.raises(StoreError, match="expired"):
                require_held(lock)


async def test_the_block_outcome_stands_when_the_store_cannot_release_the_lock(store, monkeypatch):
    async def refuse_release(self) -> bool:
        raise StoreError("release refused")

    monkeypatch.setattr(MemoryLock, "release", refuse_release)
    with pytest.raises(RuntimeError, match="the block's own error"):
        async with store.lock("kob/test/deploy", "deploy-0", TTL):
            raise RuntimeError("the block's own error")
    async with store.lock("kob/test/other", "deploy-0", TTL):
        pass  # done: the lock expires by itself


async def test_a_lock_taken_after_waiting_for_it_counts_as_confirmed_when_taken(store):
    from kob.store.backend import require_held

    await store.acquire_lock("kob/test/deploy", "crashed", TTL)  # never refreshed: expires after TTL
    async with store.lock("kob/test/deploy", "deploy-0", TTL, wait=5 * TTL) as lock:
        require_held(lock)
