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
from pathlib import Path

from kob.spec.compose_deploy import DeployReading
from kob.spec.compose_env import EnvironmentReading
from kob.spec.compose_labels import TRAEFIK_IMAGE, read_labels
from kob.spec.compose_model import ImportedService, Published
from kob.spec.compose_render import Entry
from kob.spec.compose_values import Values
from kob.spec.yaml_source import Node

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


class ServiceReader(EnvironmentReading, DeployReading):
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
