"""The state store: one async interface, three backends chosen by URL.

    memory://                           this process only (tests)
    sqlite:///abs/path.db, or a path    one file on this machine (the default)
    etcd://host:port[,host:port][/ns]   an etcd cluster; http://host:port too
"""

from __future__ import annotations

import os

from kob.errors import StoreError
from kob.store.base import Entry, Event, Lock, LockInfo, Store

__all__ = ["Entry", "Event", "Lock", "LockInfo", "Store", "open_store"]

ETCD_DEFAULT_PORT = 2379
URL_FORMS = "memory://, sqlite:///abs/path.db, a file path, etcd://host:port[,host:port] or http://host:port"


def open_store(url: str) -> Store:
    """The store a URL names; connects lazily, on first use."""
    scheme, separator, rest = url.partition("://")
    if not separator and url:
        return _sqlite_store(url)
    if scheme == "memory" and not rest:
        from kob.store.memory import MemoryStore

        return MemoryStore()
    if scheme == "sqlite" and rest.startswith("/"):
        return _sqlite_store(rest)
    if scheme in ("etcd", "http") and rest:
        return _etcd_store(url, rest)
    raise StoreError(f"store URL {url!r} is not one kob knows; use {URL_FORMS}")


def _sqlite_store(path: str) -> Store:
    from kob.store.sqlite import SqliteStore

    path = os.path.abspath(path)
    if not os.path.isdir(os.path.dirname(path)):
        raise StoreError(f"sqlite store {path}: directory {os.path.dirname(path)} does not exist; create it first")
    return SqliteStore(path)


def _etcd_store(url: str, rest: str) -> Store:
    from kob.store.etcd import EtcdStore

    hosts, _, namespace = rest.partition("/")
    endpoints = [_etcd_endpoint(url, endpoint) for endpoint in hosts.split(",")]
    return EtcdStore(endpoints, namespace=f"/{namespace.strip('/') or 'kob'}/")


def _etcd_endpoint(url: str, endpoint: str) -> tuple[str, int]:
    host, colon, port = endpoint.rpartition(":")
    if not colon or endpoint.endswith("]"):
        host, port = endpoint, str(ETCD_DEFAULT_PORT)
    if not host or not port.isdigit():
        raise StoreError(f"store URL {url!r}: {endpoint!r} is not host:port")
    return host, int(port)
