"""A `kob web` or `kob serve` process for the tests: a free port, its output in a file, always stopped."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from tests.helpers.free_port import free_port


class PageProcess:
    def __init__(self, command: str, inventory: Path, *options: str, log: Path, bind_host: str = "127.0.0.1",
                 token: str | None = None):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/"
        self.token, self.log = token, log
        env = {**os.environ, **({"KOB_WEB_TOKEN": token} if token else {})}
        argv = [sys.executable, "-m", "kob", command, str(inventory), "--bind", f"{bind_host}:{self.port}", *options]
        with open(log, "wb") as out:
            self.process = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, env=env)

    def wait_ready(self, timeout: float = 60) -> dict:
        """Wait until /healthz says the first refresh is done."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"kob exited with {self.process.returncode}: {self.output()}")
            try:
                health = self.get("healthz")
                if health["refreshed"]:
                    return health
            except (urllib.error.URLError, ConnectionError):
                pass
            time.sleep(0.2)
        raise AssertionError(f"the page did not come up in {timeout} s: {self.output()}")

    def get(self, path: str) -> dict:
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        with urllib.request.urlopen(urllib.request.Request(self.url + path, headers=headers), timeout=10) as reply:
            return json.loads(reply.read())

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def stop(self, how: int = signal.SIGTERM, timeout: float = 30) -> int:
        if self.process.poll() is None:
            self.process.send_signal(how)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode
