"""`kob` with stdout and stderr on a pseudo-terminal, as a person runs it: for tests of what kob does
only on a terminal (colour, redrawing)."""

from __future__ import annotations

import os
import pty
import subprocess
import sys


def kob_on_a_terminal(*args: str, env: dict[str, str], timeout: float = 60) -> tuple[int, str]:
    """`python -m kob ARGS` on a fresh pseudo-terminal: its exit code and all it wrote there."""
    leader, follower = pty.openpty()
    chunks: list[bytes] = []
    try:
        done = subprocess.Popen([sys.executable, "-m", "kob", *args], stdin=subprocess.DEVNULL, stdout=follower,
                                stderr=follower, env=env)
        os.close(follower)
        follower = -1
        while True:  # read while it runs: a full terminal buffer would stop it
            try:
                chunk = os.read(leader, 4096)
            except OSError:  # EIO: the process is gone and everything it wrote was read
                break
            if not chunk:
                break
            chunks.append(chunk)
        return done.wait(timeout=timeout), b"".join(chunks).decode()
    finally:
        os.close(leader)
        if follower != -1:
            os.close(follower)
