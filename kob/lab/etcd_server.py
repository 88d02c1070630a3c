"""The lab's etcd: one member, or a cluster of several, each on its own address on the lab bridge.

Member k listens at 198.18.NET.k (2379 for clients, 2380 for peers); member 1 uses the bridge's own
address, the others an extra /32 address on the bridge, so that `ip link del` of the bridge takes every
address with it. Members only listen on those addresses, never on the machine's others.
"""

from __future__ import annotations

import os
import socket
import time
import urllib.request
from pathlib import Path

from kob.errors import LabError
from kob.lab import system
from kob.lab.layout import ETCD_CLIENT_PORT, EtcdMemberLayout, LabLayout


def argv(member: EtcdMemberLayout, count: int) -> list[str]:
    """The etcd command of one member of a ``count``-member cluster (pure)."""
    members = member.lab.etcd_members(count)
    return ["etcd", "--name", member.name, "--data-dir", str(member.data_dir),
            "--listen-client-urls", member.client_url, "--advertise-client-urls", member.client_url,
            "--listen-peer-urls", member.peer_url, "--initial-advertise-peer-urls", member.peer_url,
            "--initial-cluster", ",".join(f"{m.name}={m.peer_url}" for m in members),
            "--initial-cluster-token", f"kob-lab{member.lab.net}", "--initial-cluster-state", "new"]


def add_address(member: EtcdMemberLayout) -> None:
    """Member k > 1 gets its own address on the lab bridge (member 1 has the bridge's)."""
    if member.k == 1:
        return
    bridge = member.lab.bridge
    shown = system.run(["ip", "-o", "addr", "show", "dev", bridge], check=False).stdout.decode()
    if f" {member.address}/" not in shown:
        system.run(["ip", "addr", "add", f"{member.address}/32", "dev", bridge])


def start(member: EtcdMemberLayout, count: int) -> int:
    """Start one member (a restarted one comes back on its own data); return its pid."""
    member.lab.etcd_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    add_address(member)
    return system.spawn(argv(member, count), member.log)


def healthy(member: EtcdMemberLayout) -> bool:
    try:
        with urllib.request.urlopen(f"{member.client_url}/health", timeout=1) as reply:
            return b'"true"' in reply.read()
    except OSError:
        return False


def listening(member: EtcdMemberLayout) -> bool:
    """The member accepts connections on its client port (it may still wait for a quorum to answer)."""
    try:
        socket.create_connection((member.address, ETCD_CLIENT_PORT), timeout=1).close()
        return True
    except OSError:
        return False


def wait_listening(member: EtcdMemberLayout, pid: int, timeout: float = 30) -> None:
    """For a member started while too few others run to elect a leader: it cannot be healthy yet."""
    deadline = time.monotonic() + timeout
    while not listening(member):
        if not system.alive(pid):
            raise LabError(f"the lab's {member.name} stopped while starting: see {member.log}")
        if time.monotonic() > deadline:
            raise LabError(f"the lab's {member.name} did not listen within {timeout:.0f} s: see {member.log}")
        time.sleep(0.1)


def wait_ready(members: list[tuple[EtcdMemberLayout, int]], timeout: float = 30) -> None:
    """Wait until every (member, pid) answers healthy: a cluster member is healthy once it has a leader."""
    deadline = time.monotonic() + timeout
    waiting = list(members)
    while waiting:
        for member, pid in list(waiting):
            if healthy(member):
                waiting.remove((member, pid))
            elif not system.alive(pid):
                raise LabError(f"the lab's {member.name} stopped while starting: see {member.log}")
        if waiting and time.monotonic() > deadline:
            names = ", ".join(member.name for member, _ in waiting)
            raise LabError(f"the lab's {names} did not answer within {timeout:.0f} s: see {waiting[0][0].log}")
        if waiting:
            time.sleep(0.1)


def strays(lab: LabLayout) -> list[int]:
    """etcd processes running on a data dir of this lab whose pids the lab's state lost (a crash in `up`)."""
    found = []
    prefix = str(lab.etcd_dir) + os.sep
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            words = (entry / "cmdline").read_bytes().decode(errors="replace").split("\0")
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            continue
        if words and os.path.basename(words[0]) == "etcd" and "--data-dir" in words:
            data_dir = words[words.index("--data-dir") + 1] if words.index("--data-dir") + 1 < len(words) else ""
            if data_dir.startswith(prefix):
                found.append(int(entry.name))
    return found
