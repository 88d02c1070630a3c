"""The SSH transport: one asyncssh connection per host per run, reused.

At most ``max_channels`` commands run at once on a connection (OpenSSH's
MaxSessions defaults to 10) and at most ``max_connects`` handshakes at once in
all. Host keys are always checked against the inventory's known_hosts file.

What costs the manager CPU per host is kept small: the key and known_hosts files
are read and parsed once per pool (again when they change), not once per host;
AES-GCM comes first among the ciphers offered (asyncssh's ChaCha20-Poly1305 makes
three cipher objects per packet; AES runs in hardware), the others follow.
"""

from __future__ import annotations

import asyncio
import shlex
import time
from collections import Counter
from pathlib import Path
from typing import AsyncIterator, Awaitable, Callable, Sequence, TypeVar

from kob.errors import AuthFailed, CommandTimeout, HostKeyRejected, HostUnreachable, TransportError
from kob.transport.asyncssh_lib import asyncssh  # without the processes its import runs
from kob.transport.base import SshTarget
from kob.transport.result import Result

T = TypeVar("T")
GCM_FIRST = ("aes128-gcm@openssh.com", "aes256-gcm@openssh.com")


def ciphers_gcm_first(defaults: Sequence[str]) -> list[str]:
    """asyncssh's default ciphers, the same set, AES-GCM first."""
    return [c for c in GCM_FIRST if c in defaults] + [c for c in defaults if c not in GCM_FIRST]


CIPHERS = ciphers_gcm_first([alg.decode() for alg in asyncssh.encryption.get_default_encryption_algs()])


class SshPool:
    """The Transport over SSH: commands on hosts over reused asyncssh connections."""

    def __init__(self, max_channels: int = 8, max_connects: int = 16):
        self.max_channels = max_channels
        self._connects = asyncio.Semaphore(max_connects)
        self._connections: dict[tuple, asyncio.Task] = {}  # by _where(target)
        self._channels: dict[tuple, asyncio.Semaphore] = {}
        self._files = ParsedFiles()
        self.exec_count: Counter[str] = Counter()

    async def __aenter__(self) -> "SshPool":
        return self

    async def __aexit__(self, *exc) -> None:
        await self.close()

    async def run(self, target: SshTarget, argv: Sequence[str], *, input: bytes | None = None,
                  timeout: float | None = None) -> Result:
        """Run argv (each word quoted for the remote shell); never raises for a non-zero exit."""
        conn = await self._connection(target)
        limit = timeout or target.command_timeout
        async with self._channels[_where(target)]:
            self.exec_count[target.name] += 1
            started = time.monotonic()
            try:  # the whole of it is bounded: a frozen sshd never confirms the channel, nor ends it
                proc = await asyncio.wait_for(_run_and_close_on_timeout(conn, shlex.join(argv), input), limit)
            except (asyncssh.TimeoutError, asyncio.TimeoutError):
                raise CommandTimeout(target.name, f"{shlex.join(argv)} did not finish within {limit:g} s") from None
            except (asyncssh.Error, OSError) as error:
                raise HostUnreachable(target.name, f"connection lost while running a command: {error}") from None
        return Result(target.name, tuple(argv), _returncode(proc), _text(proc.stdout), _text(proc.stderr),
                      time.monotonic() - started)

    async def lines(self, target: SshTarget, argv: Sequence[str]) -> AsyncIterator[str]:
        """The output lines of a long-running command (stdout), as they come; stopping the iteration ends it."""
        conn = await self._connection(target)
        async with self._channels[_where(target)]:
            self.exec_count[target.name] += 1
            try:
                proc = await _opened(target, lambda: conn.create_process(shlex.join(argv), encoding="utf-8",
                                                                          errors="replace"))
            except (asyncssh.Error, OSError) as error:
                raise HostUnreachable(target.name, f"connection lost while starting a command: {error}") from None
            try:
                async for line in proc.stdout:
                    if not line:  # asyncssh reads one '' at the end of the stream: no line (an empty one is "\n")
                        break
                    yield line.rstrip("\n")
            except (asyncssh.Error, OSError) as error:
                raise HostUnreachable(target.name, f"connection lost while reading: {error}") from None
            finally:
                proc.close()

    async def feed(self, sink: SshTarget, sink_argv: Sequence[str], chunks: AsyncIterator[bytes],
                   progress: Callable[[int], None] | None = None) -> tuple[Result, int]:
        """Stream ``chunks`` into a remote command's stdin; its result and the bytes sent.

        ``progress`` hears the running total after every chunk.
        """
        conn = await self._connection(sink)
        async with self._channels[_where(sink)]:
            self.exec_count[sink.name] += 1
            started = time.monotonic()
            try:
                writer = await _opened(sink, lambda: conn.create_process(shlex.join(sink_argv), encoding=None))
                moved = 0
                try:
                    try:
                        async for chunk in chunks:
                            writer.stdin.write(chunk)
                            # a stream may take long, but not stall: a frozen sshd stops taking data for good
                            await _stall_bounded(sink, writer.stdin.drain(), "took no data")
                            moved += len(chunk)
                            if progress:
                                progress(moved)
                        writer.stdin.write_eof()
                    except BrokenPipeError:  # the command ended before reading it all: its exit and stderr say why
                        pass
                    done = await writer.wait(timeout=sink.command_timeout)
                except BaseException:
                    writer.close()
                    raise
            except asyncssh.TimeoutError:
                raise CommandTimeout(sink.name, f"{shlex.join(sink_argv)} did not finish in time") from None
            except (asyncssh.Error, OSError) as error:
                raise HostUnreachable(sink.name, f"connection lost while streaming: {error}") from None
        return (Result(sink.name, tuple(sink_argv), _returncode(done), _text(done.stdout), _text(done.stderr),
                       time.monotonic() - started), moved)

    async def relay(self, source: SshTarget, source_argv: Sequence[str], sink: SshTarget, sink_argv: Sequence[str],
                    progress: Callable[[int], None] | None = None) -> tuple[Result, Result, int]:
        """Stream one command's stdout into another's stdin (host to host, through the manager).

        Returns both results and the bytes moved; ``progress`` hears the running total.
        """
        conn = await self._connection(source)
        async with self._channels[_where(source)]:
            self.exec_count[source.name] += 1
            started = time.monotonic()
            try:
                reader = await _opened(source, lambda: conn.create_process(shlex.join(source_argv), encoding=None))

                async def chunks() -> AsyncIterator[bytes]:
                    while chunk := await _stall_bounded(source, reader.stdout.read(1 << 16), "sent no data"):
                        yield chunk

                try:
                    loaded, moved = await self.feed(sink, sink_argv, chunks(), progress)
                    done = await reader.wait(timeout=source.command_timeout)
                except BaseException:
                    reader.close()
                    raise
            except asyncssh.TimeoutError:
                raise CommandTimeout(source.name, f"{shlex.join(source_argv)} did not finish in time") from None
            except (asyncssh.Error, OSError) as error:
                raise HostUnreachable(source.name, f"connection lost while streaming: {error}") from None
        sent = Result(source.name, tuple(source_argv), _returncode(done), "", _text(done.stderr),
                      time.monotonic() - started)
        return sent, loaded, moved

    async def connect(self, target: SshTarget) -> None:
        """Open the host's connection now rather than on its first command (a connection holder warms up)."""
        await self._connection(target)

    def drop_broken(self, target: SshTarget) -> None:
        """Forget the host's connection if its connect failed or it has closed since, so that the next command
        connects again: a run is over in seconds, but a connection holder lives through host restarts."""
        task = self._connections.get(_where(target))
        if task is None or not task.done():
            return
        if task.cancelled() or task.exception() is not None or task.result().is_closed():
            del self._connections[_where(target)]

    async def _connection(self, target: SshTarget) -> asyncssh.SSHClientConnection:
        task = self._connections.get(_where(target))
        if task is None:  # one attempt per host per run: a failure is raised again, not retried
            task = asyncio.ensure_future(self._connect(target))
            self._connections[_where(target)] = task
            self._channels[_where(target)] = asyncio.Semaphore(self.max_channels)
        return await asyncio.shield(task)

    async def _connect(self, target: SshTarget) -> asyncssh.SSHClientConnection:
        if not target.known_hosts.is_file():
            raise HostKeyRejected(target.name, f"known_hosts file {target.known_hosts} does not exist, so no host key "
                                               "can be checked; add the hosts' keys there or set ssh.known_hosts")
        async with self._connects:
            try:
                return await asyncssh.connect(
                    target.address, target.port, username=target.user,
                    client_keys=self._files.get(asyncssh.load_keypairs, target.key) if target.key else None,
                    known_hosts=self._files.get(asyncssh.read_known_hosts, target.known_hosts),
                    connect_timeout=target.connect_timeout, agent_path=None, config=[], preferred_auth="publickey",
                    encryption_algs=CIPHERS)
            except BaseException as error:  # mapped to one error per cause, naming the host
                raise connect_error(target, error) from None

    async def close(self) -> None:
        tasks = list(self._connections.values())
        self._connections.clear()
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks)
        for task in tasks:
            if not task.cancelled() and task.exception() is None:
                task.result().close()
                try:  # close() drops the socket; the bound only guards against a peer that never lets go
                    await asyncio.wait_for(task.result().wait_closed(), CLOSE_TIMEOUT)
                except asyncio.TimeoutError:
                    pass


class ParsedFiles:
    """Files read and parsed once, and again when they change (size or modification time)."""

    def __init__(self):
        self._parsed: dict[tuple, tuple[tuple[int, int], object]] = {}

    def get(self, parse: Callable[[str], T], path: Path) -> T:
        """``parse(path)``, from the last read while the file is unchanged; an error is raised, never kept."""
        stat = path.stat()
        version = (stat.st_mtime_ns, stat.st_size)
        kept = self._parsed.get((parse, path))
        if kept is None or kept[0] != version:
            kept = version, parse(str(path))
            self._parsed[parse, path] = kept
        return kept[1]


def connect_error(target: SshTarget, error: BaseException) -> BaseException:
    """The KobError for a failed connect; anything unexpected passes through unchanged."""
    where = f"{target.address}:{target.port}"
    if isinstance(error, asyncssh.HostKeyNotVerifiable):
        return HostKeyRejected(target.name, f"host key of {where} is not trusted by {target.known_hosts} "
                                            "(unknown or changed); check the host, then fix known_hosts")
    if isinstance(error, asyncssh.PermissionDenied):
        key = target.key or "the default keys"
        return AuthFailed(target.name, f"{where} refused {target.user}@ with key {key}")
    if isinstance(error, (asyncio.TimeoutError, TimeoutError)):
        return HostUnreachable(target.name, f"no answer from {where} within {target.connect_timeout:g} s")
    if isinstance(error, (OSError, asyncssh.Error)):
        reason = getattr(error, "strerror", None) or getattr(error, "reason", None) or str(error)
        return HostUnreachable(target.name, f"cannot connect to {where}: {reason}")
    return error


def _where(target: SshTarget) -> tuple[str, str, int, str]:
    """What one connection serves: two inventories may give one name to different machines or users."""
    return target.name, target.address, target.port, target.user


def _returncode(proc: asyncssh.SSHCompletedProcess) -> int:
    """The exit code, or 128 + N for a command killed by signal N, as shells report it."""
    rc = proc.returncode
    if rc is None:
        return 255
    return 128 - rc if rc < 0 else rc


def _text(data: bytes | str | None) -> str:
    if data is None:
        return ""
    return data.decode("utf-8", errors="replace") if isinstance(data, bytes) else data


__all__ = ["SshPool", "SshTarget", "Result", "TransportError"]


CHANNEL_OPEN_ATTEMPTS = 5


async def _refused_channels_retried(open_channel: Callable[[], Awaitable[T]]) -> T:
    """Open a channel again when the server refused it: sshd may still count a session the client saw close
    (MaxSessions), so a refusal right after another command ended is retried a few times, 50 ms apart and up.
    Nothing ran yet when the open is refused, so a retry never runs a command twice."""
    for attempt in range(1, CHANNEL_OPEN_ATTEMPTS):
        try:
            return await open_channel()
        except asyncssh.ChannelOpenError:
            await asyncio.sleep(0.05 * attempt)
    return await open_channel()


CLOSE_TIMEOUT = 5.0  # s closing a connection may take at the end of a run


async def _run_and_close_on_timeout(conn: asyncssh.SSHClientConnection, command: str,
                                    input: bytes | None) -> asyncssh.SSHCompletedProcess:
    """Open a channel, run ``command`` to its end; when the caller gives up (a timeout cancels this),
    the channel is closed, so that sshd ends the command and the channel no longer counts against
    MaxSessions."""
    stdin = {"stdin": asyncssh.DEVNULL} if input == b"" else {}  # asyncssh sends no end-of-file for empty input
    proc = await _refused_channels_retried(lambda: conn.create_process(command, input=input, encoding=None, **stdin))
    try:
        return await proc.wait()
    except BaseException:
        proc.close()
        raise


async def _opened(target: SshTarget, open_channel: Callable[[], Awaitable[T]]) -> T:
    """A channel opened within the host's command timeout: on a connection whose sshd froze after the
    handshake the open is never confirmed, and an unbounded wait would hang the whole run."""
    try:
        return await asyncio.wait_for(_refused_channels_retried(open_channel), target.command_timeout)
    except asyncio.TimeoutError:
        raise CommandTimeout(target.name, f"no channel opened within {target.command_timeout:g} s; "
                                          "is its sshd frozen or overloaded?") from None


async def _stall_bounded(target: SshTarget, step: Awaitable[T], stalled: str) -> T:
    """One step of a stream (a read, a drain), bounded by the host's command timeout."""
    try:
        return await asyncio.wait_for(step, target.command_timeout)
    except asyncio.TimeoutError:
        raise CommandTimeout(target.name, f"{stalled} for {target.command_timeout:g} s; is its sshd frozen "
                                          "or overloaded?") from None
