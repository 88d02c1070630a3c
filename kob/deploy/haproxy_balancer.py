"""The inventory's lb: as HAProxy configs: prepared before a rollout, switched at runtime during, written after."""

from __future__ import annotations

import asyncio
import difflib
from typing import Iterator

from kob.commands.haproxy import HaproxyPaths, retire_legacy_argv
from kob.deploy.observe import ClusterObservation, lb_hosts
from kob.deploy.rollout import Balancer
from kob.facts.containers import ContainerFact, HaproxyFact
from kob.commands.haproxy_certs import cert_path
from kob.lb import HaproxyDriver, LbBackend, LbConfig, LbFrontend, LbRoute, LbServer, LbTls
from kob.lb.certificates import cert_preview
from kob.lb.driver import config_step
from kob.plan.actions import Create, Remove, Replace
from kob.plan.diff import DesiredService, Plan
from kob.spec.inventory import Inventory
from kob.spec.service_model import DEFAULT_FAILOVER, Frontend
from kob.transport.base import SshTarget, Transport
from kob.transport.targets import ssh_target

PREVIEW = {"unchanged": "unchanged", "reload": "would reload", "install": "would write"}


class HaproxyBalancer(Balancer):
    """HAProxy on those of the inventory's lb hosts that answered the observation."""

    def __init__(self, pool: Transport, inventory: Inventory, seen: ClusterObservation, owner: str):
        self.pool, self.inventory, self.paths = pool, inventory, HaproxyPaths.of(owner)
        self.targets = [ssh_target(inventory, h) for h in lb_hosts(inventory) if h.name in seen.hosts]
        self.failover = inventory.lb.failover if inventory.lb else DEFAULT_FAILOVER
        self.driver = self._driver(self.targets)
        self.backends = balanced_services(inventory)
        self.facts = haproxy_facts(seen, self.targets)
        self.serving = list(serving(inventory, seen, self.backends))
        self.retired: set[tuple[str, str]] = set()  # (host, container name) taken out during this run
        self.switched = False  # servers were switched at runtime during this run
        self.certs_done: dict[str, list[str]] = {}  # lb host → "certificate NAME written" ... done by prepare

    async def preview(self, config: LbConfig, diff: bool = False) -> dict[str, str]:
        """Per lb host what a deploy would do to HAProxy (--check); with ``diff``, the config's unified diff."""
        steps = {}
        for target in self.targets:
            fact = self.facts[target.name]
            step = PREVIEW[config_step(fact, config.digest(), config.structure_digest())]
            if not _running(fact):
                step = "would start"
            step = ", ".join([step, *cert_preview(config, fact)])
            steps[target.name] = step + ("\n" + await self._config_diff(target, config.render()) if diff else "")
        return steps

    async def prepare(self, seen: ClusterObservation) -> None:
        """Before a rollout: HAProxy running with the new frontends and backends, and the servers serving now."""
        self.facts = haproxy_facts(seen, self.targets)
        self.serving = list(serving(self.inventory, seen, self.backends))
        config = self._config_of(seen)
        digest, structure = config.digest(), config.structure_digest()
        needing = [t for t in self.targets if not _running(self.facts[t.name])
                   or config_step(self.facts[t.name], digest, structure) == "reload"]
        if needing:
            done = await self._driver(needing).ensure_config(config, self.facts)
            self.certs_done = {host: step.split(", ")[1:] for host, step in done.items()}

    async def retire_legacy(self) -> None:
        """Soft-stop the HAProxy an earlier kob ran on the lb hosts and remove its config (kob adopt, once this
        inventory's own HAProxy listens beside it): only where that config is kob's, never a system HAProxy's."""
        await asyncio.gather(*(self.pool.run(target, retire_legacy_argv()) for target in self.targets))

    async def add(self, service: str, replicas: list[tuple[str, str, int | None]]) -> None:
        """All of them in one runtime API command per lb host."""
        servers = [LbServer(service, name, self.inventory.host(host).address, port)
                   for host, name, port in replicas if port is not None]
        if service in self.backends and servers:
            self.switched = True
            await self.driver.add_servers(servers)

    async def remove(self, service: str, host: str, name: str, port: int | None) -> None:
        """Drain and delete the replica's server; but a server is named after its container, and a duplicate
        of the replica on another host has the same name: then the server is pointed at the one that stays."""
        self.retired.add((host, name))
        if service not in self.backends or port is None:
            return
        self.switched = True
        twin = next((server for server, (other, _) in self.serving if server.name == name and other != host
                     and (other, name) not in self.retired), None)
        if twin is not None:
            await self.driver.add_servers([twin])
        else:
            await self.driver.remove_server(LbServer(service, name, self.inventory.host(host).address, port))

    async def finish(self, seen: ClusterObservation) -> dict[str, str]:
        """The config file of what runs now; HAProxy's servers lined up with it where it had to be written,
        and wherever servers were switched at runtime during this run."""
        config = self._config_of(seen)
        done = await self.driver.ensure_config(config, haproxy_facts(seen, self.targets), line_up=self.switched)
        return {host: ", ".join([step, *self.certs_done.get(host, ())]) for host, step in done.items()}

    def _config_of(self, seen: ClusterObservation) -> LbConfig:
        """The config that sends to exactly what serves now (a duplicate of one name only once)."""
        return lb_config(self.inventory, (server for server, _ in serving(self.inventory, seen, self.backends)),
                         self.paths)

    def _driver(self, targets: list[SshTarget]) -> HaproxyDriver:
        return HaproxyDriver(self.pool, targets, config_path=self.paths.config, pidfile=self.paths.pidfile,
                             admin_socket=self.paths.admin_socket, failover=self.failover, certs_dir=self.paths.certs)

    async def _config_diff(self, target: SshTarget, new_text: str) -> str:
        path = self.paths.config
        result = await self.pool.run(target, ["cat", path])
        old = result.stdout if result.ok else ""
        lines = difflib.unified_diff(old.splitlines(keepends=True), new_text.splitlines(keepends=True),
                                     f"{target.name}:{path}", f"{target.name}:{path} (new)")
        return "".join(lines).rstrip("\n") or "(no difference)"


def balanced_services(inventory: Inventory) -> set[str]:
    """Services a frontend sends to: each gets a backend of its own name."""
    names: set[str] = set()
    for frontend in inventory.lb.frontends if inventory.lb else ():
        names.update(route.service for route in frontend.routes)
        if frontend.default_service:
            names.add(frontend.default_service)
    return names


def lb_config(inventory: Inventory, servers, paths: HaproxyPaths) -> LbConfig:
    """The whole HAProxy config of the inventory's lb:, with these servers, for the HAProxy at ``paths``."""
    by_backend: dict[str, list[LbServer]] = {}
    named: set[tuple[str, str]] = set()
    for server in servers:
        if (server.backend, server.name) not in named:  # duplicates of a replica on two hosts share a name,
            named.add((server.backend, server.name))    # and HAProxy refuses a server name twice in a backend
            by_backend.setdefault(server.backend, []).append(server)
    lb = inventory.lb
    backends = tuple(LbBackend(name, lb.balance, _health_path(inventory, name), tuple(by_backend.get(name, ())))
                     for name in sorted(balanced_services(inventory)))
    frontends = tuple(LbFrontend(f.name, f.bind, tuple(LbRoute(r.service, r.host, r.path_prefix) for r in f.routes),
                                 f.default_service, _tls(f, paths)) for f in lb.frontends)
    return LbConfig(frontends, backends, paths.admin_socket, failover=lb.failover)


def _tls(frontend: Frontend, paths: HaproxyPaths) -> LbTls | None:
    tls = frontend.tls
    if tls is None:
        return None
    return LbTls(cert_path(paths.certs, frontend.name), tls.cert, tls.http2, tls.redirect_http)


def serving(inventory: Inventory, seen: ClusterObservation,
            backends: set[str]) -> Iterator[tuple[LbServer, tuple[str, str]]]:
    """Running, not unhealthy containers of balanced services: (server, (host, container id))."""
    for host, observation in seen.hosts.items():
        for c in observation.containers:
            if c.service in backends and c.running and c.health != "unhealthy" and c.host_port is not None:
                yield _server(inventory, host, c), (host, c.id)


def predicted_config(inventory: Inventory, seen: ClusterObservation, plan: Plan,
                     wants: list[DesiredService], paths: HaproxyPaths) -> LbConfig:
    """The config a deploy of ``plan`` ends with: what serves now, less what goes, plus what starts."""
    backends = balanced_services(inventory)
    going = {(a.old_host, a.old.id) if isinstance(a, Replace) else (a.host, a.container.id)
             for a in plan.actions if isinstance(a, (Replace, Remove))}
    servers = [server for server, key in serving(inventory, seen, backends) if key not in going]
    wanted = {w.service.name: w for w in wants}
    for action in plan.actions:
        start = action.start if isinstance(action, (Create, Replace)) else None
        if start and start.service in backends and start.host_port is not None:
            name = wanted[start.service].replica(start).container_name
            servers.append(LbServer(start.service, name, inventory.host(start.host).address, start.host_port))
    return lb_config(inventory, servers, paths)


def haproxy_facts(seen: ClusterObservation, targets: list[SshTarget]) -> dict[str, HaproxyFact | None]:
    return {t.name: seen.hosts[t.name].haproxy if t.name in seen.hosts else None for t in targets}


def _server(inventory: Inventory, host: str, container: ContainerFact) -> LbServer:
    return LbServer(container.service, container.name, inventory.host(host).address, container.host_port)


def _health_path(inventory: Inventory, service: str) -> str | None:
    check = inventory.service(service).healthcheck
    return check.http_path if check else None


def _running(fact: HaproxyFact | None) -> bool:
    return fact is not None and fact.running
