"""The inventory: which hosts kob reaches, how, and where it keeps state.

    ssh:                        # optional; defaults shown
      user: root
      key: lab/id_ed25519       # optional; relative to this file's folder; must exist
      known_hosts: lab/known_hosts    # must exist if given; default ~/.ssh/known_hosts
      connect_timeout: 10       # a duration (10, 10s, 1m), > 0
      command_timeout: 300      # a duration, > 0
    state: etcd://198.18.0.1:2379   # or a file path (its folder must exist), sqlite:///path,
                                    # etcd://host[:port][,host[:port]][/namespace], http://...;
                                    # see kob.spec.state_url. Absent: "<stem>.kob.db" beside this file
    hosts:                      # required; at least one
      vm1:
        address: 198.18.0.11    # required: IPv4, IPv6 or DNS name
        port: 22
        user: root              # default ssh.user
        key: lab/vm1_key        # default ssh.key
        roles: [lb]             # each role is also a group of the hosts that have it
        labels: {zone: a}       # string → string; scalars taken as written
        cpus: 2                 # optional: CPUs jobs may reserve here; a number > 0 (0.5 too)
        memory: 2g              # optional: memory jobs may reserve here; a size like services'
                                # resources.memory (suffix b, k, m, g; 1024-based)
      vm2: {address: 198.18.0.12}
    groups:                     # optional: name → hosts and other groups
      web: [vm1, vm2]
    services: {web: {image: nginx:1.27, port: 80}}   # optional: see kob.spec.services
    lb: {frontends: {http: {bind: 80, default: web}}}    # optional: see kob.spec.lb
    jobs: {report: {image: kob-demo/web:1}}   # optional: job templates, see kob.spec.jobs
    metrics:                    # optional
      retention: 1h             # resource samples older than this leave the store
    heal:                       # optional
      down_after: 60s           # a host unanswering this long is marked down: its replicas move

Host, group and role names share one namespace (a role is a group), except
that a host may carry a role; 'all' is reserved. Groups may name groups,
without cycles. Group members always come out in inventory order.

To add a top-level section: add its key to TOP_LEVEL_KEYS, a field to
Inventory, and read it in inventory_from_record.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path

from kob.spec.addresses import canonical_address
from kob.spec.inventory_model import (
    Control,
    Host,
    Inventory,
    SshSettings,
    frozen_mapping,
)
from kob.spec.names import check_name
from kob.spec.sizes import MAX_CPUS, memory_size
from kob.spec.state_url import StateUrl, parse_state_url
from kob.spec.yaml_source import Node, Record, did_you_mean, load_yaml

TOP_LEVEL_KEYS = ("ssh", "state", "hosts", "groups", "services", "lb", "jobs", "metrics", "heal")
SSH_KEYS = ("user", "key", "known_hosts", "connect_timeout", "command_timeout")
HOST_KEYS = ("address", "port", "user", "key", "roles", "labels", "cpus", "memory")
_EXPECTED = "a mapping with hosts:"


def load_inventory(path: str | os.PathLike[str], *, workloads: bool = True) -> Inventory:
    """Read and check an inventory file; every mistake is a SpecError with file:line.

    ``workloads=False``: only its hosts, groups, ssh, state and control settings; services, lb and jobs are
    neither read nor checked (`kob exec`, which only reaches hosts, and a command handing its work to a
    connection holder, which reads them)."""
    root = load_yaml(path, expected=_EXPECTED)
    return inventory_from_record(root.record(TOP_LEVEL_KEYS, expected=_EXPECTED), Path(path), workloads)


def inventory_from_record(top: Record, path: Path, workloads: bool = True) -> Inventory:
    folder = path.parent
    ssh = _read_ssh(top.get("ssh"), folder)
    declared = _read_hosts(top.require("hosts"), ssh, folder)
    hosts = tuple(d.host for d in declared)
    groups = _read_groups(top.get("groups"), declared)
    state = top.get("state")
    inventory = Inventory(
        path=path,
        hosts=hosts,
        groups=frozen_mapping(groups),
        ssh=ssh,
        state_url=(_read_state(state, folder) if state else parse_state_url(f"{path.stem}.kob.db", folder)).url,
        control=_read_control(top.get("metrics"), top.get("heal")),
    )

    return _with_workloads(top, inventory) if workloads else inventory


def _with_workloads(top: Record, inventory: Inventory) -> Inventory:
    """The inventory with its services, lb and jobs; their readers load only when a section is there."""
    services, lb, jobs = top.get("services"), top.get("lb"), top.get("jobs")
    if services is None and lb is None and jobs is None:
        return inventory
    from kob.spec.jobs import read_jobs
    from kob.spec.lb import read_lb
    from kob.spec.services import read_services

    read = read_services(services, inventory)
    return replace(inventory, services=read, lb=read_lb(lb, inventory, read), jobs=read_jobs(jobs, inventory))


def _read_ssh(node: Node | None, folder: Path) -> SshSettings:
    if node is None:
        return SshSettings()
    ssh = node.record(SSH_KEYS)
    default = SshSettings()
    return SshSettings(
        user=_user(ssh, default.user),
        key=ssh.get_path("key", folder, default=None, what="key file"),
        known_hosts=ssh.get_path("known_hosts", folder, default=default.known_hosts, what="known_hosts file"),
        connect_timeout=ssh.get_duration("connect_timeout", default=default.connect_timeout, above=0),
        command_timeout=ssh.get_duration("command_timeout", default=default.command_timeout, above=0),
    )


def _read_control(metrics: Node | None, heal: Node | None) -> Control:
    default = Control()
    retention = metrics.record(("retention",)).get_duration("retention", default=default.retention, above=0) \
        if metrics else default.retention
    down_after = heal.record(("down_after",)).get_duration("down_after", default=default.down_after, above=0) \
        if heal else default.down_after
    return Control(retention=retention, down_after=down_after)


def _user(record: Record, default: str) -> str:
    node = record.get("user")
    if node is None:
        return default
    user = node.as_str()
    if any(c.isspace() or c in "@:" for c in user):
        raise node.error(f"{user!r} is not a valid user name")
    return user


def _read_state(node: Node, folder: Path) -> StateUrl:
    """The state: value, parsed; a SQLite file's folder must exist now, not fail at the first command."""
    written = node.as_str()
    try:
        state = parse_state_url(written, folder)
    except ValueError as error:
        raise node.error(str(error)) from None
    if state.kind == "memory":
        raise node.error("memory:// keeps state inside one process, so every kob command would start empty; "
                         "use a file path or etcd://host:port")
    if state.path is not None:
        relative = "://" not in written and not Path(written).expanduser().is_absolute()
        _check_state_folder(node, state.path, relative)
    return state


def _check_state_folder(node: Node, path: Path, relative: bool) -> None:
    where = " (relative paths start at the folder of this file)" if relative else ""
    if path.is_dir():
        raise node.error(f"state file {path} is a folder; name the database file in it, like {path / 'kob.db'}")
    if path.exists() and not path.is_file():
        raise node.error(f"state file {path} is not a regular file (a device or a pipe); name a database file")
    if not path.parent.is_dir():
        raise node.error(f"folder {path.parent} of the state file does not exist{where}; "
                         f"create it (mkdir -p {path.parent}) or pick another path")


@dataclass(frozen=True)
class _Declared:
    """A host with the nodes later checks point at."""

    host: Host
    address: Node
    roles: tuple[Node, ...]


def _read_hosts(node: Node, ssh: SshSettings, folder: Path) -> list[_Declared]:
    entries = node.entries(expected="a mapping of host names to their settings")
    if not entries:
        raise node.error("no hosts; add at least one, e.g. vm1: {address: 198.18.0.11}")
    declared: list[_Declared] = []
    endpoints: dict[tuple[str, int], Host] = {}
    for name, value in entries:
        check_name(value, name, "host")
        one = _read_host(name, value, ssh, folder)
        endpoint = (canonical_address(one.host.address), one.host.port)
        if endpoint in endpoints:
            other = endpoints[endpoint]
            raise one.address.error(
                f"host {other.name} (line {other.line}) already uses {one.host.address} port {one.host.port}; "
                "give each host its own address or port"
            )
        endpoints[endpoint] = one.host
        declared.append(one)
    names = {d.host.name for d in declared}
    for one in declared:
        for role in one.roles:
            if role.raw in names:
                raise role.error(f"{role.raw!r} is also a host name; a role is a group too, so pick another role name")
    return declared


def _read_host(name: str, node: Node, ssh: SshSettings, folder: Path) -> _Declared:

    settings = node.record(HOST_KEYS)
    address = settings.require("address")
    try:
        canonical_address(address.as_str())
    except ValueError as error:
        raise address.error(str(error)) from None
    roles = _read_roles(settings.get("roles"))
    labels = settings.get_str_map("labels", default={}, allow_empty=True)
    host = Host(
        name=name,
        address=address.raw,
        port=settings.get_int("port", default=22, min=1, max=65535),
        user=_user(settings, ssh.user),
        key=settings.get_path("key", folder, default=ssh.key, what="key file"),
        roles=tuple(role.raw for role in roles),
        labels=frozen_mapping(labels),
        cpus=settings.get_float("cpus", default=None, above=0, max=MAX_CPUS, expected="a positive number"),
        memory=memory_size(settings.get("memory")),
        line=node.line,
    )
    return _Declared(host, address, roles)


def _read_roles(node: Node | None) -> tuple[Node, ...]:
    if node is None:
        return ()
    items = node.as_list(expected="a list of role names")
    seen: set[str] = set()
    for item in items:
        role = check_name(item, item.as_str(), "role")
        if role in seen:
            raise item.error(f"role {role!r} is listed twice")
        seen.add(role)
    return tuple(items)


def _read_groups(node: Node | None, declared: list[_Declared]) -> dict[str, tuple[str, ...]]:
    order = [d.host.name for d in declared]
    roles: dict[str, list[str]] = {}
    for one in declared:
        for role in one.host.roles:
            roles.setdefault(role, []).append(one.host.name)
    members = _read_group_members(node, set(order), roles)
    groups: dict[str, tuple[str, ...]] = {}
    expanded = _expand_all(members, roles)
    for name in members:
        groups[name] = tuple(h for h in order if h in expanded[name])
    groups.update((role, tuple(hosts)) for role, hosts in roles.items())
    return groups


def _read_group_members(node: Node | None, hosts: set[str], roles: dict[str, list[str]]) -> dict[str, list[Node]]:
    members: dict[str, list[Node]] = {}
    for name, value in node.entries(expected="a mapping of group names to lists of hosts") if node else []:
        check_name(value, name, "group")
        if name in hosts:
            raise value.error(f"{name!r} is already a host name; pick another name for the group")
        if name in roles:
            raise value.error(
                f"{name!r} is already a role (of {', '.join(roles[name])}); "
                "give hosts that role instead, or pick another group name"
            )
        members[name] = value.as_list(expected="a list of host and group names")
    known = hosts | set(members) | set(roles)
    for items in members.values():
        for item in items:
            member = item.as_str()
            if member not in known:
                raise item.error(f"no host or group named {member!r}{did_you_mean(member, known)}")
    return members


def _expand_all(members: dict[str, list[Node]], roles: dict[str, list[str]]) -> dict[str, frozenset[str]]:
    """Each group's hosts, following groups inside groups (each group once, without recursion); refuses cycles."""
    done: dict[str, frozenset[str]] = {}

    def hosts_of(member: str) -> frozenset[str]:
        return done[member] if member in done else frozenset(roles.get(member, (member,)))

    for start in members:
        visiting: list[str] = [start]
        stack = [iter(members[start])] if start not in done else []
        while stack:
            item = next(stack[-1], None)
            if item is None:
                stack.pop()
                name = visiting.pop()
                done[name] = frozenset().union(*(hosts_of(i.raw) for i in members[name]))
                continue
            member = item.raw
            if member in visiting:
                cycle = " -> ".join([*visiting, member])
                raise item.error(f"groups form a cycle ({cycle}); a group cannot include itself")
            if member in members and member not in done:
                visiting.append(member)
                stack.append(iter(members[member]))
    return done