"""Install, remove and inspect kob's cron.d entry for an inventory (writes files under /etc)."""

from __future__ import annotations

import getpass
import os
import sys
from dataclasses import dataclass
from pathlib import Path

from kob.cron.entry import CRON_DIR, LOG_DIR, PASSES, cron_file, entry_name, run_argv
from kob.errors import KobError


def kob_argv() -> list[str]:
    """How cron starts this same kob: the script beside this Python, else ``python -m kob``."""
    script = Path(sys.executable).parent / "kob"
    return [str(script)] if script.exists() else [sys.executable, "-m", "kob"]


def entry_path(inventory: Path, cron_dir: Path = CRON_DIR) -> Path:
    return cron_dir / entry_name(inventory)


def log_path(inventory: Path) -> Path:
    return LOG_DIR / f"{entry_name(inventory)}.log"


def install(inventory: Path, every: str, passes: tuple[str, ...] = PASSES, cron_dir: Path = CRON_DIR) -> Path:
    """Write the entry (atomically, root-owned, 0644 as cron wants); the path written."""
    name = entry_name(inventory)
    try:
        text = cron_file(name, every, getpass.getuser(), inventory, run_argv(kob_argv(), inventory, passes), passes)
    except ValueError as error:
        raise KobError(str(error)) from None
    path = cron_dir / name
    try:
        LOG_DIR.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(f".{name}.partial")  # cron skips names with a dot
        partial.write_text(text)
        partial.chmod(0o644)
        os.replace(partial, path)
    except PermissionError:
        raise KobError(f"cannot write {path}: installing a cron entry needs root") from None
    except FileNotFoundError:
        raise KobError(f"{cron_dir} does not exist: is cron installed? (Debian: apt-get install cron)") from None
    return path


def remove(inventory: Path, cron_dir: Path = CRON_DIR) -> bool:
    """Delete the entry; False when there was none."""
    try:
        entry_path(inventory, cron_dir).unlink()
    except FileNotFoundError:
        return False
    except PermissionError:
        raise KobError(f"cannot remove {entry_path(inventory, cron_dir)}: that needs root") from None
    return True


@dataclass(frozen=True)
class CronState:
    entry: Path
    schedule_line: str | None  # the line cron runs, None when not installed
    daemon_pid: int | None  # the running cron daemon, if any
    log_tail: list[str]


def cron_state(inventory: Path, cron_dir: Path = CRON_DIR, tail: int = 5) -> CronState:
    path = entry_path(inventory, cron_dir)
    try:
        line = next((l for l in path.read_text().splitlines() if l and l[0] not in "#" and "=" not in l.split()[0]),
                    None)
    except FileNotFoundError:
        line = None
    try:
        log = log_path(inventory).read_text(errors="replace").splitlines()[-tail:]
    except FileNotFoundError:
        log = []
    return CronState(path, line, cron_daemon(), log)


CRON_DAEMONS = frozenset({"cron", "crond", "cronie", "busybox-crond"})  # /proc/PID/comm of the daemons we know
START_CRON = "start one: `systemctl enable --now cron`, or `service cron start` (Debian: apt-get install cron)"


def cron_daemon(proc: Path = Path("/proc"), pidfile: Path = Path("/run/crond.pid")) -> int | None:
    """The pid of a running cron daemon: the one in Debian's /run/crond.pid, else any process named like one."""
    try:
        pid = int(pidfile.read_text().split()[0])
        if _alive(proc / str(pid)):
            return pid
    except (OSError, ValueError, IndexError):
        pass
    for entry in proc.iterdir() if proc.is_dir() else ():
        if entry.name.isdigit() and _comm(entry) in CRON_DAEMONS and _alive(entry):
            return int(entry.name)
    return None


def _comm(process: Path) -> str:
    try:
        return (process / "comm").read_text().strip()
    except OSError:
        return ""


def _alive(process: Path) -> bool:
    """The process exists and is not a zombie."""
    try:
        return "\nState:\tZ" not in (process / "status").read_text()
    except OSError:
        return False
