"""How a task's commands reach a host: over SSH (as remote_user, through sudo for become, under environment:),
or on the manager itself for ``delegate_to: localhost``. Every word stays an argv word; none is joined into a
shell line here (the SSH transport quotes each word for the remote shell)."""

from __future__ import annotations

import getpass
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import replace
from typing import Any

from kob.spec.inventory import Host, Inventory
from kob.transport.base import Transport
from kob.transport.local_run import run_local
from kob.transport.result import Result
from kob.transport.targets import ssh_target

LOCAL_NAMES = ("localhost", "127.0.0.1", "::1")
"""delegate_to names that mean the manager, unless the inventory has a host of that name."""

Runner = Callable[..., Awaitable[Result]]


def command_prefix(become: str | None, current_user: str | None, environment: Mapping[str, Any]) -> list[str]:
    """The words before a task's argv: ``sudo -n -H -u USER --`` for become (unless already that user), then
    ``env NAME=value ...`` for environment:."""
    prefix = ["sudo", "-n", "-H", "-u", become, "--"] if become and become != current_user else []
    if environment:
        prefix += ["env", *(f"{name}={'' if value is None else value}" for name, value in environment.items())]
    return prefix


def host_runner(pool: Transport, inventory: Inventory, host: Host, become: str | None, remote_user: str | None,
                environment: Mapping[str, Any]) -> Runner:
    """run(argv, input=None, timeout=None) on ``host`` over SSH."""
    target = ssh_target(inventory, host)
    target = replace(target, user=remote_user) if remote_user else target  # its own connection
    prefix = command_prefix(become, target.user, environment)

    async def run(argv: Sequence[str], input: bytes | None = None, timeout: float | None = None) -> Result:
        return await pool.run(target, [*prefix, *argv], input=input, timeout=timeout)

    return run


def local_runner(become: str | None, environment: Mapping[str, Any]) -> Runner:
    """run(argv, input=None, timeout=None) on the manager, as the user running kob (sudo for another)."""
    prefix = command_prefix(become, getpass.getuser(), environment)

    async def run(argv: Sequence[str], input: bytes | None = None, timeout: float | None = None) -> Result:
        return await run_local([*prefix, *argv], input=input, timeout=timeout)

    return run
