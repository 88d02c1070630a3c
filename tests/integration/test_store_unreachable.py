"""A store that cannot be reached says which one and what to check."""

from __future__ import annotations

import socket
import time

import pytest

from kob.errors import StoreError
from kob.store import open_store
from kob.store.etcd import EtcdStore


async def test_an_unreachable_etcd_raises_one_line_naming_the_store_and_every_endpoint():
    store = open_store("etcd://127.0.0.1:1,127.0.0.1:2")
    with pytest.raises(StoreError) as raised:
        await store.get("anything")
    await store.close()
    assert str(raised.value) == (
        "etcd at 127.0.0.1:1,127.0.0.1:2 does not answer (127.0.0.1:1: connection refused; 127.0.0.1:2: "
        "connection refused); check that its members run and that state: names them")


async def test_an_unopenable_sqlite_file_raises_store_error_naming_it(tmp_path):
    (tmp_path / "kob.db").mkdir()  # a directory where the file should be
    store = open_store(str(tmp_path / "kob.db"))
    with pytest.raises(StoreError, match=f"sqlite store {tmp_path}/kob.db: unable to open"):
        await store.put("key", b"value")
    await store.close()


async def test_a_port_that_takes_the_connection_and_never_answers_fails_within_the_operation_time():
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)  # connections wait in the backlog; nothing ever answers them
        port = silent.getsockname()[1]
        store = EtcdStore([("127.0.0.1", port)], retry_for=3.0)
        started = time.monotonic()
        with pytest.raises(StoreError) as raised:
            await store.get("anything")
        took = time.monotonic() - started
        await store.close()
    assert str(raised.value).startswith(f"etcd at 127.0.0.1:{port} does not answer (127.0.0.1:{port}: ")
    assert took < 3.0 + 2 * store.members.attempt_timeout  # the operation's time, and one attempt at most
