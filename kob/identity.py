"""Who owns and who acts: an inventory's namespace, the operator, and the deploy lock.

Deploy, the periodic passes, jobs and the page all key their state by ``namespace``;
this module sits below all of them so each may import it.
"""

from __future__ import annotations

import getpass
import os
import socket

from kob.spec.inventory import Inventory
from kob.store.base import Store

DEPLOY_LOCK_TTL = 10.0  # a killed deploy blocks the next one this long at most


def namespace(inventory: Inventory) -> str:
    """The prefix of every store key the inventory owns: ``kob/<inventory file stem>``."""
    return f"kob/{inventory.path.stem}"


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
