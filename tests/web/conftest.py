"""The status page's app, built for Flask's test client the one way every web test uses."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path

import pytest
from flask.testing import FlaskClient

from kob.spec.inventory import Inventory, load_inventory
from kob.store.base import Store
from kob.store.memory import MemoryStore
from kob.web import create_app, site_of

Fill = Callable[[Store, Inventory], Awaitable[None]]
MakeClient = Callable[..., FlaskClient]


@pytest.fixture
def make_client(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[MakeClient]:
    """``make_client(inventory_text, store=None, *, files={}, fill=None, token=None)``: a test client of the page.

    The inventory is written as shop.yaml in ``tmp_path`` (the cwd) beside ``files`` (name → text, e.g. an
    env file), and loaded; ``fill(store, inventory)`` runs before the app is built on ``store`` (a fresh
    memory store by default). Every app built is closed when the test ends.
    """
    monkeypatch.chdir(tmp_path)
    apps = []

    def make(inventory_text: str, store: Store | None = None, *, files: dict[str, str] | None = None,
             fill: Fill | None = None, token: str | None = None) -> FlaskClient:
        for name, text in (files or {}).items():
            (tmp_path / name).write_text(text)
        (tmp_path / "shop.yaml").write_text(inventory_text)
        inventory = load_inventory("shop.yaml")
        store = store if store is not None else MemoryStore()
        if fill:
            asyncio.run(fill(store, inventory))
        apps.append(create_app(store, inventory, token=token))
        return apps[-1].test_client()

    yield make
    for app in apps:
        site_of(app).close()
