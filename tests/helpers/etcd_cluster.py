"""A throwaway etcd cluster of real processes on 127.0.0.1 free ports, for integration tests.

Each member can be killed (SIGKILL, like a machine losing power) and started again on its
own data dir. ``stop_all`` kills every member; the fixture that makes a cluster calls it in
``finally``, and each member also gets SIGKILL when the test process dies.

A member that exits while starting is started again (``START_ATTEMPTS`` in all): etcd itself sometimes aborts
(SIGABRT) a member that rejoins while its peers restart, and the tests judge kob, not etcd's start-up.
"""

from __future__ import annotations

import ctypes
import shutil
import signal
import subprocess
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from tests.helpers.free_port import free_port

START_TIMEOUT = 20.0
START_ATTEMPTS = 3


class EtcdExited(RuntimeError):
    """An etcd process ended before it said it was healthy."""


def wait_etcd_healthy(process: subprocess.Popen, client_url: str, log_path: Path, name: str = "etcd",
                      timeout: float = START_TIMEOUT) -> None:
    """Return once the etcd at ``client_url`` says it is healthy; RuntimeError with its log's end if it exits
    or stays unhealthy for ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise EtcdExited(f"{name} exited with {process.returncode}:\n{log_path.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(f"{client_url}/health", timeout=1) as reply:
                if b'"true"' in reply.read():
                    return
        except OSError:
            pass
        time.sleep(0.05)
    raise RuntimeError(f"{name} not healthy after {timeout} s:\n{log_path.read_text()[-3000:]}")


def die_with_parent() -> None:
    """In the child: get SIGKILL when pytest dies, even if pytest is killed -9."""
    PR_SET_PDEATHSIG = 1
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


@dataclass
class Member:
    name: str
    client_port: int
    peer_port: int
    data_dir: Path
    process: subprocess.Popen | None = None

    @property
    def client_url(self) -> str:
        return f"http://127.0.0.1:{self.client_port}"

    @property
    def peer_url(self) -> str:
        return f"http://127.0.0.1:{self.peer_port}"

    @property
    def endpoint(self) -> str:
        return f"127.0.0.1:{self.client_port}"

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None


@dataclass
class EtcdCluster:
    """``size`` members; ``url(namespace)`` is a state URL naming all of them."""

    folder: Path
    size: int = 3
    members: list[Member] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.members = [Member(f"m{n}", free_port(), free_port(), self.folder / f"m{n}") for n in range(1, self.size + 1)]

    def url(self, namespace: str = "") -> str:
        return "etcd://" + ",".join(m.endpoint for m in self.members) + (f"/{namespace}" if namespace else "")

    def start_all(self) -> None:
        for member in self.members:
            self._spawn(member)
        self._wait_started(self.members)

    def start(self, member: Member) -> None:
        self._spawn(member)
        self._wait_started([member])

    def _wait_started(self, members: list[Member]) -> None:
        """Wait until every one of ``members`` is healthy and still running, starting again one that exited."""
        for attempt in range(1, START_ATTEMPTS + 1):
            for member in members:
                if attempt > 1 and not member.running:
                    self._spawn(member)
            try:
                for member in members:
                    self.wait_healthy(member)
            except EtcdExited:
                if attempt == START_ATTEMPTS:
                    raise
                continue
            if all(member.running for member in members):
                return
        exited = ", ".join(f"{m.name} ({m.process.returncode})" for m in members if not m.running)
        raise EtcdExited(f"etcd members still exit after {START_ATTEMPTS} starts: {exited}")

    def kill(self, member: Member) -> None:
        if member.process is not None:
            member.process.kill()
            member.process.wait(timeout=10)
            member.process = None

    def stop_all(self) -> None:
        for member in self.members:
            self.kill(member)

    def remove(self) -> None:
        self.stop_all()
        shutil.rmtree(self.folder, ignore_errors=True)

    def leader(self) -> Member:
        """The member the others follow, by asking each running one."""
        import json

        for member in self.members:
            if not member.running:
                continue
            request = urllib.request.Request(f"{member.client_url}/v3/maintenance/status", data=b"{}")
            try:
                with urllib.request.urlopen(request, timeout=2) as reply:
                    status = json.loads(reply.read())
            except OSError:
                continue
            if status.get("leader") and status["leader"] == status["header"]["member_id"]:
                return member
        raise RuntimeError("no member says it leads")

    def _spawn(self, member: Member) -> None:
        member.data_dir.mkdir(parents=True, exist_ok=True)
        cluster = ",".join(f"{m.name}={m.peer_url}" for m in self.members)
        argv = [
            shutil.which("etcd") or "/usr/bin/etcd", "--name", member.name, "--data-dir", str(member.data_dir / "data"),
            "--listen-client-urls", member.client_url, "--advertise-client-urls", member.client_url,
            "--listen-peer-urls", member.peer_url, "--initial-advertise-peer-urls", member.peer_url,
            "--initial-cluster", cluster, "--initial-cluster-token", f"kob-test-{self.members[0].client_port}",
            "--heartbeat-interval", "50", "--election-timeout", "500",
        ]  # fmt: skip
        with open(member.data_dir / "etcd.log", "ab") as log:  # no threads here: preexec_fn is safe
            member.process = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT,
                                              preexec_fn=die_with_parent)  # noqa: PLW1509

    def wait_healthy(self, member: Member) -> None:
        wait_etcd_healthy(member.process, member.client_url, member.data_dir / "etcd.log", f"etcd {member.name}")
