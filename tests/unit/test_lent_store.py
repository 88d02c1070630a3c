"""The store lent by a connection holder (kob.lend.client, kob.lend.desk): records and errors on the
wire, requests the holder refuses, and a holder that goes away. The full store contract runs on it in
tests/integration/test_store_contract.py ("lent")."""

from __future__ import annotations

import asyncio

import pytest

from kob.errors import LockHeld, LockLost, StoreError
from kob.lend.client import LentStore
from kob.lend.wire import (
    entry_from_wire,
    entry_to_wire,
    event_from_wire,
    event_to_wire,
    lock_info_from_wire,
    lock_info_to_wire,
    store_error_from_wire,
    store_error_to_wire,
)
from kob.store.base import Entry, Event, LockInfo
from kob.transport.holder_wire import json_frame, read_frame
from tests.helpers.lending_holder import lending_holder


@pytest.mark.parametrize("record, to_wire, from_wire", [
    (Entry("a/b", b"\x00\xff binary", 7), entry_to_wire, entry_from_wire),
    (None, entry_to_wire, entry_from_wire),
    (Event(3, 1700000000.25, "deploy", "web: 3", {"hosts": ["vm1"], "n": 2}), event_to_wire, event_from_wire),
    (LockInfo("deploy", "me@box pid 9", 1.5, 31.5), lock_info_to_wire, lock_info_from_wire),
    (None, lock_info_to_wire, lock_info_from_wire),
])
def test_records_come_back_as_they_went(record, to_wire, from_wire):
    import json

    assert from_wire(json.loads(json.dumps(to_wire(record)))) == record


@pytest.mark.parametrize("error", [LockHeld("deploy", "bob@vm2 pid 3", 1700000000.0), LockLost("lock gone"),
                                   StoreError("etcd at 10.0.0.1:2379 did not answer")])
def test_store_errors_keep_their_class_and_words(error):
    back = store_error_from_wire(store_error_to_wire(error))
    assert (type(back), str(back)) == (type(error), str(error))
    if isinstance(error, LockHeld):
        assert (back.name, back.holder, back.since) == (error.name, error.holder, error.since)


async def ask(path, request: dict) -> dict:
    reader, writer = await asyncio.open_unix_connection(str(path))
    writer.write(json_frame(request))
    await writer.drain()
    frame = await read_frame(reader)
    writer.close()
    return frame[1]


@pytest.mark.parametrize("request_", [
    {"op": "store", "method": "close", "args": {}},  # not lent: the holder owns the store
    {"op": "store", "method": "get", "args": {}},
    {"op": "store", "method": "get", "args": {"key": "a", "extra": 1}},
    {"op": "store", "method": "put", "args": {"key": "a", "value": "not base64!"}},
    {"op": "store", "method": "get", "args": ["a"]},
    {"op": "store", "method": "lock_refresh", "args": {"lock": "never-given"}},
])
async def test_a_request_the_holder_does_not_serve_is_answered_with_an_error(tmp_path, request_):
    with lending_holder(f"sqlite://{tmp_path / 's.db'}") as holder:
        answer = await ask(holder.path, request_)
        assert "value" not in answer and ("error" in answer or "store_error" in answer)
        store = LentStore(holder)
        assert await store.get("a") is None  # the holder serves on


async def test_a_holder_that_went_away_fails_the_call_as_the_store_would_in_one_line(tmp_path):
    with lending_holder(f"sqlite://{tmp_path / 's.db'}") as holder:
        store = LentStore(holder)
        assert await store.put("k", b"v") > 0
    with pytest.raises(StoreError) as raised:
        await store.get("k")
    assert "\n" not in str(raised.value) and f"pid {holder.pid}" in str(raised.value)
    assert "during get" in str(raised.value)


async def test_a_lock_the_holder_forgot_is_lost_not_refreshed(tmp_path):
    with lending_holder(f"sqlite://{tmp_path / 's.db'}") as holder:
        store = LentStore(holder)
        lock = await store.acquire_lock("deploy", "me", ttl=30)
        assert await lock.release() is True
        with pytest.raises(LockLost, match="'deploy' of me"):
            await lock.refresh()
        assert await lock.release() is False
