"""Who owns and who acts: an inventory's namespace, its owner label, the operator, and the deploy lock.

Deploy, the periodic passes, jobs and the page all key their state by ``namespace``;
this module sits below all of them so each may import it.

The owner label (``<file stem>-<8 hex digits>``) is made once per store namespace and kept
there. Every container kob starts carries it (label ``kob.inventory``) and every observation
filters on it, so two inventories, or a person's own ``docker run``, can share a host: an
inventory sees and changes only its own things. Two inventory files share an owner only when
they share a store namespace, which already makes them one inventory.
"""

from __future__ import annotations

import getpass
import os
import re
import secrets
import socket

from kob.errors import StoreError
from kob.spec.inventory import Inventory
from kob.store.base import Store

DEPLOY_LOCK_TTL = 10.0  # a deploy killed on another machine blocks the next one this long at most (one
# killed on this machine is freed at once: kob.store.backend.died_here)


def namespace(inventory: Inventory) -> str:
    """The prefix of every store key the inventory owns: ``kob/<inventory file stem>``."""
    return f"kob/{inventory.path.stem}"


async def owner(store: Store, inventory: Inventory) -> str:
    """The inventory's owner label, made and kept in the store on first use (race-free)."""
    key = f"{namespace(inventory)}/owner"
    entry = await store.get(key)
    if entry is None:
        made = f"{_docker_safe(inventory.path.stem)}-{secrets.token_hex(4)}"
        if await store.compare_and_swap(key, made.encode(), 0):
            return made
        entry = await store.get(key)  # another process made it first
        if entry is None:
            raise StoreError(f"the owner label at {key} vanished while it was being made; run the command again")
    return entry.value.decode()


def _docker_safe(stem: str) -> str:
    """A stem as docker names and labels take it: [A-Za-z0-9_.-], starting with a letter or digit."""
    cleaned = re.sub(r"[^A-Za-z0-9_.-]+", "-", stem).lstrip("_.-")[:40]
    return cleaned or "inventory"


def operator() -> str:
    """Who is acting: user@machine, for revisions, events and locks."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = str(os.getuid())
    return f"{user}@{socket.gethostname()}"


def deploy_lock(store: Store, inventory: Inventory, wait: float = 0):
    """The lock every change to the inventory's services takes (deploy, scale, autoscale, reconcile)."""
    return store.lock(f"{namespace(inventory)}/deploy", f"{operator()} pid {os.getpid()}", DEPLOY_LOCK_TTL, wait)
