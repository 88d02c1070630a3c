"""A page whose store stops answering keeps showing its last view, marked stale, and is fresh again when it is back."""

from __future__ import annotations

import time

from kob.web import create_app, site_of

from kob.errors import StoreError
from kob.spec.inventory import load_inventory
from kob.store.memory import MemoryStore

INVENTORY = """\
ssh: {user: root}
hosts:
  vm1: {address: 198.18.0.11}
services:
  web: {image: kob-demo/web:1, replicas: 2, port: 80}
"""


class AwayStore(MemoryStore):
    away = False

    async def list(self, prefix: str):
        if self.away:
            raise StoreError("etcd at a:2379 does not answer (a:2379: connection refused)")
        return await super().list(prefix)


def wait_for(what, seconds: float = 20.0):
    deadline = time.monotonic() + seconds
    while not what():
        assert time.monotonic() < deadline, "not within the time given"
        time.sleep(0.02)


def test_the_last_view_is_served_marked_stale_until_the_store_answers_again(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "shop.yaml").write_text(INVENTORY)
    store = AwayStore()
    app = create_app(store, load_inventory("shop.yaml"), refresh=0.05)
    site, client = site_of(app), app.test_client()
    try:
        wait_for(lambda: site.watcher.latest is not None)
        fresh = client.get("/api/v1/overview").get_json()
        assert fresh["stale"] is False and "Stale:" not in client.get("/").get_data(as_text=True)

        store.away = True
        wait_for(lambda: site.error is not None)
        stale = client.get("/api/v1/overview").get_json()
        assert stale["stale"] is True and "does not answer" in stale["refresh_error"]
        assert [s["name"] for s in stale["services"]] == ["web"]  # the last view, still whole
        page = client.get("/")
        assert page.status_code == 200
        assert "Stale: this is the view as of" in page.get_data(as_text=True)

        store.away = False
        wait_for(lambda: site.error is None)
        assert client.get("/api/v1/overview").get_json()["stale"] is False
        assert "Stale:" not in client.get("/").get_data(as_text=True)
    finally:
        site.close()


def test_an_inventory_edit_that_does_not_load_is_shown_in_one_line_on_the_page_and_in_the_api(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "shop.yaml").write_text(INVENTORY)
    app = create_app(MemoryStore(), load_inventory(tmp_path / "shop.yaml"))
    client = app.test_client()
    assert 'id="inventory-error"' not in client.get("/").get_data(as_text=True)
    site_of(app).inventory_error = "shop.yaml:5: services.web.replicas: 'many' is not a whole number"
    page = client.get("/").get_data(as_text=True)
    assert 'id="inventory-error"' in page and "shop.yaml:5: services.web.replicas" in page
    assert client.get("/api/v1/overview").get_json()["inventory_error"].startswith("shop.yaml:5:")
