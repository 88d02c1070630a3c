"""kob.cli.runner.run_with: opens what a command asks for, runs its coroutine, closes both, errors included."""

from __future__ import annotations

import pytest

import kob.store
from kob.cli import runner
from kob.errors import KobError
from kob.spec.inventory import load_inventory


class Recorded:
    """Stands in for the store or the transport; notes what is done with it."""

    def __init__(self, name: str, log: list[str]):
        self.name, self.log = name, log
        log.append(f"{name} made")

    async def close(self) -> None:
        self.log.append(f"{self.name} closed")

    async def __aenter__(self):
        return self

    async def __aexit__(self, *exc) -> None:
        await self.close()


@pytest.fixture
def opened(tmp_path, monkeypatch):
    """The inventory, and the log of what was made and closed (and of the store URL asked for)."""
    log: list[str] = []
    monkeypatch.setattr(kob.store, "open_store", lambda url: log.append(url) or Recorded("store", log))
    monkeypatch.setattr(runner, "open_transport", lambda inventory=None: Recorded("transport", log))
    (tmp_path / "inv.yaml").write_text("hosts:\n  vm1: {address: 10.0.0.1}\n")
    return load_inventory(str(tmp_path / "inv.yaml")), log


def test_both_are_opened_given_to_the_work_and_closed_transport_first(opened):
    inventory, log = opened

    async def work(store, transport):
        log.append(f"work on {store.name} and {transport.name}")
        return 42

    assert runner.run_with(inventory, work) == 42
    assert log == ["transport made", inventory.state_url, "store made", "work on store and transport",
                   "transport closed", "store closed"]


@pytest.mark.parametrize("lends, kind", [(True, "LentStore"), (False, "Recorded")])
def test_the_store_is_the_one_a_holder_transport_lends_when_it_lends_one(opened, monkeypatch, lends, kind):
    from kob.transport.holder_socket import HolderInfo

    inventory, log = opened
    holder = HolderInfo(inventory.path, 4242, "inv.yaml", lends_store=lends)

    def warm(inventory=None):
        made = Recorded("transport", log)
        made.holder = holder
        return made

    monkeypatch.setattr(runner, "open_transport", warm)

    async def work(store, transport):
        return type(store).__name__, getattr(store, "holder", None)

    assert runner.run_with(inventory, work) == (kind, holder if lends else None)


@pytest.mark.parametrize("store, transport, given, steps", [
    (True, False, ("store", None), ["store made", "store closed"]),
    (False, True, (None, "transport"), ["transport made", "transport closed"]),
    (False, False, (None, None), []),
])
def test_what_is_not_asked_for_is_not_opened(opened, store, transport, given, steps):
    inventory, log = opened

    async def work(s, t):
        return (s and s.name, t and t.name)

    assert runner.run_with(inventory, work, store=store, transport=transport) == given
    assert [line for line in log if line != inventory.state_url] == steps


def test_an_error_in_the_work_closes_both_and_reaches_the_caller(opened):
    inventory, log = opened

    async def work(store, transport):
        raise KobError("no")

    with pytest.raises(KobError, match="no"):
        runner.run_with(inventory, work)
    assert log[-2:] == ["transport closed", "store closed"]


def test_the_inventorys_own_store(tmp_path):
    (tmp_path / "inv.yaml").write_text(f"state: sqlite://{tmp_path}/kob.db\nhosts:\n  vm1: {{address: 10.0.0.1}}\n")
    inventory = load_inventory(str(tmp_path / "inv.yaml"))

    async def work(store, _):
        await store.put("k", b"v")
        return (await store.get("k")).value

    assert runner.run_with(inventory, work, transport=False) == b"v"
    assert (tmp_path / "kob.db").exists()


def test_the_transport_is_an_ssh_pool_that_connects_on_first_use():
    from kob.transport.ssh import SshPool

    assert isinstance(runner.open_transport(), SshPool)
