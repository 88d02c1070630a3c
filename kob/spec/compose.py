"""`kob import compose`: a Compose file → an inventory with its services: and lb: sections (pure but for reading).

    result = import_compose("docker-compose.yaml", output=Path("inventory.yaml"), environ=os.environ,
                            hosts_from=None)       # or the path of an inventory whose hosts to use
    result.text        # the inventory, commented; it loads with kob.spec.inventory (check_loads)
    result.env_files   # {"db.env": "POSTGRES_PASSWORD=..."}: to write beside it, mode 0600
    result.notes       # every Compose feature kob lacks or takes differently, with its file:line

The Compose file is read as every kob file is (kob.spec.yaml_source: a regular file of at most 2 MiB,
64 levels, 200000 values with aliases expanded, one document); its mistakes are one line naming
file:line. What each service key becomes is listed in kob.spec.compose_services; ${VAR} is resolved
from the environment (kob.spec.compose_values). The hosts come from ``hosts_from`` (its text is kept,
less its own services: and lb:), else a placeholder hosts: block names example VMs for the user to
replace, with the labels the Compose constraints ask for, and vm1 in the lb role.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

from kob.errors import SpecError, one_line
from kob.spec.compose_render import Entry, commented, render, scalar
from kob.spec.compose_model import ImportedService
from kob.spec.compose_services import ServiceReader
from kob.spec.compose_values import Note, Values
from kob.spec.env_file import MAX_ENV_FILE, bad_env_line
from kob.spec.inventory import TOP_LEVEL_KEYS, inventory_from_record, load_inventory
from kob.spec.inventory_model import Host, Inventory
from kob.spec.service_model import HOST_PORTS
from kob.spec.yaml_source import Node, load_yaml, parse_yaml

_EXPECTED = "a Compose file: a mapping with services:"
TOP_LEVEL_NOTES = {
    "version": "obsolete in Compose itself; not needed",
    "name": "the project name; a kob inventory is named by its file",
    "networks": "kob's services reach each other through the lb frontends (HAProxy), not Compose networks",
    "secrets": "kob has no secret objects: keep secrets in each service's env_file",
    "configs": "kob has no config objects: mount files with volumes:",
    "include": "import each included Compose file on its own, then join the services: sections",
}
PLACEHOLDER_NET = "192.0.2."  # TEST-NET-1: documentation addresses, never a real host
PLACEHOLDER_HOSTS = 50  # at most, whatever number of label values the constraints name


@dataclass(frozen=True)
class ComposeImport:
    text: str
    env_files: Mapping[str, str]
    notes: tuple[Note, ...]


def import_compose(compose: str | os.PathLike[str], *, output: Path, environ: Mapping[str, str],
                   hosts_from: str | os.PathLike[str] | None = None, write_env_files: bool = True) -> ComposeImport:
    """The inventory for ``compose``, to be written at ``output`` (relative paths start at its folder)."""
    root = load_yaml(compose, expected=_EXPECTED)
    notes: list[Note] = []
    values = Values(environ, notes)
    top = dict(root.entries(expected=_EXPECTED))
    for key, node in top.items():
        if key not in ("services", "volumes"):
            values.note(node, "x- extension fields are for Compose itself; left out" if key.startswith("x-")
                        else TOP_LEVEL_NOTES.get(key, "kob has no equivalent; left out"))
    if "services" not in top:
        raise root.error("no services: here; is this a Compose file?")
    _named_volumes(top.get("volumes"), values)
    base = Path(os.path.abspath(os.fspath(compose))).parent
    reader = ServiceReader(values, base, Path(os.path.abspath(output)).parent, write_env_files)
    try:
        services = _services(top["services"], reader)
    except SpecError as error:
        unset = [note.message.split()[0] for note in notes
                 if (note.line, note.path) == (error.line, error.keypath) and " is not set in " in note.message]
        if not unset:
            raise
        raise SpecError(error.file, error.line, error.keypath,
                        f"{error.message} ({', '.join(unset)} is not set in kob's environment)") from None
    inventory, hosts_text = _hosts(hosts_from, services, values, top["services"], Path(os.path.abspath(output)))
    for service in services:
        _finish_placement(service, inventory.hosts, values)
    lb = _lb(services, inventory, values, reader.proxy_bind)
    notes.sort(key=lambda note: note.line)
    text = _document(os.fspath(compose), notes, hosts_text, services, lb)
    env_files = {s.env_file: s.generated_env for s in services if s.generated_env is not None and write_env_files}
    return ComposeImport(text, env_files, tuple(notes))


def project_environment(compose: str | os.PathLike[str], environ: Mapping[str, str]) -> dict[str, str]:
    """What Compose interpolates from: the .env file beside the Compose file, under ``environ`` (which wins)."""
    path = Path(os.path.abspath(os.fspath(compose))).parent / ".env"
    if not path.is_file():
        return dict(environ)
    with open(path, "rb") as file:
        data = file.read(MAX_ENV_FILE + 1)
    bad = bad_env_line(data) if len(data) <= MAX_ENV_FILE else 1
    if bad is not None:
        raise SpecError(str(path), bad, "", f"not NAME=value (or the file is over {MAX_ENV_FILE >> 10} KiB); "
                                            "Compose reads this file for ${...} too: fix it")
    found = {}
    for line in data.decode("utf-8-sig").splitlines():
        name, equals, value = line.strip().partition("=")
        if not equals or name.startswith("#"):
            continue
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        elif " #" in value:
            value = value.split(" #", 1)[0].rstrip()
        found[name.strip()] = value
    return {**found, **environ}


def check_loads(text: str, output: Path) -> Inventory:
    """The imported inventory as kob's loader reads it at ``output`` (its env files must be there)."""
    try:
        return inventory_from_record(parse_yaml(text, os.fspath(output)).record(TOP_LEVEL_KEYS), output)
    except SpecError as error:
        raise SpecError(error.file, error.line, error.keypath,
                        f"{error.message} (in the imported inventory; fix the Compose file or edit the output)") \
            from None


def kob_name(node: Node, name: str) -> str:
    """A Compose service name as kob's: lowercase, '_' and '.' as '-'."""
    converted = re.sub(r"[_.]", "-", name.lower())
    if not re.fullmatch(r"[a-z0-9][a-z0-9-]{0,39}", converted) or converted == "all":
        raise node.error(f"service name {name!r} cannot be a kob service name (lowercase letters, digits and '-', "
                         "at most 40 characters, not 'all'); rename it in the Compose file")
    return converted


def _services(node: Node, reader: ServiceReader) -> list[ImportedService]:
    services: list[ImportedService] = []
    taken: dict[str, str] = {}
    for compose_name, value in node.entries(expected="a mapping of service names to their settings"):
        name = kob_name(value, compose_name)
        if name in taken:
            raise value.error(f"{compose_name!r} and {taken[name]!r} are both {name!r} in kob; rename one")
        taken[name] = compose_name
        service = reader.read(name, compose_name, value)
        if service is not None:
            services.append(service)
    if not services:
        raise node.error("no service kob can run: each needs an image:")
    return services


def _named_volumes(node: Node | None, values: Values) -> None:
    for name, value in node.entries(expected="a mapping of volume names") if node else []:
        settings = dict(value.entries()) if value.kind == "mapping" else {}
        if settings:
            values.note(value, f"kob mounts docker's local volume {name!r} on each host (docker makes it where "
                               f"missing); {', '.join(settings)} left out")


# -- hosts ---------------------------------------------------------------------------------------------


def _hosts(hosts_from, services: list[ImportedService], values: Values, at: Node,
           output: Path) -> tuple[Inventory, str]:
    """The inventory the services go into, and the text of its sections but services: and lb:."""
    if hosts_from is None:
        return _placeholder(services)
    inventory = load_inventory(hosts_from)
    lines = Path(hosts_from).read_text(encoding="utf-8-sig").splitlines()
    starts = sorted((node.line, key) for key, node in load_yaml(hosts_from).entries())
    kept = list(lines[:starts[0][0] - 1])  # lines before the first key, blank where a section is left out
    for index, (line, key) in enumerate(starts):
        end = starts[index + 1][0] - 1 if index + 1 < len(starts) else len(lines)
        if key in ("services", "lb"):
            values.note(at, f"the {key}: section of {os.fspath(hosts_from)} is replaced by the Compose file's")
            kept += [""] * (end - line + 1)
        else:
            kept += lines[line - 1:end]
    text = "\n".join(kept)
    try:  # the same settings at the output's folder, where relative paths then start
        inventory_from_record(parse_yaml(text, os.fspath(hosts_from)).record(TOP_LEVEL_KEYS), output)
    except SpecError as error:
        raise SpecError(error.file, error.line, error.keypath,
                        f"{error.message}, once the inventory is in {output.parent}: write -o beside "
                        f"{os.fspath(hosts_from)}, or make its paths absolute") from None
    kept_text = re.sub(r"\n{3,}", "\n\n", text).strip("\n")
    return inventory, f"# hosts and settings from {os.fspath(hosts_from)}\n{kept_text}"


def _placeholder(services: list[ImportedService]) -> tuple[Inventory, str]:
    wanted: dict[str, list[str]] = {}
    for service in services:
        for constraint in service.constraints:
            values = wanted.setdefault(constraint.label, [])
            if constraint.value not in values:
                values.append(constraint.value)
    count = min(PLACEHOLDER_HOSTS, max([2, *(len(v) for v in wanted.values())]))  # values beyond: a note each
    hosts = []
    lines = ["# Hosts: a placeholder. Put your VMs here (kob reaches them over SSH, as root unless ssh: says",
             "# otherwise), or import again with --hosts-from YOUR-INVENTORY.yaml.",
             "ssh: {user: root}                     # key: ~/.ssh/id_ed25519, known_hosts: ~/.ssh/known_hosts",
             "hosts:"]
    for index in range(count):
        labels = {label: vals[index] if index < len(vals) else vals[0] for label, vals in wanted.items()}
        name, address = f"vm{index + 1}", f"{PLACEHOLDER_NET}{11 + index}"
        roles = ("lb",) if index == 0 else ()
        hosts.append(Host(name=name, address=address, roles=roles, labels=labels))
        parts = [f"address: {address}"] + (["roles: [lb]"] if roles else [])
        if labels:
            parts.append("labels: {" + ", ".join(f"{scalar(k)}: {scalar(v)}" for k, v in labels.items()) + "}")
        why = "runs HAProxy (lb: below)" if roles else ""
        if labels:
            why += ("; " if why else "") + "labels the Compose constraints ask for"
        lines.append(commented(f"  {name}: {{{', '.join(parts)}}}", why))
    return Inventory(path=Path("placeholder"), hosts=tuple(hosts)), "\n".join(lines)


def _finish_placement(service: ImportedService, hosts: tuple[Host, ...], values: Values) -> None:
    """Constraints that fit the hosts, max_per_host, and global mode's one replica a host."""
    constraints = []
    eligible = list(hosts)
    for constraint in service.constraints:
        present = any(host.labels.get(constraint.label) == constraint.value for host in hosts)
        text = f"{constraint.label}{'==' if constraint.equal else '!='}{constraint.value}"
        if present:
            constraints.append(text)
            eligible = [host for host in eligible
                        if (host.labels.get(constraint.label) == constraint.value) == constraint.equal]
        elif constraint.equal:
            values.note(constraint.node, f"no host has the label {constraint.label}={constraint.value}, so {text} "
                                         "would place nothing; left out (add the label to the hosts, then the "
                                         "constraint)")
        else:
            values.note(constraint.node, f"no host has the label {constraint.label}={constraint.value}, so every "
                                         f"host meets {text}; left out")
    max_per_host = service.max_per_host
    pattern = _host_pattern(service, hosts, values)
    if service.global_mode:
        chosen = pattern.split(",") if pattern else ["all"]
        eligible = [host for host in eligible if (chosen[0] == "all" or host.name == chosen[0])
                    and f"!{host.name}" not in chosen]
        values.note(service.node, f"deploy.mode global: one replica on each of the {len(eligible)} hosts it may run "
                                  f"on (replicas: {len(eligible)}, max_per_host: 1); change replicas: when hosts "
                                  "come or go")
        service.entries.insert(1, Entry("replicas", len(eligible), "deploy.mode global: one a host"))
        max_per_host = 1
    placement = ([Entry("hosts", pattern, "node.hostname")] if pattern else []) + \
        ([Entry("constraints", tuple(constraints))] if constraints else []) + \
        ([Entry("max_per_host", max_per_host)] if max_per_host else [])
    if placement:
        service.entries.append(Entry("placement", tuple(placement)))


def _host_pattern(service: ImportedService, hosts: tuple[Host, ...], values: Values) -> str | None:
    """node.hostname==X / !=X as a host pattern (X, or all,!X), for names the inventory has."""
    names = [host.name for host in hosts]
    chosen: str | None = None
    excluded: list[str] = []
    for constraint in service.hostnames:
        if constraint.value not in names:
            values.note(constraint.node, f"no host is named {constraint.value!r} (hosts: {', '.join(names)}); left out")
        elif constraint.equal and chosen not in (None, constraint.value):
            values.note(constraint.node, f"already placed on {chosen}; left out")
        elif constraint.equal:
            chosen = constraint.value
        else:
            excluded.append(constraint.value)
    left = [name for name in names if name not in excluded and chosen in (None, name)]
    if not left and (chosen or excluded):
        values.note(service.hostnames[0].node, "these node.hostname constraints leave no host; left out")
        return None
    if chosen is None and not excluded:
        return None
    return ",".join([chosen or "all", *(f"!{name}" for name in excluded if name != chosen)])


# -- lb and the document --------------------------------------------------------------------------------


def _routes(services: list[ImportedService], values: Values) -> list[dict[str, str]]:
    routes: list[dict[str, str]] = []
    taken: set[tuple[str | None, str | None]] = set()
    for service in services:
        for route in service.routes:
            entry = {key: value for key, value in (("host", route.host), ("path", route.path)) if value}
            key = (route.host.lower() if route.host else None, route.path)
            if service.port is None:
                values.note(route.node, "the service has no port kob knows; give it ports: or the label "
                                        "traefik.http.services.NAME.loadbalancer.server.port; route left out")
            elif not entry or key in taken:
                values.note(route.node, "another route already takes these requests; left out")
            else:
                taken.add(key)
                routes.append({**entry, "service": service.name})
    return routes


def _lb(services: list[ImportedService], inventory: Inventory, values: Values, proxy_bind: int | None) -> list[Entry]:
    frontends: list[Entry] = []
    bound: dict[int, str] = {}
    names: set[str] = set()
    routes = _routes(services, values)
    if routes:
        bind = proxy_bind or 80
        bound[bind] = "http"
        names.add("http")
        frontends.append(Entry("http", (Entry("bind", bind), Entry("routes", tuple(routes))),
                               "Traefik's routers, from the services' labels"))
    for service in services:
        for published in service.published:
            name = service.name if service.name not in names else f"{service.name}-{published.bind}"[:40]
            if published.bind in HOST_PORTS:
                values.note(published.node, f"port {published.bind} is where kob publishes replicas "
                                            f"({HOST_PORTS.start}-{HOST_PORTS.stop - 1}); no frontend is made: "
                                            "choose another port and add it under lb.frontends")
                continue
            if published.bind in bound or name in names:
                values.note(published.node, f"port {published.bind} or the name {name} is taken by another "
                                            "frontend already; left out")
                continue
            bound[published.bind] = name
            names.add(name)
            frontends.append(Entry(name, (Entry("bind", published.bind), Entry("default", service.name)),
                                   f"{published.node.path}, line {published.node.line}"))
    if not frontends:
        return []
    lb: list[Entry] = []
    if not any("lb" in host.roles for host in inventory.hosts):
        first = inventory.hosts[0].name
        values.note(services[0].node, f"no host has the lb role: HAProxy is put on {first} (lb.hosts); give the "
                                      "hosts that should run it roles: [lb] instead")
        lb.append(Entry("hosts", first, "no host has the lb role"))
    return lb + [Entry("frontends", tuple(frontends), "HAProxy binds each port, sends to the services")]


def _document(compose: str, notes: list[Note], hosts_text: str, services: list[ImportedService],
              lb: list[Entry]) -> str:
    lines = [f"# Written by `kob import compose {one_line(compose)}`: services: and lb: come from that file."]
    if notes:
        lines.append("# What kob took differently or left out (printed when importing, too):")
        lines += [f"#   {one_line(str(note))}" for note in notes]
    lines += ["", hosts_text, "", "services:"]
    for service in services:
        lines += render([Entry(service.name, tuple(service.entries), f"{service.node.path}, line {service.node.line}")],
                        indent=1)
    if lb:
        lines += ["lb:", *render(lb, indent=1)]
    return "\n".join(lines) + "\n"
