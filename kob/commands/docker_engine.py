"""Docker's Engine API read on the host by one small python3 program, instead of several `docker` CLI runs (pure).

Each `docker` run costs a host tens of milliseconds of CPU (a Go binary starting, reading its config, asking
the daemon); the observe and sample commands needed four to six of them on every host, and on a small VM that
is most of a no-op deploy's time. ``reader_or(mode, fallback)`` is a shell snippet that runs ENGINE_READER
(python3 -I -S, standard library only) over the daemon's unix socket and prints exactly what the ``fallback``
CLI lines print; it falls back to them, silently, when the host has no python3, when the CLI would talk to
another daemon (DOCKER_HOST not unix://, a docker context), or when the socket does not answer 200.
The reader prints nothing until it has everything, so a fallback never follows half an answer.
"""

from __future__ import annotations

import shlex

# Modes: `observe` prints the containers, images and ports sections of kob.commands.docker.observe_argv;
# `sample OWNER` prints "ID PID RESTARTS STATE SERVICE REPLICA" per container of OWNER, as the sample's
# `docker inspect` does. Python 3.6 and up; no single quote, so the text reads the same on the host.
ENGINE_READER = r"""
import json, os, socket, sys

def socket_path():
    host = os.environ.get("DOCKER_HOST", "")
    if os.environ.get("DOCKER_CONTEXT") or (host and not host.startswith("unix://")):
        sys.exit(3)
    config = os.path.join(os.environ.get("DOCKER_CONFIG") or os.path.expanduser("~/.docker"), "config.json")
    if os.path.exists(config):
        with open(config) as f:
            if json.load(f).get("currentContext", "default") not in ("", "default"):
                sys.exit(3)
    return host[len("unix://"):] if host else "/var/run/docker.sock"

def quoted(text):
    return "".join(chr(b) if b < 128 and (chr(b).isalnum() or chr(b) in "-_.") else "%%%02X" % b
                   for b in text.encode())

def get(path, query=None):
    if query is not None:
        path += "?all=1&filters=" + quoted(json.dumps({"label": [query]}))
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(60)
    s.connect(SOCKET)
    s.sendall(("GET %s HTTP/1.0\r\nHost: docker\r\n\r\n" % path).encode())
    chunks = []
    while True:
        chunk = s.recv(1 << 16)
        if not chunk:
            break
        chunks.append(chunk)
    s.close()
    head, _, body = b"".join(chunks).partition(b"\r\n\r\n")
    if head.split(b" ")[1:2] != [b"200"]:
        sys.exit(4)
    return json.loads(body.decode())

def bracketed(ip):
    return "[%s]" % ip if ":" in ip else ip

def inspected(query):
    return [get("/containers/%s/json" % c["Id"]) for c in get("/containers/json", query)]

def observe():
    out = ["#kob-containers"]
    for c in inspected("kob.service"):
        state = c["State"]
        out.append("\t".join([c["Id"], c["Name"], json.dumps(c["Config"]["Labels"], separators=(",", ":"), sort_keys=True), state["Status"],
                              (state.get("Health") or {}).get("Status", ""), c["Image"], state["StartedAt"],
                              str(c["RestartCount"]), str(state["ExitCode"])]))
    out.append("#kob-images")
    for image in get("/images/json"):
        refs = image.get("RepoTags") or [d.partition("@")[0] + ":<none>" for d in image.get("RepoDigests") or []]
        out += [image["Id"] + "\t" + ref for ref in refs or ["<none>:<none>"]]
    out.append("#kob-ports")
    for c in get("/containers/json"):
        ports = ["%s:%s->%s/%s" % (bracketed(p.get("IP", "")), p["PublicPort"], p["PrivatePort"], p["Type"])
                 for p in c.get("Ports") or [] if p.get("PublicPort")]
        out.append((c.get("Labels") or {}).get("kob.inventory", "") + "\t" + ", ".join(ports))
    return out

def sample(owner):
    out = []
    for c in inspected("kob.inventory=" + owner):
        labels = c["Config"]["Labels"] or {}
        out.append(" ".join([c["Id"], str(c["State"]["Pid"]), str(c["RestartCount"]), c["State"]["Status"],
                             labels.get("kob.service") or "-", labels.get("kob.replica") or "-"]))
    return out

try:
    SOCKET = socket_path()
    lines = observe() if sys.argv[1] == "observe" else sample(sys.argv[2])
except (OSError, ValueError, KeyError, TypeError, IndexError):
    sys.exit(5)
sys.stdout.write("".join(line + "\n" for line in lines))
"""


def reader_or(mode: list[str], fallback: list[str]) -> str:
    """Shell lines: the Engine API reader in ``mode`` (argv words), else the ``fallback`` lines (the CLI way)."""
    reader = shlex.join(["python3", "-I", "-S", "-c", ENGINE_READER, *mode])
    return "\n".join([f"if ! {reader} 2>/dev/null; then", *fallback, "fi"])
