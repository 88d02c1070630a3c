"""From inventory hosts to SSH targets."""

from __future__ import annotations

from kob.spec.inventory import Host, Inventory
from kob.transport.base import SshTarget


def ssh_target(inventory: Inventory, host: Host) -> SshTarget:
    """How to reach a host: its own settings where it has them, else the inventory's ssh: block."""
    ssh = inventory.ssh
    return SshTarget(
        name=host.name, address=host.address, port=host.port,
        user=host.user or ssh.user, key=host.key or ssh.key, known_hosts=ssh.known_hosts,
        connect_timeout=ssh.connect_timeout, command_timeout=ssh.command_timeout)
