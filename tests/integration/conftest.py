"""Fixtures of the integration tests: a real etcd server and a store per backend (the lab's are in tests/conftest.py).

A store test parametrizes ``backend`` indirectly with "memory", "sqlite", "etcd" or "lent" (a SQLite store lent
by a connection holder, as `kob connect` lends its inventory's store to other commands).
The etcd server is started once per session, only when a test asks for it, on free
ports with a fast heartbeat (so 1 s leases are allowed), and is killed and its
data dir removed at the end.
"""

from __future__ import annotations

import shutil
import subprocess
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from kob.store import Store, open_store
from kob.transport.holder_socket import HolderInfo
from tests.helpers.etcd_cluster import die_with_parent, wait_etcd_healthy
from tests.helpers.free_port import free_port
from tests.helpers.lending_holder import lending_holder


@pytest.fixture(scope="session")
def etcd_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """http://127.0.0.1:<port> of a throwaway etcd server."""
    binary = shutil.which("etcd") or "/usr/bin/etcd"
    if not Path(binary).exists():
        pytest.skip("etcd is not installed (apt-get install etcd-server)")
    data_dir = tmp_path_factory.mktemp("etcd")  # pytest prunes it even after a kill -9
    client_url, peer_url = f"http://127.0.0.1:{free_port()}", f"http://127.0.0.1:{free_port()}"
    log_path = data_dir / "etcd.log"
    argv = [
        binary, "--name", "default", "--data-dir", str(data_dir / "data"),
        "--listen-client-urls", client_url, "--advertise-client-urls", client_url,
        "--listen-peer-urls", peer_url, "--initial-advertise-peer-urls", peer_url,
        "--initial-cluster", f"default={peer_url}",
        "--heartbeat-interval", "10", "--election-timeout", "100",
    ]  # fmt: skip
    with open(log_path, "wb") as log:
        process = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, preexec_fn=die_with_parent)
    try:
        wait_etcd_healthy(process, client_url, log_path)
        yield client_url
    finally:
        process.kill()
        process.wait(timeout=10)
        shutil.rmtree(data_dir, ignore_errors=True)


@dataclass(frozen=True)
class Backend:
    """How to reach one backend, the lock ttl its tests use, and how late
    after its ttl an abandoned lock may still be seen (etcd revokes expired
    leases every 500 ms).

    The ttl is short, to keep the tests short, but not shorter than a loaded
    machine needs: a held lock is refreshed every ttl/3, so a refresh late by
    more than 2/3 of the ttl (a busy CPU, a slow fsync) loses it.
    """

    name: str
    url: str
    lock_ttl: float
    expiry_slack: float = 0.05
    lender: HolderInfo | None = None  # the holder that lends the store at url, for "lent"

    @property
    def beyond_expiry(self) -> float:
        """Seconds after which an unrefreshed lock has surely expired."""
        return self.lock_ttl + self.expiry_slack + 0.1

    def open(self) -> Store:
        if self.lender is not None:
            from kob.lend.client import LentStore

            return LentStore(self.lender)
        return open_store(self.url)


def memory_backend(tmp_path: Path) -> Backend:
    return Backend("memory", "memory://", 0.5)


def sqlite_backend(tmp_path: Path) -> Backend:
    return Backend("sqlite", f"sqlite://{tmp_path / 'store.db'}", 0.5)


def etcd_backend(etcd_url: str) -> Backend:
    """A fresh namespace per test, so tests share the server but not data."""
    return Backend("etcd", f"{etcd_url.replace('http', 'etcd', 1)}/test-{uuid.uuid4().hex}", 1.0, 0.6)


@pytest.fixture
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    """Parametrize indirectly with "memory", "sqlite", "etcd" or "lent"."""
    if request.param == "etcd":
        yield etcd_backend(request.getfixturevalue("etcd_url"))
    elif request.param == "lent":
        url = sqlite_backend(tmp_path).url
        with lending_holder(url) as holder:
            yield Backend("lent", url, 0.5, lender=holder)
    else:
        yield {"memory": memory_backend, "sqlite": sqlite_backend}[request.param](tmp_path)


@pytest.fixture
async def store(backend: Backend) -> AsyncIterator[Store]:
    async with backend.open() as opened:
        yield opened


@pytest.fixture
async def open_other(backend: Backend, store: Store) -> AsyncIterator[Callable[[], Store]]:
    """A second client of the same data (for memory: the same object)."""
    opened: list[Store] = []

    def open_second() -> Store:
        second = store if backend.name == "memory" else backend.open()
        opened.append(second)
        return second

    yield open_second
    for second in opened:
        if second is not store:
            await second.close()

