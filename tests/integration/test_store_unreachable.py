"""A store that cannot be reached says which one and what to check."""

from __future__ import annotations

import pytest

from kob.errors import StoreError
from kob.store import open_store


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
