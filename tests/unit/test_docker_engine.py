"""The Engine API reader (kob.commands.docker_engine), run by a real python3 against a fake daemon on a unix
socket: what it prints, when it gives way to the docker CLI, and that it never prints half an answer."""

from __future__ import annotations

import json
import os
import shlex
import socketserver
import subprocess
import threading
from urllib.parse import parse_qs, urlsplit

import pytest

from kob.commands.docker_engine import ENGINE_READER, reader_or
from kob.facts.containers import parse_observation

OWNER = "web-1a2b"
LABELS = {"kob.inventory": OWNER, "kob.service": "api", "kob.replica": "2", "kob.revision": "7", "kob.spec": "c0ffee",
          "kob.port": "20001", "kob.image": "app:1"}
INSPECT = {
    "aaa": {"Id": "aaa", "Name": "/kob-web-1a2b-api-2-c0ffee", "Config": {"Labels": LABELS}, "Image": "sha256:11",
            "RestartCount": 3, "State": {"Status": "running", "Pid": 42, "ExitCode": 0,
                                          "StartedAt": "2026-11-30T10:00:00.5Z", "Health": {"Status": "healthy"}}},
    "bbb": {"Id": "bbb", "Name": "/old", "Config": {"Labels": {"kob.service": "db"}}, "Image": "sha256:22",
            "RestartCount": 0, "State": {"Status": "exited", "Pid": 0, "ExitCode": 137, "StartedAt": "x"}},
}
LISTED = [{"Id": "aaa", "Labels": LABELS, "Ports": [
              {"IP": "0.0.0.0", "PrivatePort": 80, "PublicPort": 20001, "Type": "tcp"},
              {"IP": "::", "PrivatePort": 80, "PublicPort": 20001, "Type": "tcp"}, {"PrivatePort": 9000, "Type": "tcp"}]},
          {"Id": "ccc", "Labels": None, "Ports": [{"IP": "0.0.0.0", "PrivatePort": 53, "PublicPort": 5353, "Type": "udp"}]}]
IMAGES = [{"Id": "sha256:11", "RepoTags": ["app:1", "app:latest"]},
          {"Id": "sha256:22", "RepoTags": None, "RepoDigests": ["reg/db@sha256:99"]},
          {"Id": "sha256:33", "RepoTags": []}]


def answer(path: str) -> tuple[int, object]:
    """What the fake daemon answers: /containers/json filtered by one label (key or key=value) when asked."""
    url = urlsplit(path)
    if url.path == "/images/json":
        return 200, IMAGES
    if url.path.startswith("/containers/") and url.path.endswith("/json") and url.path != "/containers/json":
        found = INSPECT.get(url.path.split("/")[2])
        return (200, found) if found else (404, {"message": "no such container"})
    query = parse_qs(url.query)
    if "filters" not in query:
        return 200, LISTED
    key, _, value = json.loads(query["filters"][0])["label"][0].partition("=")
    every = [{"Id": c["Id"], "Labels": c["Config"]["Labels"]} for c in INSPECT.values()]
    return 200, [c for c in every if key in c["Labels"] and (not value or c["Labels"][key] == value)]


class Daemon(socketserver.StreamRequestHandler):
    status_override: int | None = None

    def handle(self) -> None:
        request = self.rfile.readline().decode()
        while self.rfile.readline() not in (b"\r\n", b""):
            pass
        status, body = answer(request.split(" ")[1])
        status = self.status_override or status
        self.wfile.write(f"HTTP/1.0 {status} X\r\nContent-Type: application/json\r\n\r\n".encode())
        self.wfile.write(json.dumps(body).encode())


@pytest.fixture
def daemon(tmp_path):
    """A fake Docker daemon on tmp_path/docker.sock; yields the environment that points the reader at it."""
    path = tmp_path / "docker.sock"
    server = socketserver.ThreadingUnixStreamServer(str(path), Daemon)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield {"PATH": os.environ["PATH"], "HOME": str(tmp_path), "DOCKER_HOST": f"unix://{path}"}
    server.shutdown()
    server.server_close()
    Daemon.status_override = None


def read(mode: list[str], env: dict) -> subprocess.CompletedProcess:
    return subprocess.run(["python3", "-I", "-S", "-c", ENGINE_READER, *mode], env=env, capture_output=True,
                          text=True, timeout=60, check=False)


def test_observe_prints_the_sections_the_observation_parser_reads(daemon):
    done = read(["observe"], daemon)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == "#kob-containers" and lines[3] == "#kob-images" and lines[8] == "#kob-ports"
    assert lines[4:8] == ["sha256:11\tapp:1", "sha256:11\tapp:latest", "sha256:22\treg/db:<none>",
                          "sha256:33\t<none>:<none>"]
    assert lines[9:] == [f"{OWNER}\t0.0.0.0:20001->80/tcp, [::]:20001->80/tcp", "\t0.0.0.0:5353->53/udp"]
    seen = parse_observation("vm1", done.stdout + "#kob-haproxy\nnone\nstopped\nnone\n", "other-inventory")
    assert seen.busy_ports == frozenset({20001, 5353})
    mine = parse_observation("vm1", done.stdout, OWNER)
    (api,) = mine.containers
    assert (api.name, api.service, api.replica, api.revision, api.spec_hash, api.host_port, api.state, api.health,
            api.image_id, api.image, api.started_at, api.restarts, api.exit_code) == (
        "kob-web-1a2b-api-2-c0ffee", "api", 2, 7, "c0ffee", 20001, "running", "healthy", "sha256:11", "app:1",
        "2026-11-30T10:00:00.5Z", 3, 0)
    assert mine.busy_ports == frozenset({5353})
    (old,) = mine.legacy  # a kob.service label and no owner: an earlier kob's
    assert (old.name, old.state, old.health, old.exit_code) == ("old", "exited", None, 137)


def test_sample_prints_the_owner_containers_as_the_cli_inspect_does(daemon):
    done = read(["sample", OWNER], daemon)
    assert (done.returncode, done.stdout) == (0, "aaa 42 3 running api 2\n")
    assert read(["sample", "nobody's"], daemon).stdout == ""


@pytest.mark.parametrize("change, code", [
    ({"DOCKER_HOST": "tcp://10.0.0.1:2375"}, 3),  # the CLI would talk to another daemon
    ({"DOCKER_CONTEXT": "remote"}, 3),
    ({"DOCKER_HOST": "unix:///nonexistent/docker.sock"}, 5),  # no daemon there
    ({"config": {"currentContext": "remote"}}, 3),
    ({"config": {"currentContext": "default", "auths": {}}}, 0),
    ({"status": 500}, 4),
    ({"status": 403}, 4),  # an authorization plugin said no
])
def test_the_reader_gives_way_to_the_cli_and_prints_nothing(daemon, tmp_path, change, code):
    env = {**daemon, **{k: v for k, v in change.items() if k.isupper()}}
    if "config" in change:
        (tmp_path / ".docker").mkdir()
        (tmp_path / ".docker" / "config.json").write_text(json.dumps(change["config"]))
    Daemon.status_override = change.get("status")
    done = read(["observe"], env)
    assert done.returncode == code
    assert (done.stdout == "") == (code != 0)


@pytest.mark.parametrize("env_change, printed", [
    ({}, "#kob-containers"),  # the reader answered: the fallback does not run
    ({"DOCKER_HOST": "tcp://10.0.0.1:2375"}, "cli way"),
    ({"PATH": "/nonexistent"}, "cli way"),  # no python3 on the host
])
def test_the_shell_snippet_runs_the_fallback_only_when_the_reader_gives_way(daemon, env_change, printed, tmp_path):
    script = reader_or(["observe"], ["echo 'cli way'"])
    env = {**daemon, **env_change}
    done = subprocess.run(["/bin/sh", "-c", f"set -e\n{script}\necho end"], env=env, capture_output=True, text=True,
                          timeout=60, check=False)
    assert done.returncode == 0 and done.stderr == ""
    assert done.stdout.splitlines()[0] == printed and done.stdout.splitlines()[-1] == "end"
    assert done.stdout.count("cli way") == (printed == "cli way")


def test_owner_and_mode_reach_the_reader_as_quoted_words():
    script = reader_or(["sample", "it's; rm -rf /"], ["true"])
    command = script.partition(" 2>/dev/null; then\n")[0].removeprefix("if ! ")
    words = shlex.split(command)
    assert words[:4] == ["python3", "-I", "-S", "-c"] and words[5:] == ["sample", "it's; rm -rf /"]


def test_the_reader_text_has_no_single_quote_so_it_reads_the_same_on_the_host():
    assert "'" not in ENGINE_READER
