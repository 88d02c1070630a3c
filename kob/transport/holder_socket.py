"""Where an inventory's connection holder listens, and who may talk to it.

The socket is ``<dir>/<hash of the inventory's absolute path and its store>.sock``, where ``<dir>`` is
$KOB_HOLDER_DIR, else $XDG_RUNTIME_DIR/kob, else /run/user/UID/kob, else ~/.kob/sock. The folder
is the user's own and mode 0700, the socket 0600; the holder answers only peers of its own uid
(SO_PEERCRED), and a client uses only a socket file of its own uid and mode 0600, in such a folder.
"""

from __future__ import annotations

import hashlib
import os
import socket
import stat
import struct
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from kob.errors import HolderError
from kob.transport.holder_wire import json_frame, split_frame

PROBE_TIMEOUT = 2.0  # s a live holder has to answer hello
_CREDS = struct.Struct("3i")  # struct ucred: pid, uid, gid


@dataclass(frozen=True)
class HolderInfo:
    """A live holder, as its hello answered."""

    path: Path
    pid: int
    inventory: str
    lends_store: bool = False  # it answers "store" requests (kob.lend.client)
    lends_deploy: bool = False  # it runs deploys for its clients (kob.lend.deploys)
    version: str = ""  # the holder's kob version and where its code lives
    code: str = ""

    def describe(self) -> str:
        return f"the connection holder of {self.inventory} (pid {self.pid}, {self.path})"


def code_identity() -> str:
    """Where this process's kob code lives: a holder runs deploys only for commands of the very same code."""
    import kob

    return os.path.dirname(os.path.abspath(kob.__file__))


def holder_dir(env: Mapping[str, str] = os.environ, uid: int | None = None) -> Path:
    uid = os.getuid() if uid is None else uid
    if env.get("KOB_HOLDER_DIR"):
        return Path(env["KOB_HOLDER_DIR"])
    if env.get("XDG_RUNTIME_DIR"):
        return Path(env["XDG_RUNTIME_DIR"]) / "kob"
    if Path(f"/run/user/{uid}").is_dir():
        return Path(f"/run/user/{uid}/kob")
    return Path(env.get("HOME") or Path.home()) / ".kob" / "sock"


def holder_socket_path(inventory_path: Path, state_url: str, env: Mapping[str, str] = os.environ) -> Path:
    """The socket of the holder for this inventory file and store."""
    key = f"{Path(inventory_path).resolve()}\n{state_url}".encode()
    return holder_dir(env) / f"{hashlib.sha256(key).hexdigest()[:24]}.sock"


def peer_refusal(creds: bytes, own_uid: int) -> str | None:
    """Why a peer with these SO_PEERCRED credentials may not talk to the holder, or None when it may."""
    if len(creds) != _CREDS.size:
        return "its credentials cannot be read"
    pid, uid, _ = _CREDS.unpack(creds)
    if uid != own_uid:
        return f"pid {pid} runs as uid {uid}, not {own_uid}"
    return None


def peer_credentials(sock: socket.socket) -> bytes:
    return sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, _CREDS.size)


def file_refusal(info: os.stat_result, own_uid: int, kind: str) -> str | None:
    """Why a socket file (``kind`` "socket") or its folder ("folder") is not to be trusted, or None."""
    is_kind, mode = (stat.S_ISSOCK, 0o600) if kind == "socket" else (stat.S_ISDIR, 0o700)
    if not is_kind(info.st_mode):
        return f"it is not a {kind}"
    if info.st_uid != own_uid:
        return f"it belongs to uid {info.st_uid}, not {own_uid}"
    if stat.S_IMODE(info.st_mode) != mode:
        return f"its mode is {stat.S_IMODE(info.st_mode):04o}, not {mode:04o}"
    return None


def trusted(path: Path) -> str | None:
    """Why the socket at ``path`` (and its folder) may not be used, or None when it may; missing is a reason."""
    try:
        return (file_refusal(os.lstat(path.parent), os.getuid(), "folder")
                or file_refusal(os.lstat(path), os.getuid(), "socket"))
    except FileNotFoundError:
        return "there is none"


def probe(path: Path) -> HolderInfo | None:
    """The live holder at ``path``, or None: none there, a file not to trust, or nobody answering.

    A trusted socket nobody listens on is a dead holder's: it is removed."""
    if trusted(path) is not None:
        return None
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(PROBE_TIMEOUT)
        try:
            sock.connect(str(path))
        except (ConnectionRefusedError, FileNotFoundError):
            _remove_stale(path)
            return None
        except OSError:
            return None
        try:
            sock.sendall(json_frame({"op": "hello"}))
            hello = _answer(sock)
        except (OSError, HolderError):
            return None
    if not hello or not isinstance(hello.get("pid"), int):
        return None
    lends = hello.get("lends") if isinstance(hello.get("lends"), list) else []
    return HolderInfo(path, hello["pid"], str(hello.get("inventory", "?")), lends_store="store" in lends,
                      lends_deploy="deploy" in lends, version=str(hello.get("version", "")),
                      code=str(hello.get("code", "")))


def _answer(sock: socket.socket) -> dict | None:
    buffer = b""
    while (frame := split_frame(buffer)) is None:
        chunk = sock.recv(1 << 16)
        if not chunk:
            return None
        buffer += chunk
    _, value, _ = frame
    return value.get("holder") if isinstance(value, dict) else None


def _remove_stale(path: Path) -> None:
    try:
        path.unlink()
    except FileNotFoundError:
        pass


def prepare_dir(path: Path) -> None:
    """Make the socket's folder (0700, the user's own), or raise HolderError saying why it cannot be used."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    info = os.lstat(path.parent)
    if stat.S_ISDIR(info.st_mode) and info.st_uid == os.getuid():
        os.chmod(path.parent, 0o700)  # the user's own folder, made with another mode: made private
    refusal = file_refusal(os.lstat(path.parent), os.getuid(), "folder")
    if refusal is not None:
        raise HolderError(f"cannot keep a holder's socket in {path.parent}: {refusal}")
