"""One Compose service → the entries of one kob service (pure, but for reading the env files it names).

What is taken, and how (everything else is a Note with its line, see IGNORED):

    image                    image:
    command, entrypoint      command: (a string is split like a shell would, without one); an entrypoint's
                             words go in front, as kob runs the image's own entrypoint
    environment, env_file    env:, and env_file: (one file; secret-looking values go to a file, see SECRET_NAME)
    ports, expose            port: (the container port) and lb frontends (each published port)
    healthcheck              healthcheck.command: CMD → the words, CMD-SHELL → [sh, -c, script], NONE → none
    deploy.replicas, scale   replicas:; deploy.mode global → one replica a host (max_per_host: 1)
    deploy.resources.limits  resources: {cpus, memory}; also cpus:, mem_limit:
    deploy.update_config     update: {parallelism, order, failure_action, monitor}
    deploy.placement         placement.constraints (node.labels.X==Y → X==Y), node.hostname → placement.hosts,
                             max_replicas_per_node → max_per_host
    restart, restart_policy  restart:
    labels                   Traefik routers become lb routes (kob.spec.compose_labels); the rest are notes
    volumes                  volumes: named volumes and bind mounts, :ro
"""

from __future__ import annotations

import os
import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path

from kob.errors import one_line
from kob.spec.compose_labels import TRAEFIK_IMAGE, Route, read_labels
from kob.spec.compose_render import Entry
from kob.spec.compose_values import Values, compose_bytes, compose_duration, kob_duration, kob_size
from kob.spec.env_file import MAX_ENV_FILE, bad_env_line
from kob.spec.yaml_source import Node

SECRET_NAME = re.compile(r"PASSWORD|PASSWD|SECRET|TOKEN|KEY", re.IGNORECASE)
"""Environment names whose values are kept out of the inventory (a revision keeps inline env for ever);
a name ending in _FILE holds a path, not a secret. A value that uses such a ${VARIABLE}, or holds a
password in a URL (scheme://user:password@host), is kept out too."""
NOT_HTTP_PORTS = {1433: "SQL Server", 1521: "Oracle", 3306: "MySQL", 5432: "PostgreSQL", 5672: "AMQP",
                  6379: "Redis", 9092: "Kafka", 11211: "memcached", 27017: "MongoDB"}
IGNORED = {
    "build": "kob runs images, it does not build them: build and tag the image, then set image:",
    "networks": "kob's services reach each other through the lb frontends (HAProxy), not Compose networks",
    "network_mode": "kob runs each replica on docker's default bridge",
    "depends_on": "kob starts services independently; health checks and restarts take the place of start order",
    "secrets": "kob has no secret objects: put the values in the service's env_file, or mount a file",
    "configs": "kob has no config objects: mount the file with volumes:",
    "profiles": "every service of an inventory is deployed; leave out the ones you do not want",
    "extends": "write the shared settings in the service itself (or with a YAML anchor and <<: merge)",
    "container_name": "kob names containers itself (service, replica and owner)",
    "links": "kob's services reach each other through the lb frontends",
    "logging": "kob keeps docker's default log driver (see kob logs)",
}
HANDLED = ("image", "command", "entrypoint", "environment", "env_file", "ports", "expose", "healthcheck", "deploy",
           "volumes", "restart", "scale", "cpus", "mem_limit", "labels")


@dataclass
class Published:
    """A published port: an lb frontend bound to ``bind`` sending to the service."""

    bind: int
    node: Node


@dataclass
class Constraint:
    label: str
    equal: bool
    value: str
    node: Node


@dataclass
class ImportedService:
    name: str
    node: Node
    entries: list[Entry] = field(default_factory=list)
    port: int | None = None
    published: list[Published] = field(default_factory=list)
    constraints: list[Constraint] = field(default_factory=list)
    hostnames: list[Constraint] = field(default_factory=list)  # node.hostname==X: placement.hosts
    routes: list[Route] = field(default_factory=list)  # from Traefik labels
    global_mode: bool = False
    max_per_host: int | None = None
    env_file: str | None = None  # a path, as written in the inventory
    generated_env: str | None = None  # the content of <name>.env, to write beside the inventory
    env_file_comment: str = ""


_REFERENCE = re.compile(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)")
_URL_PASSWORD = re.compile(r"://[^/@\s:]*:[^/@\s]+@")


def _looks_secret(name: str, value: str | None, node: Node) -> bool:
    """By its name (not a *_FILE path), by a secret-looking ${VARIABLE} in it, or a password in a URL."""
    if SECRET_NAME.search(name) and not name.upper().endswith("_FILE"):
        return True
    used = _REFERENCE.findall(node.raw or "")
    return any(SECRET_NAME.search(var) and not var.upper().endswith("_FILE") for var in used) or \
        bool(value and _URL_PASSWORD.search(value))


class ServiceReader:
    """Reads the services of one Compose file; ``base`` is its folder, ``out`` the inventory's."""

    def __init__(self, values: Values, base: Path, out: Path, write_env_files: bool):
        self.values, self.base, self.out, self.write_env_files = values, base, out, write_env_files
        self.proxy_bind: int | None = None  # where a Traefik service took requests for its routers

    def note(self, node: Node, message: str) -> None:
        self.values.note(node, message)

    def read(self, name: str, compose_name: str, node: Node) -> ImportedService | None:
        """The kob service, or None (with a note) when it cannot run without something kob lacks."""
        keys = dict(node.entries(expected="a mapping of the service's settings"))
        image = keys.get("image")
        if image is None:
            why = IGNORED["build"] if "build" in keys else "give it an image:"
            self.note(node, f"service {compose_name!r} has no image: and is left out; {why}")
            return None
        service = ImportedService(name, node)
        image_text = self._image(image)
        if TRAEFIK_IMAGE.fullmatch(image_text):
            return self._proxy(service, keys)
        if name != compose_name:
            self.note(node, f"service {compose_name!r} is called {name!r} in kob (lowercase letters, digits and '-')")
        service.entries.append(Entry("image", image_text))
        self._replicas(service, keys)
        labels = read_labels(keys.get("labels"), self.values)
        service.routes = labels.routes
        self._ports(service, keys.get("ports"), keys.get("expose"), labels.port or (80 if labels.routes else None))
        if service.routes and labels.port is None and service.port == 80 and not keys.get("ports") \
                and not keys.get("expose"):
            self.note(keys["labels"], "port 80 assumed for the Traefik routes (Traefik would take the image's "
                                      "exposed port); check it")
        self._command(service, keys.get("command"), keys.get("entrypoint"))
        self._environment(service, keys.get("environment"), keys.get("env_file"))
        self._volumes(service, keys.get("volumes"))
        self._healthcheck(service, keys.get("healthcheck"))
        deploy = dict(keys["deploy"].entries(expected="a mapping")) if "deploy" in keys else {}
        self._resources(service, deploy.get("resources"), keys.get("cpus"), keys.get("mem_limit"))
        self._restart(service, keys.get("restart"), deploy.get("restart_policy"))
        self._placement(service, deploy.get("placement"))
        self._update(service, deploy.get("update_config"))
        for key, value in deploy.items():
            if key not in ("replicas", "mode", "resources", "restart_policy", "placement", "update_config"):
                self.note(value, "kob has no equivalent; left out")
        for key, value in keys.items():
            if key not in HANDLED:
                self.note(value, IGNORED.get(key, "kob has no equivalent; left out"))
        return service

    # -- image, count, ports, command ----------------------------------------------------------------

    def _image(self, node: Node) -> str:
        image = self.values.text(node, allow_empty=False)
        if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._/:@-]*(?<![:/@])", image):
            raise node.error(f"{image!r} is not an image reference kob can run (letters, digits and . _ / : @ -)")
        return image

    def _replicas(self, service: ImportedService, keys: dict[str, Node]) -> None:
        deploy = dict(keys["deploy"].entries(expected="a mapping")) if "deploy" in keys else {}
        mode = deploy.get("mode")
        mode_text = self.values.text(mode) if mode is not None else "replicated"
        if mode_text in ("global", "global-job"):
            service.global_mode = True
            if "replicas" in deploy:
                self.note(deploy["replicas"], "mode global runs one replica a host; replicas: is left out")
            return
        if mode is not None and mode_text != "replicated":
            self.note(mode, "kob runs replicated services only; imported as replicated")
        if "replicas" in deploy and "scale" in keys:
            self.note(keys["scale"], "deploy.replicas is taken; scale: is left out")
        node = deploy.get("replicas") or keys.get("scale")
        if node is not None:
            count = self._int(node, 0, 1000)
            service.entries.append(Entry("replicas", count, f"{node.path.split('/', 2)[-1]} in the Compose file"))

    def _int(self, node: Node, low: int, high: int) -> int:
        text = self.values.text(node, expected="a whole number")
        if not re.fullmatch(r"[0-9]+", text) or not low <= int(text) <= high:
            raise node.error(f"should be a whole number from {low} to {high}, got {text!r}")
        return int(text)

    def _proxy(self, service: ImportedService, keys: dict[str, Node]) -> None:
        """A Traefik service: left out, kob's HAProxy takes its place; the port it published for 80 is kept."""
        for item in keys["ports"].as_list() if "ports" in keys else []:
            target, published = self._port(item)
            if target == 80 and published is not None and self.proxy_bind is None:
                self.proxy_bind = published
        self.note(service.node, "kob's HAProxy (lb:) takes Traefik's place: the routers in the other services' "
                                "labels become lb routes; this service is left out")
        return None

    def _ports(self, service: ImportedService, ports: Node | None, expose: Node | None,
               label_port: int | None = None) -> None:
        for item in ports.as_list(expected="a list of ports such as \"8080:80\"") if ports else []:
            target, published = self._port(item)
            if target is None:
                continue
            if service.port is None:
                service.port = target
            elif target != service.port:
                self.note(item, f"kob sends to one container port a service ({service.port}); port {target} is left out")
                continue
            if published is None:
                self.note(item, f"container port {target} is not published: kob's HAProxy reaches it; no frontend")
            elif target in NOT_HTTP_PORTS:
                self.note(item, f"port {target} looks like {NOT_HTTP_PORTS[target]}, not HTTP; kob's HAProxy speaks "
                                "HTTP only, so no frontend is made")
            else:
                service.published.append(Published(published, item))
        for item in expose.as_list(expected="a list of ports") if expose else []:
            text = self.values.text(item).split("/")[0]
            if service.port is None and re.fullmatch(r"[0-9]{1,5}", text) and 1 <= int(text) <= 65535:
                service.port = int(text)
            else:
                self.note(item, "kob sends to one container port a service; left out")
        if service.port is None and label_port is not None:
            service.port = label_port
        if service.port is not None:
            service.entries.append(Entry("port", service.port, "the container port"))

    def _port(self, item: Node) -> tuple[int | None, int | None]:
        """(container port, published port) of one ports: item; (None, None) with a note when kob cannot use it."""
        if item.kind == "mapping":
            fields = dict(item.entries())
            target = self.values.text(fields["target"]) if "target" in fields else ""
            published = self.values.text(fields["published"]) if "published" in fields else ""
            protocol = self.values.text(fields["protocol"]) if "protocol" in fields else "tcp"
            for key, value in fields.items():
                if key not in ("target", "published", "protocol"):
                    self.note(value, "kob's HAProxy binds the port on every address of the lb hosts; left out")
        else:
            text = self.values.text(item, expected="a port such as \"8080:80\" or a mapping with target:")
            text, _, protocol = text.partition("/")
            parts = text.rsplit(":", 2)
            target, published = parts[-1], parts[-2] if len(parts) > 1 else ""
            if len(parts) == 3:
                self.note(item, f"kob's HAProxy binds every address of the lb hosts, not {parts[0]} alone")
        if (protocol or "tcp") != "tcp":
            self.note(item, f"kob's HAProxy forwards TCP (HTTP); a {protocol} port is left out")
            return None, None
        if "-" in target or "-" in published:
            self.note(item, "a port range is left out: kob sends to one container port a service")
            return None, None
        return self._port_number(item, target), self._port_number(item, published) if published else None

    def _port_number(self, item: Node, text: str) -> int:
        if not re.fullmatch(r"[0-9]{1,5}", text) or not 1 <= int(text) <= 65535:
            raise item.error(f"{text!r} is not a port number (1..65535)")
        return int(text)

    def _command(self, service: ImportedService, command: Node | None, entrypoint: Node | None) -> None:
        """command: as kob's command; an entrypoint goes in front of it, since kob cannot replace the image's."""
        words = self._words(command) if command is not None else []
        if entrypoint is not None:
            first = self._words(entrypoint)
            if first:
                self.note(entrypoint, f"kob cannot replace the image's entrypoint: {shlex.join(first)!r} is put in "
                                      "front of command:, which is right when the image has no ENTRYPOINT or its "
                                      "entrypoint runs its arguments (official images' do); else build an image "
                                      "with that ENTRYPOINT")
            words = first + words
        if words:
            service.entries.append(Entry("command", tuple(words)))

    def _words(self, node: Node) -> list[str]:
        if node.kind == "list":
            return [self.values.text(item) for item in node.as_list()]
        text = self.values.text(node, expected="a list of words or one command line")
        try:
            return shlex.split(text)
        except ValueError as error:
            raise node.error(f"cannot split {node.describe()} into words ({error}); fix the quoting") from None

    # -- environment -------------------------------------------------------------------------------

    def _environment(self, service: ImportedService, environment: Node | None, env_files: Node | None) -> None:
        inline: list[Entry] = []
        secret: list[tuple[str, str | None, Node]] = []
        variables: dict[str, tuple[str | None, Node]] = {}
        for name, value, node in self._variables(environment):
            if name in variables:
                self.note(node, f"{name} is given twice; the last value is taken, as Compose does")
            variables[name] = (value, node)
        for name, (value, node) in variables.items():
            if _looks_secret(name, value, node):
                secret.append((name, value, node))
            elif value is not None:
                inline.append(Entry(name, value))
        if inline:
            service.entries.append(Entry("env", tuple(inline), "kept in each revision: no secrets here"))
        files = self._env_files(env_files)
        if not secret and len(files) <= 1:
            if files:
                service.env_file = self._relative(files[0][0])
                service.entries.append(Entry("env_file", service.env_file, "read when deploying, never stored"))
            return
        self._generated_env(service, secret, files)

    def _variables(self, node: Node | None) -> list[tuple[str, str | None, Node]]:
        """(name, value, node) of the environment: list or mapping; a value None is taken from kob's
        environment, and left out (with a note) when that does not have it."""
        found: list[tuple[str, str | None, Node]] = []
        if node is None:
            return found
        if node.kind == "list":
            pairs = []
            for item in node.as_list():
                name, equals, value = self.values.text(item).partition("=")
                pairs.append((name, value if equals else None, item))
        else:
            pairs = [(name, None if value.kind == "null" else self.values.text(value), value)
                     for name, value in node.entries(expected="a list of NAME=value or a mapping")]
        for name, value, item in pairs:
            if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
                raise item.error(f"{name!r} is not an environment variable name kob can pass "
                                 "(letters, digits and '_', not starting with a digit)")
            if value is None:
                value = self.values.environ.get(name)
                if value is None:
                    self.note(item, f"{name} takes its value from the environment, which does not have it here; "
                                    "left out (set it and import again, or write it in the env_file)")
            found.append((name, value, item))
        return found

    def _env_files(self, node: Node | None) -> list[tuple[Path, Node]]:
        """The env files that exist, in order; a missing one is a note."""
        items = [node] if node is not None and node.kind == "scalar" else (node.as_list() if node else [])
        files = []
        for item in items:
            required = True
            if item.kind == "mapping":
                fields = dict(item.entries())
                required = self.values.text(fields["required"]) != "false" if "required" in fields else True
                for key in fields:
                    if key not in ("path", "required"):
                        self.note(fields[key], "kob reads env files as docker's --env-file does; left out")
                path_node = fields.get("path")
                if path_node is None:
                    raise item.error("missing path:")
                text = self.values.text(path_node, allow_empty=False)
            else:
                text = self.values.text(item, allow_empty=False)
            path = Path(os.path.abspath(self.base / Path(text).expanduser()))
            if path.is_file():
                files.append((path, item))
            elif required:
                self.note(item, f"env file {path} not found; left out (create it, then add env_file: to the service)")
        return files

    def _generated_env(self, service: ImportedService, secret: list[tuple[str, str | None, Node]],
                       files: list[tuple[Path, Node]]) -> None:
        """One env file for kob: the Compose env files' lines joined, then the secret-looking values."""
        lines = []
        for path, item in files:
            with open(path, "rb") as file:
                data = file.read(MAX_ENV_FILE + 1)
            bad = bad_env_line(data) if len(data) <= MAX_ENV_FILE else 1
            if bad is not None:
                raise item.error(f"env file {path}: line {bad} is not NAME=value (or the file is over "
                                 f"{MAX_ENV_FILE >> 10} KiB); fix it and import again")
            lines += [f"# from {one_line(str(path))}", data.decode("utf-8-sig").rstrip("\n")]
        names = []
        for name, value, node in secret:
            if value is None:
                lines.append(f"# {name}=  (not set when imported: write its value)")
                continue
            if "\n" in value:
                self.note(node, f"{name}'s value holds a line break, which an env file cannot; left out")
                continue
            lines.append(f"{name}={value}")
            names.append(name)
        service.env_file = f"{service.name}.env"
        service.generated_env = "\n".join(lines) + "\n"
        what = " and ".join(filter(None, [", ".join(str(p) for p, _ in files),
                                          f"the values of {', '.join(names)}" if names else ""]))
        where = service.node
        if secret:
            where = secret[0][2]
            listed = ", ".join(n for n, _, _ in secret)
            verb = "looks like a secret (by its name or value): it goes" if len(secret) == 1 else \
                "look like secrets (by their names or values): they go"
            self.note(where, f"{listed} {verb} to {service.env_file} (mode 0600), not inline, since inline env "
                             "is kept in every revision")
        if len(files) > 1 or (files and secret):
            self.note(files[0][1], f"kob reads one env file a service: {service.env_file} joins {what}")
        written = self.write_env_files
        service.env_file_comment = f"holds {what}" + ("" if written else
                                                      "; write it beside the inventory (-o writes it), then "
                                                      "remove the '#'")
        if not written:
            self.note(where, f"{service.env_file} is not written without -o; its env_file: line is commented out")
        service.entries.append(Entry("env_file", service.env_file, service.env_file_comment, off=not written))

    def _relative(self, path: Path) -> str:
        relative = os.path.relpath(path, self.out)
        return relative if not relative.startswith("..") else str(path)

    # -- volumes -------------------------------------------------------------------------------------

    def _volumes(self, service: ImportedService, node: Node | None) -> None:
        mounts = []
        for item in node.as_list(expected="a list of mounts") if node else []:
            mount = self._volume(item)
            if mount is not None:
                mounts.append(mount)
        if mounts:
            binds = any(mount.startswith("/") for mount in mounts)
            service.entries.append(Entry("volumes", tuple(mounts), "host paths must exist on every host" if binds
                                         else "named volumes: one of each name on each host"))

    def _volume(self, item: Node) -> str | None:
        if item.kind == "mapping":
            fields = dict(item.entries())
            kind = self.values.text(fields["type"]) if "type" in fields else "volume"
            source = self.values.text(fields["source"]) if "source" in fields else ""
            target = self.values.text(fields["target"]) if "target" in fields else ""
            read_only = "read_only" in fields and self.values.text(fields["read_only"]).lower() == "true"
            for key in fields:
                if key not in ("type", "source", "target", "read_only"):
                    self.note(fields[key], "kob mounts with docker's defaults; left out")
            if kind not in ("volume", "bind"):
                self.note(item, f"a {kind} mount is left out: kob mounts named volumes and host paths")
                return None
        else:
            text = self.values.text(item, expected="source:target[:mode] or a mapping with type:")
            parts = text.split(":")
            if len(parts) == 1:
                self.note(item, f"an anonymous volume at {text} is left out: give it a name (name:{text})")
                return None
            source, target = parts[0], parts[1]
            modes = parts[2].split(",") if len(parts) > 2 else []
            read_only = "ro" in modes
            extra = [m for m in modes if m not in ("ro", "rw")]
            if extra:
                self.note(item, f"mount options {','.join(extra)} are left out; kob mounts ro or rw")
        return self._mount(item, source, target, read_only)

    def _mount(self, item: Node, source: str, target: str, read_only: bool) -> str | None:
        if not target.startswith("/") or not target.strip("/"):
            raise item.error(f"target {target!r} should be an absolute path in the container, like /data")
        if source.startswith((".", "~")):
            absolute = os.path.abspath(self.base / Path(source).expanduser())
            self.note(item, f"bind source {source} is {absolute} on each host kob runs it on (not this machine): "
                            "copy it there, or use a named volume")
            source = absolute
        elif not source.startswith("/") and not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]+", source):
            raise item.error(f"source {source!r} should be a host path or a volume name (two or more letters, "
                             "digits, '_', '.' and '-', starting with a letter or digit); rename the volume")
        return f"{source}:{target.rstrip('/')}" + (":ro" if read_only else "")

    # -- health, resources, restart, placement, update ------------------------------------------------

    def _healthcheck(self, service: ImportedService, node: Node | None) -> None:
        if node is None:
            return
        fields = dict(node.entries(expected="a mapping with test:"))
        if "disable" in fields and self.values.text(fields["disable"]).lower() == "true":
            self.note(node, "health check disabled: kob then counts a running replica as healthy")
            return
        test = fields.get("test")
        if test is None:
            self.note(node, "no test: (the image's own HEALTHCHECK applies); kob needs a test, so none is taken")
            return
        words = self._health_test(test)
        if words is None:
            return
        entries = [Entry("command", tuple(words))]
        for key in ("interval", "timeout", "start_period"):
            if key in fields:
                seconds = compose_duration(fields[key], self.values.text(fields[key]))
                if seconds > 0 or key == "start_period":
                    entries.append(Entry(key, kob_duration(seconds)))
        if "retries" in fields:
            entries.append(Entry("retries", max(1, self._int(fields["retries"], 0, 1000))))
        for key in fields:
            if key not in ("test", "interval", "timeout", "start_period", "retries", "disable"):
                self.note(fields[key], "kob has no equivalent; left out")
        service.entries.append(Entry("healthcheck", tuple(entries)))

    def _health_test(self, node: Node) -> list[str] | None:
        if node.kind == "list":
            items = node.as_list()
            if not items:
                raise node.error("an empty test; write [CMD, ...], [CMD-SHELL, script] or [NONE]")
            kind = self.values.text(items[0])
            if kind == "NONE":
                self.note(node, "test NONE disables the image's health check; kob takes no health check")
                return None
            if kind == "CMD":
                words = [self.values.text(item) for item in items[1:]]
            elif kind == "CMD-SHELL":
                words = ["sh", "-c", " ".join(self.values.text(item, quote_for_shell=True) for item in items[1:])]
            else:
                raise items[0].error(f"should be CMD, CMD-SHELL or NONE, got {kind!r}")
        else:
            words = ["sh", "-c", self.values.text(node, quote_for_shell=True, allow_empty=False)]
        if not words or not words[0] or not words[-1]:
            raise node.error("an empty test; give the command to run")
        return words

    def _resources(self, service: ImportedService, node: Node | None, cpus: Node | None, mem: Node | None) -> None:
        fields = dict(node.entries()) if node else {}
        limits = dict(fields["limits"].entries()) if "limits" in fields else {}
        for key, value in fields.items():
            if key != "limits":
                self.note(value, "kob reserves nothing for a service's replicas (only jobs reserve); left out")
        for key, value in limits.items():
            if key not in ("cpus", "memory"):
                self.note(value, "kob limits cpus and memory only; left out")
        entries = []
        cpus = limits.get("cpus") or cpus
        if cpus is not None:
            text = self.values.text(cpus)
            if not re.fullmatch(r"[0-9]*\.?[0-9]+", text) or not 0 < float(text) <= 1024:
                raise cpus.error(f"should be a number of CPUs above 0 such as 0.5, got {text!r}")
            entries.append(Entry("cpus", float(text)))
        memory = limits.get("memory") or mem
        if memory is not None:
            size = compose_bytes(memory, self.values.text(memory))
            if size < 6 << 20:
                raise memory.error(f"{self.values.text(memory)} is below docker's minimum of 6m")
            entries.append(Entry("memory", kob_size(size)))
        if entries:
            service.entries.append(Entry("resources", tuple(entries)))

    def _restart(self, service: ImportedService, restart: Node | None, policy: Node | None) -> None:
        if policy is not None:
            fields = dict(policy.entries())
            condition = self.values.text(fields["condition"]) if "condition" in fields else "any"
            attempts = self._int(fields["max_attempts"], 0, 1000) if "max_attempts" in fields else 0
            value = {"none": "no", "any": "always"}.get(condition, "on-failure")
            if value == "on-failure" and attempts:
                value = f"on-failure:{attempts}"
            for key in fields:
                if key not in ("condition", "max_attempts"):
                    self.note(fields[key], "docker restarts at once; kob has no delay or window; left out")
            service.entries.append(Entry("restart", value, f"deploy.restart_policy {condition}"))
            return
        if restart is not None:
            value = self.values.text(restart)
            if not re.fullmatch(r"no|always|unless-stopped|on-failure(:[1-9][0-9]{0,3})?", value):
                raise restart.error(f"should be no, always, unless-stopped or on-failure[:N], got {value!r}")
            service.entries.append(Entry("restart", value))

    def _placement(self, service: ImportedService, node: Node | None) -> None:
        fields = dict(node.entries()) if node else {}
        for key, value in fields.items():
            if key == "max_replicas_per_node":
                service.max_per_host = self._int(value, 1, 1000)
            elif key != "constraints":
                self.note(value, "kob spreads replicas over hosts by itself (placement.strategy); left out")
        for item in fields["constraints"].as_list() if "constraints" in fields else []:
            text = self.values.text(item)
            host = re.fullmatch(r"\s*node\.hostname\s*(==|!=)\s*(\S+)\s*", text)
            if host is not None:
                service.hostnames.append(Constraint("hostname", host[1] == "==", host[2], item))
                continue
            match = re.fullmatch(r"\s*node\.labels\.([A-Za-z0-9_.-]+)\s*(==|!=)\s*([^=\s]\S*)\s*", text)
            if match is None or match[1] == "role":
                self.note(item, f"{text!r} has no kob equivalent (kob's constraints test host labels: "
                                "node.labels.X==Y); left out")
                continue
            service.constraints.append(Constraint(match[1], match[2] == "==", match[3], item))

    def _update(self, service: ImportedService, node: Node | None) -> None:
        if node is None:
            return
        entries = []
        for key, value in node.entries():
            if key == "parallelism":
                count = self._int(value, 0, 1000)
                if count == 0:
                    self.note(value, "0 (all at once) is written as 1000: kob updates at most that many at a time")
                entries.append(Entry("parallelism", count or 1000))
            elif key == "order":
                entries.append(Entry("order", self._choice(value, ("start-first", "stop-first"))))
            elif key == "failure_action":
                action = self.values.text(value)
                if action == "continue":
                    self.note(value, "kob has no 'continue': a failed replica stops the rollout; written as pause")
                    action = "pause"
                entries.append(Entry("failure_action", self._choice(value, ("rollback", "pause"), action)))
            elif key == "monitor":
                entries.append(Entry("monitor", kob_duration(compose_duration(value, self.values.text(value)))))
            else:
                self.note(value, "kob has no equivalent; left out")
        if entries:
            service.entries.append(Entry("update", tuple(entries)))

    def _choice(self, node: Node, choices: tuple[str, ...], text: str | None = None) -> str:
        text = self.values.text(node) if text is None else text
        if text not in choices:
            raise node.error(f"should be one of {', '.join(choices)}, got {text!r}")
        return text
