"""The host-side timeout of a job (kob.commands.jobs.start_job_argv), run by sh against a fake `docker`.

The fake keeps the container's state in a file: `run` starts it, `inspect` tells it, `wait` returns when it
is no longer running, `kill` stops it and notes that it did. Outcomes are asserted, never how long they took.
"""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import pytest

from kob.commands.jobs import start_job_argv

FAKE_DOCKER = """\
#!/bin/sh
dir=$(dirname "$0")
case "$1" in
  run) [ -z "$FAIL" ] || { echo "docker: Error response from daemon: no such image" >&2; exit 125; }
       echo true >"$dir/state"; echo "$CONTAINER" ;;
  inspect) cat "$dir/state" 2>/dev/null || exit 1 ;;
  wait) while [ "$(cat "$dir/state")" = true ]; do sleep 0.1; done; echo 0 ;;
  kill) echo false >"$dir/state"; echo "kill $2" >>"$dir/log" ;;
esac
"""


@pytest.fixture
def docker(tmp_path) -> Path:
    (tmp_path / "docker").write_text(FAKE_DOCKER)
    (tmp_path / "docker").chmod(0o755)
    return tmp_path


def start(docker: Path, timeout: float | None, **env: str) -> subprocess.CompletedProcess:
    argv = start_job_argv(["docker", "run", "-d", "busybox"], timeout)
    environ = {**os.environ, "PATH": f"{docker}:{os.environ['PATH']}", "CONTAINER": docker.name, **env}
    return subprocess.run(argv, env=environ, capture_output=True, text=True, timeout=30, check=False)


def watchdogs(container: str) -> list[int]:
    """Processes of the watchdog of ``container`` (its name is unique to the test)."""
    found = []
    for proc in Path("/proc").iterdir():
        try:
            words = (proc / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"kob-job-watchdog" in words and container.encode() in words:
            found.append(int(proc.name))
    return found


def eventually(check, limit: float = 30.0) -> bool:
    deadline = time.monotonic() + limit
    while not check():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


def test_the_watchdog_kills_the_container_at_its_deadline_then_ends(docker):
    done = start(docker, 1)
    assert (done.returncode, done.stdout) == (0, f"{docker.name}\n")  # docker run's own output
    assert eventually(lambda: (docker / "log").exists()), "the container was never killed"
    assert (docker / "log").read_text() == f"kill {docker.name}\n"
    assert eventually(lambda: not watchdogs(docker.name)), "the watchdog outlived the container"


def test_the_watchdog_ends_with_a_container_that_ends_first_and_kills_nothing(docker):
    assert start(docker, 600).returncode == 0
    assert eventually(lambda: bool(watchdogs(docker.name)))
    (docker / "state").write_text("false\n")  # the job ended by itself
    assert eventually(lambda: not watchdogs(docker.name)), "the watchdog outlived the container"
    assert not (docker / "log").exists()


def test_the_watchdog_ends_when_the_container_is_removed(docker):
    assert start(docker, 600).returncode == 0
    assert eventually(lambda: bool(watchdogs(docker.name)))
    (docker / "state").unlink()  # docker rm -f: inspect fails from now on
    assert eventually(lambda: not watchdogs(docker.name)), "the watchdog outlived the container"


def test_a_refused_docker_run_fails_as_docker_did_and_starts_no_watchdog(docker):
    done = start(docker, 1, FAIL="1")
    refused = "docker: Error response from daemon: no such image\n"
    assert (done.returncode, done.stdout, done.stderr) == (125, "", refused)
    assert not watchdogs(docker.name)


def test_without_a_timeout_docker_run_is_run_as_it_is():
    assert start_job_argv(["docker", "run", "-d", "x"], None) == ["docker", "run", "-d", "x"]
