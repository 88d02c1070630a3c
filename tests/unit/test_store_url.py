"""open_store: which backend a URL names, and one-line errors for the rest."""

from __future__ import annotations

import pytest

from kob.errors import StoreError
from kob.store import open_store
from kob.store.etcd import EtcdStore
from kob.store.memory import MemoryStore
from kob.store.sqlite import SqliteStore


@pytest.mark.parametrize(
    ("url", "path"),
    [
        ("sqlite:///var/tmp/kob.db", "/var/tmp/kob.db"),
        ("/var/tmp/kob.db", "/var/tmp/kob.db"),
        ("/var/tmp/../kob.db", "/var/kob.db"),
    ],
)
def test_sqlite_urls_and_plain_paths(url, path):
    store = open_store(url)
    assert isinstance(store, SqliteStore) and store.path == path


@pytest.mark.parametrize(
    ("url", "endpoints", "namespace"),
    [
        ("etcd://10.0.0.1:2379", [("10.0.0.1", 2379)], "/kob/"),
        ("etcd://a:2379,b:12379", [("a", 2379), ("b", 12379)], "/kob/"),
        ("etcd://etcd.lan", [("etcd.lan", 2379)], "/kob/"),
        ("etcd://[::1]:2379/team-a", [("[::1]", 2379)], "/team-a/"),
        ("http://127.0.0.1:2379", [("127.0.0.1", 2379)], "/kob/"),
        ("http://127.0.0.1:2379/", [("127.0.0.1", 2379)], "/kob/"),
    ],
)
def test_etcd_urls(url, endpoints, namespace):
    store = open_store(url)
    assert isinstance(store, EtcdStore)
    assert (store.endpoints, store.namespace) == (endpoints, namespace)


def test_memory_url():
    assert isinstance(open_store("memory://"), MemoryStore)


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("", "is not one kob knows; use memory://, sqlite:///abs/path.db"),
        ("https://etcd:2379", "is not one kob knows"),
        ("sqlite://relative.db", "is not one kob knows"),
        ("memory://somewhere", "is not one kob knows"),
        ("redis://localhost", "is not one kob knows"),
        ("etcd://", "is not one kob knows"),
        ("etcd://host:port", "'host:port' is not host:port"),
        ("etcd://a:2379,:2379", "':2379' is not host:port"),
        ("sqlite:///no/such/dir/kob.db", "directory /no/such/dir does not exist"),
    ],
)
def test_unknown_or_broken_urls_raise_one_line_store_errors(url, message):
    with pytest.raises(StoreError) as raised:
        open_store(url)
    assert message in str(raised.value) and "\n" not in str(raised.value)


@pytest.mark.parametrize(
    ("call", "error"),
    [
        (lambda store: store.put("", b"x"), ValueError),
        (lambda store: store.put("key", "text, not bytes"), TypeError),
        (lambda store: store.acquire_lock("deploy", "me", ttl=0), ValueError),
        (lambda store: store.trim_events(-1), ValueError),
    ],
)
async def test_misuse_is_refused_before_any_write(call, error):
    store = open_store("memory://")
    with pytest.raises(error):
        await call(store)
    assert await store.list("") == []
