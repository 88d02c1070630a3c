"""HAProxy on the lb hosts, driven over SSH: the config file, and servers switched at runtime."""

from __future__ import annotations

import asyncio
import hashlib
import re
from typing import Awaitable, Callable, Mapping, Sequence, TypeVar

from kob.commands import haproxy as cmd
from kob.errors import LbConfigInvalid, LbError, LbNotApplied, LbRuntimeRefused
from kob.facts.containers import HaproxyFact
from kob.facts.haproxy import (ADDED, ALREADY_THERE, DELETED, NO_SUCH_SERVER, ServerStat, parse_show_stat,
                               runtime_refusals)
from kob.lb.certificates import certs_to_ship, prune_certs, ship_certs, stale_certs
from kob.lb.model import LbConfig, LbServer
from kob.spec.service_model import DEFAULT_FAILOVER, Failover
from kob.transport.base import SshTarget, Transport

T = TypeVar("T")
FATAL = "Fatal errors found in configuration."  # HAProxy's summary after its real alerts
DELETE_ATTEMPTS = 5  # a server whose sessions were just cut may need a moment before HAProxy deletes it


class HaproxyDriver:
    """Install configs and switch servers on every lb host, all hosts in parallel."""

    def __init__(self, pool: Transport, targets: Sequence[SshTarget], *, config_path: str = cmd.CONFIG_PATH,
                 pidfile: str = cmd.PIDFILE, admin_socket: str = cmd.ADMIN_SOCKET,
                 failover: Failover = DEFAULT_FAILOVER, certs_dir: str = ""):
        """``failover``: the health-check timing of servers add_server(s) adds (the config's own come with it);
        ``certs_dir``: the folder of the TLS certificates, whose files no frontend uses are removed."""
        self.pool, self.targets = pool, tuple(targets)
        self.config_path, self.pidfile, self.admin_socket = config_path, pidfile, admin_socket
        self.failover, self.certs_dir = failover, certs_dir

    async def ensure_config(self, config: LbConfig, observed: Mapping[str, HaproxyFact | None],
                            line_up: bool = False) -> dict[str, str]:
        """Per host: unchanged | started | reloaded | written.

        written: only the servers changed; the file is replaced and the running HAProxy's servers are lined up
        with it through the runtime API (those already switched by add/remove_server cost nothing more).
        No command at all where the observed file digest matches and HAProxy runs, unless ``line_up``: then
        the running HAProxy's servers are lined up with the unchanged file too (one `show stat` when they
        match), for a run that switched servers at runtime and must not end with HAProxy apart from its file.
        """
        if config.admin_socket != self.admin_socket:
            raise ValueError(f"the config's admin socket {config.admin_socket} is not the driver's {self.admin_socket}")
        text = config.render()
        digest, structure = hashlib.sha256(text.encode()).hexdigest(), config.structure_digest()

        async def ensure(target: SshTarget) -> str:
            fact = observed.get(target.name)
            certs = await ship_certs(self.pool, target, certs_to_ship(config, fact), self.admin_socket)
            step = config_step(fact, digest, structure)
            if step == "unchanged":
                if line_up:
                    await self._line_up_servers(target, config)
                return ", ".join([step, *certs])
            done = await self._install(target, text, step == "reload")
            if done == "written":
                await self._line_up_servers(target, config)
            if self.certs_dir and stale_certs(config, fact):
                await prune_certs(self.pool, target, self.certs_dir, config)
            return ", ".join([done, *certs])

        return await self._each(ensure)

    async def add_server(self, server: LbServer) -> None:
        """Add the server (or re-point it) and put it in service on every lb host; one command per host."""
        await self.add_servers([server])

    async def add_servers(self, servers: Sequence[LbServer]) -> None:
        """add_server for several servers, still one runtime API command per host."""
        line = _add_line(servers, self.failover)
        await self._each(lambda target: self._command(target, line, (ADDED, ALREADY_THERE)))

    async def remove_server(self, server: LbServer, drain_timeout: float = 10.0) -> None:
        """Drain the server until its sessions end (at most ``drain_timeout`` s), then delete it."""
        await self._each(lambda target: self._remove(target, server, drain_timeout))

    async def stats(self) -> dict[str, list[ServerStat]]:
        """Every server of every backend, per lb host."""
        async def stats(target: SshTarget) -> list[ServerStat]:
            return list(await self._stats(target))

        return await self._each(stats)

    async def _install(self, target: SshTarget, text: str, reload: bool) -> str:
        argv = cmd.install_config_argv(self.config_path, self.pidfile, reload, self.admin_socket)
        result = await self.pool.run(target, argv, input=text.encode())
        if result.rc == cmd.EXIT_INVALID:
            raise LbConfigInvalid(target.name, haproxy_errors(result.stderr, self.config_path))
        if result.rc in (cmd.EXIT_NOT_STARTED, cmd.EXIT_NOT_RELOADED):
            raise LbNotApplied(target.name, "; ".join(haproxy_errors(result.stderr, self.config_path)))
        return result.check().stdout.strip()

    async def _line_up_servers(self, target: SshTarget, config: LbConfig) -> None:
        """Add the config's servers HAProxy lacks, re-point those it has at another address (two replicas of one
        name on two hosts, e.g. a duplicate left by a host that was unreachable), drain and delete those of its
        backends it has beyond them."""
        wanted = {(s.backend, s.name): s for s in config.servers()}
        backends = {b.name for b in config.backends}
        present = {(s.backend, s.server): s.address for s in await self._stats(target) if s.backend in backends}
        adding = [server for key, server in sorted(wanted.items())
                  if key not in present or present[key] not in (None, f"{server.address}:{server.port}")]
        if adding:
            await self._command(target, _add_line(adding, config.failover), (ADDED, ALREADY_THERE))
        for backend, name in sorted(present - wanted.keys()):
            await self._remove(target, LbServer(backend, name, "0.0.0.0", 1), 10.0)  # goes by name only

    async def _remove(self, target: SshTarget, server: LbServer, drain_timeout: float) -> None:
        drain = cmd.drain_command(server.backend, server.name)
        reply = await self._send(target, f"{drain}; {cmd.show_stat_command()}")
        answer, header, table = reply.partition("# pxname")
        refusals = runtime_refusals(answer, (NO_SUCH_SERVER,))
        if refusals:
            raise LbRuntimeRefused(target.name, drain, refusals)
        if NO_SUCH_SERVER in answer:
            return
        sessions = _sessions(parse_show_stat(target.name, header + table), server)
        loop = asyncio.get_running_loop()
        deadline, pause = loop.time() + drain_timeout, 0.1
        while sessions and loop.time() < deadline:
            await asyncio.sleep(min(pause, max(0.0, deadline - loop.time())))
            pause = min(pause * 2, 1.0)
            sessions = _sessions(await self._stats(target), server)
        if sessions:
            await self._command(target, cmd.cut_sessions_commands(server.backend, server.name))
        await self._delete(target, server)

    async def _delete(self, target: SshTarget, server: LbServer) -> None:
        line = cmd.delete_server_commands(server.backend, server.name)
        for attempt in range(DELETE_ATTEMPTS):
            refusals = runtime_refusals(await self._send(target, line), (DELETED, NO_SUCH_SERVER))
            if not refusals:
                return
            if attempt + 1 == DELETE_ATTEMPTS or not any("still has connections" in r for r in refusals):
                raise LbRuntimeRefused(target.name, line, refusals)
            await asyncio.sleep(0.2)

    async def _stats(self, target: SshTarget) -> tuple[ServerStat, ...]:
        return parse_show_stat(target.name, await self._send(target, cmd.show_stat_command()))

    async def _command(self, target: SshTarget, line: str, accepted: tuple[str, ...] = ()) -> None:
        refusals = runtime_refusals(await self._send(target, line), accepted)
        if refusals:
            raise LbRuntimeRefused(target.name, line, refusals)

    async def _send(self, target: SshTarget, line: str) -> str:
        """One runtime API command line; HAProxy's reply (socat fails only when the socket is not there)."""
        result = await self.pool.run(target, cmd.runtime_argv(self.admin_socket), input=f"{line}\n".encode())
        if not result.ok:
            reason = (result.stderr.strip().splitlines() or ["no output"])[-1]
            raise LbError(target.name, f"HAProxy's runtime API at {self.admin_socket} does not answer ({reason}); "
                                       "is HAProxy running? `kob deploy` starts it")
        return result.stdout

    async def _each(self, work: Callable[[SshTarget], Awaitable[T]]) -> dict[str, T]:
        """Run ``work`` on every host in parallel; every host finishes before the first error is raised."""
        results = await asyncio.gather(*(work(target) for target in self.targets), return_exceptions=True)
        for result in results:
            if isinstance(result, BaseException):
                raise result
        return {target.name: result for target, result in zip(self.targets, results)}


def config_step(fact: HaproxyFact | None, digest: str, structure_digest: str) -> str:
    """unchanged | install (starts HAProxy if stopped, else only writes the file) | reload.

    Not observed (None) reloads to be safe; a stopped HAProxy is started even with the file unchanged.
    """
    if fact is not None and fact.running and fact.config_digest == digest:
        return "unchanged"
    if fact is None or (fact.running and fact.structure_digest != structure_digest):
        return "reload"
    return "install"


def _add_line(servers: Sequence[LbServer], failover: Failover) -> str:
    return "; ".join(cmd.add_server_commands(s.backend, s.name, s.address, s.port, failover) for s in servers)


def _sessions(stats: Sequence[ServerStat], server: LbServer) -> int:
    return sum(s.current_sessions + s.queued for s in stats if (s.backend, s.server) == (server.backend, server.name))


def haproxy_errors(output: str, config_path: str) -> list[str]:
    """HAProxy's [ALERT] lines (else all its lines), without the pid prefix and with the real file name."""
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    alerts = [line for line in lines if line.startswith("[ALERT]")] or lines
    alerts = [line for line in alerts if not line.endswith(FATAL)] or alerts
    cleaned = [re.sub(r"^\[ALERT\]\s*(\(\d+\)\s*)?:\s*", "", line) for line in alerts]
    return [re.sub(re.escape(config_path) + r"\.kob-\w+", config_path, line) for line in cleaned]
