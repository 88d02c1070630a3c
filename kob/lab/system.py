"""Local commands and processes for the lab: argv lists, never shell strings."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

from kob.errors import LabError

# binary → Debian package that ships it
REQUIRED_BINARIES = {
    "ip": "iproute2",
    "nsenter": "util-linux",
    "unshare": "util-linux",
    "dockerd": "docker.io",
    "docker": "docker.io",
    "sshd": "openssh-server",
    "ssh-keygen": "openssh-client",
    "etcd": "etcd-server",
    "busybox": "busybox-static",
}
SBIN_PATHS = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def which(binary: str) -> str | None:
    return shutil.which(binary, path=SBIN_PATHS)


def check_prerequisites() -> None:
    """Refuse, in one line, when not root or when a package is missing."""
    if os.geteuid() != 0:
        raise LabError("kob lab needs root: it creates network namespaces, mounts and daemons")
    missing = sorted({pkg for binary, pkg in REQUIRED_BINARIES.items() if not which(binary)})
    if missing:
        raise LabError(f"kob lab needs Debian packages that are missing: apt-get install {' '.join(missing)}")


def run(argv: list[str], *, input: bytes | None = None, check: bool = True) -> subprocess.CompletedProcess:
    """Run a local command; a failure becomes a LabError naming the command."""
    proc = subprocess.run(argv, input=input, capture_output=True, env=_env())
    if check and proc.returncode != 0:
        err = proc.stderr.decode(errors="replace").strip().splitlines()
        raise LabError(f"{' '.join(argv)} failed (exit {proc.returncode}): {err[0] if err else 'no output'}")
    return proc


def spawn(argv: list[str], log: Path) -> int:
    """Start a long-running process in its own session; return its pid."""
    with open(log, "ab") as out:
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True, env=_env())
    return proc.pid


def _env() -> dict[str, str]:
    return {**os.environ, "PATH": SBIN_PATHS}


def alive(pid: int | None) -> bool:
    """True if the process runs (a zombie counts as gone; we reap our own)."""
    if not pid:
        return False
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return False
    return state != "Z"


def stop(pids: list[int], timeout: float, sig: int = signal.SIGTERM) -> list[int]:
    """Signal processes, wait up to timeout; return those still alive."""
    for pid in pids:
        _signal(pid, sig)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        pids = [pid for pid in pids if alive(pid)]
        if not pids:
            return []
        time.sleep(0.05)
    return [pid for pid in pids if alive(pid)]


def stop_group(pgid: int, timeout: float) -> None:
    """End a process group we started: TERM, then KILL what remains."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(pgid, sig)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not [pid for pid in _group_members(pgid) if alive(pid)]:
                return
            time.sleep(0.05)


def _group_members(pgid: int) -> list[int]:
    members = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except (FileNotFoundError, ProcessLookupError):
                continue
            if int(fields[2]) == pgid:
                members.append(int(entry.name))
    return members


def _signal(pid: int, sig: int) -> None:
    if sig == 0:
        return
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        pass


def pids_in_netns(netns: str) -> list[int]:
    """Processes whose network namespace is the named one."""
    try:
        target = os.stat(f"/run/netns/{netns}").st_ino
    except FileNotFoundError:
        return []
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if os.stat(entry / "ns" / "net").st_ino == target:
                    found.append(int(entry.name))
            except (FileNotFoundError, PermissionError, ProcessLookupError):
                continue
    return found
