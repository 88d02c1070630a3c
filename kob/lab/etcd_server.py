"""The lab's etcd server, on the lab bridge's address."""

from __future__ import annotations

import time
import urllib.request

from kob.errors import LabError
from kob.lab import system
from kob.lab.layout import LabLayout


def start(lab: LabLayout) -> int:
    peer = f"http://{lab.bridge_address}:2380"
    lab.etcd_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    argv = ["etcd", "--name", "kob-lab", "--data-dir", str(lab.etcd_dir / "data"),
            "--listen-client-urls", lab.etcd_url, "--advertise-client-urls", lab.etcd_url,
            "--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer,
            "--initial-cluster", f"kob-lab={peer}"]
    return system.spawn(argv, lab.etcd_dir / "etcd.log")


def healthy(lab: LabLayout) -> bool:
    try:
        with urllib.request.urlopen(f"{lab.etcd_url}/health", timeout=1) as reply:
            return b'"true"' in reply.read()
    except OSError:
        return False


def wait_ready(lab: LabLayout, pid: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if healthy(lab):
            return
        if not system.alive(pid):
            raise LabError(f"the lab's etcd stopped while starting: see {lab.etcd_dir}/etcd.log")
        time.sleep(0.1)
    raise LabError(f"the lab's etcd did not answer within {timeout:.0f} s: see {lab.etcd_dir}/etcd.log")
