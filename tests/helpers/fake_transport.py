"""A scripted Transport for unit tests: answers from a table, records what was sent.

    fake = ScriptedTransport([
        ("vm1", "docker ps", Reply(stdout="...")),        # host, a piece of the command line, the answer
        ("*", "docker run", [Reply(rc=125, stderr="x"), Reply()]),   # answers in turn, the last one repeats
        ("vm2", "", HostUnreachable("vm2", "no route")),  # raised instead of answering
    ])
    ...
    assert fake.commands("vm1") == ["docker ps ...", ...]

The first row whose host is the target's name (or "*") and whose piece occurs in the
command line (``shlex.join(argv)``) answers. A command no row matches gets ``default``
(a successful empty reply unless told otherwise; ``None`` makes it fail the test).
"""

from __future__ import annotations

import shlex
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import AsyncIterator, Callable, Sequence, Union

from kob.transport.base import Progress, SshTarget
from kob.transport.result import Result


@dataclass(frozen=True)
class Reply:
    rc: int = 0
    stdout: str = ""
    stderr: str = ""


Answer = Union[Reply, list, BaseException, Callable[[str, tuple, "bytes | None"], Reply]]


@dataclass
class Sent:
    host: str
    command: str  # shlex.join(argv), as the remote shell would get it
    argv: tuple[str, ...]
    input: bytes | None = None


class UnscriptedCommand(AssertionError):
    """A command that no row of the table answers, with no default."""


@dataclass
class _Row:
    host: str
    piece: str
    answer: Answer
    used: int = 0


class ScriptedTransport:
    """The Transport protocol, answering from a table instead of hosts."""

    def __init__(self, table: Sequence[tuple[str, str, Answer]] = (), default: Reply | None = Reply()):
        self.rows = [_Row(host, piece, answer) for host, piece, answer in table]
        self.default = default
        self.sent: list[Sent] = []
        self.exec_count: Counter[str] = Counter()
        self.closed = False

    def script(self, host: str, piece: str, answer: Answer) -> "ScriptedTransport":
        """Add a row; earlier rows win."""
        self.rows.append(_Row(host, piece, answer))
        return self

    def commands(self, host: str | None = None) -> list[str]:
        """The command lines sent, in order; only those to ``host`` when given."""
        return [s.command for s in self.sent if host is None or s.host == host]

    async def __aenter__(self) -> "ScriptedTransport":
        return self

    async def __aexit__(self, *exc) -> None:
        await self.close()

    async def run(self, target: SshTarget, argv: Sequence[str], *, input: bytes | None = None,
                  timeout: float | None = None) -> Result:
        return self._answer(target.name, tuple(argv), input)

    async def lines(self, target: SshTarget, argv: Sequence[str]) -> AsyncIterator[str]:
        for line in self._answer(target.name, tuple(argv), None).stdout.splitlines():
            yield line

    async def feed(self, sink: SshTarget, sink_argv: Sequence[str], chunks: AsyncIterator[bytes],
                   progress: Progress | None = None) -> tuple[Result, int]:
        data = b""
        async for chunk in chunks:
            data += chunk
            if progress:
                progress(len(data))
        return self._answer(sink.name, tuple(sink_argv), data), len(data)

    async def relay(self, source: SshTarget, source_argv: Sequence[str], sink: SshTarget, sink_argv: Sequence[str],
                    progress: Progress | None = None) -> tuple[Result, Result, int]:
        sent = self._answer(source.name, tuple(source_argv), None)

        async def chunks() -> AsyncIterator[bytes]:
            yield sent.stdout.encode()

        loaded, moved = await self.feed(sink, sink_argv, chunks(), progress)
        return sent, loaded, moved

    async def close(self) -> None:
        self.closed = True

    def _answer(self, host: str, argv: tuple[str, ...], input: bytes | None) -> Result:
        command = shlex.join(argv)
        self.sent.append(Sent(host, command, argv, input))
        self.exec_count[host] += 1
        reply = self._reply(host, command, argv, input)
        return Result(host, argv, reply.rc, reply.stdout, reply.stderr, 0.0)

    def _reply(self, host: str, command: str, argv: tuple[str, ...], input: bytes | None) -> Reply:
        for row in self.rows:
            if row.host in ("*", host) and row.piece in command:
                answer = row.answer
                if isinstance(answer, list):
                    answer = answer[min(row.used, len(answer) - 1)]
                row.used += 1
                if isinstance(answer, BaseException):
                    raise answer
                return answer(host, argv, input) if callable(answer) else answer
        if self.default is None:
            raise UnscriptedCommand(f"{host}: no answer scripted for {command}")
        return self.default


def target(name: str) -> SshTarget:
    """A target for a host of the fake; nothing connects to it."""
    return SshTarget(name, f"{name}.invalid", 22, "root", None, Path("/nonexistent"), 1.0, 1.0)
