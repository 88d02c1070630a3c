"""For tests of services kob runs on the test lab: the kob command as a user runs it, requests
through HAProxy (one at a time or as a counted load), and docker against one VM's own engine."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
import urllib.request
from collections import Counter


def rolling_service(bind: int, name: str = "web") -> str:
    """An inventory's services: and lb: for ``name`` (kob-demo/web, health-checked, rolled one replica at a time,
    start first, rolled back on failure) behind the frontend at ``bind``: a template of {image} and {replicas}.

    The health check gives a fresh container 5 s to start and a probe 3 s to answer, so that a machine at a
    load of 20 does not fail a healthy replica."""
    return (f"services:\n  {name}:\n    image: kob-demo/web:{{image}}\n    replicas: {{replicas}}\n    port: 80\n"
            "    healthcheck: {{http: /healthz, interval: 500ms, timeout: 3s, retries: 3, start_period: 5s}}\n"
            "    update: {{parallelism: 1, order: start-first, failure_action: rollback, monitor: 0s}}\n"
            f"lb:\n  frontends:\n    http: {{{{bind: {bind}, default: {name}}}}}\n")


def kob(*args: str, timeout: float = 180, env: dict | None = None, cwd=None) -> subprocess.CompletedProcess:
    """`python -m kob ARGS` with this interpreter (in folder ``cwd``); its exit code and output, never raising
    on failure."""
    return subprocess.run([sys.executable, "-m", "kob", *args], capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, **(env or {})}, cwd=cwd)


def fetch(url: str) -> str:
    """One GET that must answer 200; its body."""
    with urllib.request.urlopen(url, timeout=5) as reply:
        assert reply.status == 200
        return reply.read().decode()


class LoadLoop:
    """Requests to ``url`` in a thread, bounded in count and time; counts every failure.

    ``bodies`` counts the answers by what comes before " container=" (image and replica);
    ``first_seen`` holds when (time.monotonic()) each of them answered first.
    """

    def __init__(self, url: str, limit: int = 3000, seconds: float = 120, pause: float = 0.01):
        self.limit, self.seconds, self.url, self.pause = limit, seconds, url, pause
        self.ok, self.failures, self.bodies = 0, [], Counter()
        self.first_seen: dict[str, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        deadline = time.monotonic() + self.seconds
        while not self._stop.is_set() and self.ok + len(self.failures) < self.limit and time.monotonic() < deadline:
            try:
                body = fetch(self.url).split(" container=")[0]
                self.bodies[body] += 1
                self.first_seen.setdefault(body, time.monotonic())
                self.ok += 1
            except Exception as error:  # every kind of failure counts
                self.failures.append(repr(error))
            time.sleep(self.pause)

    @property
    def running(self) -> bool:
        """Still sending: not stopped, and neither bound reached."""
        return self._thread.is_alive()

    def __enter__(self) -> "LoadLoop":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


def on_vm(lab, vm: str, script: str) -> str:
    """A shell script run against a VM's own Docker Engine (from the machine, as a manager would); its stdout."""
    docker_host = f"unix://{lab.layout.vm(int(vm[2:])).docker_socket}"
    done = subprocess.run(["sh", "-c", script], capture_output=True, text=True, timeout=60,
                          env={**os.environ, "DOCKER_HOST": docker_host, "DOCKER_BUILDKIT": "0"})
    assert done.returncode == 0, done.stderr
    return done.stdout
