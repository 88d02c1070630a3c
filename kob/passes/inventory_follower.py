"""`kob web` and `kob serve` follow their inventory file: a valid edit is switched to, a bad one is kept out.

The file is read every few seconds and compared by content (mtime alone misses quick edits). An edit that
loads is handed to ``on_switch``; one that does not, or that names another store, leaves the running
inventory in place, and its one-line error (file:line) is logged once and kept in ``error`` (the page shows
it) until the file loads again.
"""

from __future__ import annotations

import hashlib
import stat
from pathlib import Path
from typing import Callable

from kob.errors import KobError, one_line
from kob.spec.inventory import Inventory, load_inventory
from kob.spec.yaml_source import MAX_BYTES

LOOK_EVERY = 2.0  # seconds between looks at the file (kob.web.serve looks)


class InventoryFollower:
    def __init__(self, inventory: Inventory, on_switch: Callable[[Inventory], None], say: Callable[[str], None]):
        self.inventory, self.on_switch, self.say = inventory, on_switch, say
        self.error: str | None = None
        self._digest = _digest(inventory.path)

    def check(self) -> bool:
        """Look at the file once; True when it switched to a new inventory."""
        digest = _digest(self.inventory.path)
        if digest == self._digest:
            return False
        self._digest = digest
        try:
            new = load_inventory(self.inventory.path)
            if new.state_url != self.inventory.state_url:
                raise KobError(f"{self.inventory.path}: state: changed from {self.inventory.state_url} to "
                               f"{new.state_url}; restart kob to use another store")
        except KobError as error:
            self.error = one_line(str(error))
            self.say(f"! {self.inventory.path} changed but is not taken; still serving the inventory as it was: "
                     f"{self.error}")
            return False
        self.inventory, self.error = new, None
        self.on_switch(new)
        self.say(f"kob: {new.path} changed; now serving it ({len(new.hosts)} hosts, {len(new.services)} services)")
        return True


def _digest(path: Path) -> str | None:
    """sha256 of a regular file's bytes (as much as kob would read of it); None when it is not one or cannot be
    read: the next readable state then counts as a change."""
    try:
        if not stat.S_ISREG(path.stat().st_mode):
            return None
        with path.open("rb") as file:
            return hashlib.sha256(file.read(MAX_BYTES + 1)).hexdigest()
    except OSError:
        return None
