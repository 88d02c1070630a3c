"""The state store: one async interface, three backends chosen by a state URL.

``open_store`` takes what ``kob.spec.state_url.parse_state_url`` returns, or
a URL it parses with that same function (relative paths start at the cwd):

    memory://                           this process only (tests)
    sqlite:///abs/path.db, or a path    one file on this machine (the default)
    etcd://host[:port][,host[:port]...][/namespace]
                                        an etcd cluster without TLS; port 2379, namespace kob
                                        when left out; http:// is the same
"""

from __future__ import annotations

from pathlib import Path

from kob.errors import StoreError
from kob.spec.state_url import StateUrl, parse_state_url
from kob.store.base import Entry, Event, Lock, LockInfo, Store

__all__ = ["Entry", "Event", "Lock", "LockInfo", "StateUrl", "Store", "open_store", "parse_store_url"]


def open_store(url: str | StateUrl) -> Store:
    """The store a state URL names; connects lazily, on first use."""
    state = url if isinstance(url, StateUrl) else parse_store_url(url)
    if state.kind == "memory":
        from kob.store.memory import MemoryStore

        return MemoryStore()
    if state.kind == "sqlite" and state.path is not None:
        return _sqlite_store(state.path)
    from kob.store.etcd import EtcdStore

    return EtcdStore([(endpoint.url_host, endpoint.port) for endpoint in state.endpoints], namespace=state.namespace)


def parse_store_url(url: str) -> StateUrl:
    """parse_state_url from the cwd, its ValueError turned into a one-line StoreError."""
    try:
        return parse_state_url(url, Path.cwd())
    except ValueError as error:
        message = str(error)
        raise StoreError(message if repr(url) in message else f"store URL {url!r}: {message}") from None


def _sqlite_store(path: Path) -> Store:
    from kob.store.sqlite import SqliteStore

    if not path.parent.is_dir():
        raise StoreError(f"sqlite store {path}: directory {path.parent} does not exist; create it first")
    return SqliteStore(str(path))
