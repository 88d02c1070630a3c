"""The cron.d file that runs `kob cron run INVENTORY` periodically (pure).

    # kob: reconcile and autoscale /srv/kob/inventory.yaml every 1m (kob cron install)
    SHELL=/bin/sh
    PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
    * * * * * root flock -n /run/lock/kob-inventory-1a2b3c4d.lock /srv/kob/.venv/bin/kob cron run ... >>LOG 2>&1

`flock -n` keeps two runs from one machine apart; the deploy lock in the store keeps
runs from several machines apart.
"""

from __future__ import annotations

import hashlib
import re
import shlex
from pathlib import Path

CRON_DIR = Path("/etc/cron.d")
LOCK_DIR = Path("/run/lock")
LOG_DIR = Path("/var/log/kob")
PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
PASSES = ("reconcile", "autoscale")

_EVERY = re.compile(r"([0-9]+)([mhd])")
_LIMITS = {"m": 59, "h": 23, "d": 1}


def schedule(every: str) -> str:
    """Cron's five fields for 1m..59m, 1h..23h or 1d; ValueError says what is allowed."""
    match = _EVERY.fullmatch(every.strip())
    amount = int(match[1]) if match else 0
    if not match or not 1 <= amount <= _LIMITS[match[2]]:
        raise ValueError(f"--every {every!r}: give minutes (1m..59m), hours (1h..23h) or 1d; "
                         "cron cannot run more often than once a minute")
    unit = match[2]
    if unit == "m":
        return "* * * * *" if amount == 1 else f"*/{amount} * * * *"
    if unit == "h":
        return "0 * * * *" if amount == 1 else f"0 */{amount} * * *"
    return "0 0 * * *"


def entry_name(inventory: Path) -> str:
    """A cron.d file name for this inventory: Debian's cron skips names with anything but [A-Za-z0-9_-]."""
    absolute = str(inventory.resolve())
    stem = re.sub(r"[^A-Za-z0-9_-]", "-", inventory.stem)[:40] or "inventory"
    return f"kob-{stem}-{hashlib.sha256(absolute.encode()).hexdigest()[:8]}"


def run_argv(kob: list[str], inventory: Path, passes: tuple[str, ...]) -> list[str]:
    skip = [f"--no-{name}" for name in PASSES if name not in passes]
    return [*kob, "cron", "run", str(inventory.resolve()), *skip]


def cron_file(name: str, every: str, user: str, inventory: Path, argv: list[str], passes: tuple[str, ...]) -> str:
    """The whole file. Every word is shell-quoted and % (a newline to cron) escaped; a newline is refused."""
    if any(c in word for word in [*argv, user] for c in "\n\r\0"):
        raise ValueError(f"cannot put a path with a line break in a cron entry: {argv!r}")
    command = shlex.join(["flock", "-n", str(LOCK_DIR / f"{name}.lock"), *argv])
    log = shlex.quote(str(LOG_DIR / f"{name}.log"))
    return "\n".join([
        f"# kob: {' and '.join(passes)} {inventory.resolve()} every {every} (kob cron install)",
        "SHELL=/bin/sh",
        f"PATH={PATH}",
        f"{schedule(every)} {user} {command} >>{log} 2>&1".replace("%", "\\%"),
        "",
    ])
