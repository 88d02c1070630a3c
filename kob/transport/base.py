"""What kob asks of a way to reach hosts: the ``Transport`` protocol and the ``SshTarget`` it is given.

``kob.transport.ssh.SshPool`` is the real one (asyncssh). ``kob.transport.warm.WarmTransport``
sends the same calls through a connection holder's local socket (`kob connect`, `kob serve`;
kob.transport.holder serves an SshPool there). Unit tests use a scripted fake that answers
from tables (tests/helpers/fake_transport.py). Importing this module
does not import asyncssh, so code that only names the interface stays light.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import AsyncIterator, Callable, Protocol, Sequence

from kob.transport.result import Result


@dataclass(frozen=True)
class SshTarget:
    """Everything needed to reach one host."""

    name: str
    address: str
    port: int
    user: str
    key: Path | None
    known_hosts: Path
    connect_timeout: float
    command_timeout: float


Progress = Callable[[int], None]  # hears the running total of bytes moved


class Transport(Protocol):
    """Run commands on hosts. A non-zero exit is a Result, never an exception; an unreachable host
    or a command past its timeout raises a TransportError naming the host."""

    exec_count: Counter[str]  # commands started per host, for `-v` and tests

    async def run(self, target: SshTarget, argv: Sequence[str], *, input: bytes | None = None,
                  timeout: float | None = None) -> Result:
        """Run argv (each word quoted for the remote shell), with ``input`` on its stdin."""

    def lines(self, target: SshTarget, argv: Sequence[str]) -> AsyncIterator[str]:
        """The stdout lines of a long-running command as they come; stopping the iteration ends it."""

    async def feed(self, sink: SshTarget, sink_argv: Sequence[str], chunks: AsyncIterator[bytes],
                   progress: Progress | None = None) -> tuple[Result, int]:
        """Stream ``chunks`` into a command's stdin; its result and the bytes sent."""

    async def relay(self, source: SshTarget, source_argv: Sequence[str], sink: SshTarget, sink_argv: Sequence[str],
                    progress: Progress | None = None) -> tuple[Result, Result, int]:
        """One command's stdout into another's stdin, host to host; both results and the bytes moved."""

    async def close(self) -> None:
        """Close every connection."""
