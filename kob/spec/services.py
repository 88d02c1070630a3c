"""The inventory's services: what runs, how many, where and how it is updated.

    services:                       # optional; service name -> settings, kept in file order
      web:                          # lowercase letters, digits, '-'; at most 40 characters
        image: kob-demo/web:1       # required; letters, digits and . _ / : @ -
        replicas: 4                 # >= 0; default 1
        port: 80                    # container port, 1..65535; required if lb: sends to it
        command: [sh, -c, "echo hi"]    # a list, or one string split like a shell would
        env: {GREETING: hello}      # NAME: value; values taken as written
        env_file: secrets/web.env   # relative to this file's folder; must exist; read when
                                    # containers start, never while loading
        volumes: ["/srv/data:/data", "cache:/cache:ro"]   # source:target[:ro|:rw]; source is
                                    # an absolute host path or a volume name
        healthcheck:                # optional; exactly one of http: and command:
          http: /healthz            # GET on the container port (needs port:)
          # command: [test, -f, /ok]    # ... or run this in the container (a list or one string)
          interval: 2s              # > 0
          timeout: 2s               # > 0
          retries: 3                # >= 1
          start_period: 0s          # >= 0
        resources: {cpus: 0.5, memory: 256m}   # cpus > 0; memory in bytes or with a
                                    # suffix b, k, m, g (1024-based), at least 6m (docker's floor)
        restart: unless-stopped     # no | always | unless-stopped | on-failure | on-failure:N
        placement:
          hosts: workers            # a host pattern (see kob.spec.patterns); default all
          strategy: spread          # spread | least-loaded
          constraints: ["zone==a", "role!=lb"]   # label==value or label!=value
          max_per_host: 2           # >= 1; default no limit
        update:
          parallelism: 1            # >= 1
          order: start-first        # start-first | stop-first
          failure_action: rollback  # rollback | pause
          monitor: 5s               # >= 0
        autoscale:                  # optional: the count then moves between min and max (replicas:
                                    # if given, must lie between them; the first count, else min)
          min: 2                    # >= 1
          max: 6                    # >= min
          cpu: 60                   # target CPU %, of resources.cpus (of one CPU without it)
          memory: 70                # target memory %, of resources.memory (which it needs)
                                    # at least one of cpu: and memory:
          tolerance: 0.1            # no change while use is this close to the target (0..1)
          scale_up_window: 0s       # scale up to the lowest recommendation of this long
          scale_down_window: 5m     # scale down to the highest recommendation of this long
          max_step: 2               # replicas added or removed per pass; default no limit

Whether any host is eligible (placement hosts, constraints, max_per_host
against replicas) is left to the scheduler. The lb: section is read by
kob.spec.lb, which also checks that every service it sends to has a port.
"""

from __future__ import annotations

import re
import shlex
import string
from types import MappingProxyType
from typing import get_args

from kob.errors import PatternError
from kob.spec.inventory_model import Inventory
from kob.spec.patterns import select_hosts
from kob.spec.service_model import (
    Autoscale, Constraint, FailureAction, HealthCheck, Placement, Resources, Service, Strategy, UpdateOrder, UpdatePolicy, Volume,
)
from kob.spec.sizes import MAX_CPUS, memory_size
from kob.spec.yaml_source import Node, did_you_mean

SERVICE_KEYS = ("image", "replicas", "port", "command", "env", "env_file", "volumes", "healthcheck",
                "resources", "restart", "placement", "update", "autoscale")
HEALTHCHECK_KEYS = ("http", "command", "interval", "timeout", "retries", "start_period")
RESOURCES_KEYS = ("cpus", "memory")
PLACEMENT_KEYS = ("hosts", "strategy", "constraints", "max_per_host")
UPDATE_KEYS = ("parallelism", "order", "failure_action", "monitor")
AUTOSCALE_KEYS = ("min", "max", "cpu", "memory", "tolerance", "scale_up_window", "scale_down_window", "max_step")
RESTART_POLICIES = ("no", "always", "unless-stopped", "on-failure")

SERVICE_NAME = re.compile(r"[a-z0-9][a-z0-9-]*")
"""Service (and frontend) names: they end up in container names, labels and HAProxy sections."""
MAX_NAME_LENGTH = 40
MAX_REPLICAS = 1000  # per service: 50 hosts with 20 each

_IMAGE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._/:@-]*(?<![:/@])")
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_VOLUME_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]+")  # docker wants at least two characters
_CONSTRAINT = re.compile(r"\s*([^=!\s]+)\s*(==|!=)\s*([^=\s](?:.*\S)?)\s*")
_ON_FAILURE = re.compile(r"on-failure:(.*)")
_PATH_CHARS = frozenset(string.ascii_letters + string.digits + "-._~%!&()*+,;=:@/")


def read_services(node: Node | None, inventory: Inventory) -> tuple[Service, ...]:
    """The services: section, in file order; ``inventory`` already holds the hosts and groups."""
    if node is None:
        return ()
    entries = node.entries(expected="a mapping of service names to their settings")
    return tuple(_read_service(name, value, inventory) for name, value in entries)


def check_service_name(node: Node, name: str, what: str = "service") -> str:
    """Refuse a ``what`` (service, frontend) name that cannot go into container labels and HAProxy names."""
    if name == "all":
        raise node.error(f"'all' is reserved; pick another {what} name")
    if len(name) > MAX_NAME_LENGTH or not SERVICE_NAME.fullmatch(name):
        raise node.error(f"{name!r} is not a valid {what} name; use lowercase letters, digits and '-', starting with "
                         f"a letter or digit, at most {MAX_NAME_LENGTH} characters (it is used in container labels "
                         "and HAProxy names)")
    return name


def host_pattern(node: Node, inventory: Inventory) -> str:
    """A host pattern that must select at least one host; a bad one is an error at ``node``."""
    pattern = node.as_str()
    try:
        select_hosts(inventory, pattern)
    except PatternError as error:
        raise node.error(str(error).replace(f" in {inventory.path}", "")) from None
    return pattern


def url_path(node: Node, *, query: bool = False) -> str:
    """A URL path such as /healthz (with ``query``, /healthz?full=1 too), safe to put in an HAProxy config."""
    text = node.as_str()
    if not text.startswith("/"):
        raise node.error(f"should be a URL path starting with '/', like /healthz, got {node.describe()}")
    bad = [c for c in text if c not in _PATH_CHARS and not (query and c == "?")]
    if bad:
        raise node.error(f"{bad[0]!r} is not allowed in a URL path; percent-encode it (a space is %20)")
    return text


def _read_service(name: str, node: Node, inventory: Inventory) -> Service:
    check_service_name(node, name)
    service = node.record(SERVICE_KEYS)
    port = service.get_int("port", default=None, min=1, max=65535)
    resources = _resources(service.get("resources"), inventory)
    autoscale = _autoscale(service.get("autoscale"), resources)
    return Service(
        name=name,
        image=image_reference(service.require("image")),
        replicas=_replicas(service.get("replicas"), autoscale),
        port=port,
        command=command_words(service.get("command"), "leave command: out to run the image's own command"),
        env=MappingProxyType(env_variables(service.get("env"))),
        env_file=service.get_path("env_file", inventory.path.parent, default=None, what="env file"),
        volumes=_volumes(service.get("volumes")),
        healthcheck=_healthcheck(service.get("healthcheck"), port),
        resources=resources,
        restart=_restart(service.get("restart")),
        placement=_placement(service.get("placement"), inventory),
        update=_update(service.get("update")),
        autoscale=autoscale,
        line=node.line,
    )


def _replicas(node: Node | None, autoscale: Autoscale | None) -> int:
    if node is None:
        return autoscale.min if autoscale else 1
    replicas = node.as_int(min=0, max=MAX_REPLICAS)
    if autoscale and not autoscale.min <= replicas <= autoscale.max:
        raise node.error(f"{replicas} is outside autoscale's range {autoscale.min}..{autoscale.max}; "
                         "change one, or leave replicas: out to start at min")
    return replicas


def _autoscale(node: Node | None, resources: Resources) -> Autoscale | None:
    if node is None:
        return None
    record = node.record(AUTOSCALE_KEYS)
    low = record.get_int("min", min=1, max=MAX_REPLICAS)
    high = record.get_int("max", min=1, max=MAX_REPLICAS)
    if high < low:
        raise record.require("max").error(f"max {high} is below min {low}")
    cpu = record.get_float("cpu", default=None, above=0, max=100)
    memory = record.get_float("memory", default=None, above=0, max=100)
    if cpu is None and memory is None:
        raise node.error("give a target: cpu: (a % of the service's cpus) and/or memory: (a % of its memory)")
    if memory is not None and resources.memory is None:
        raise record.require("memory").error("a memory target is a % of resources.memory; set that limit too")
    default = Autoscale(min=low, max=high)
    return Autoscale(
        min=low, max=high, cpu=cpu, memory=memory,
        tolerance=record.get_float("tolerance", default=default.tolerance, min=0, max=1),
        scale_up_window=record.get_duration("scale_up_window", default=default.scale_up_window, min=0),
        scale_down_window=record.get_duration("scale_down_window", default=default.scale_down_window, min=0),
        max_step=record.get_int("max_step", default=None, min=1),
    )


def image_reference(node: Node) -> str:
    image = node.as_str()
    if not _IMAGE.fullmatch(image):
        raise node.error(f"{image!r} is not a valid image reference; use letters, digits and . _ / : @ -, "
                         "like nginx:1.27 or registry.example:5000/team/web:2")
    return image


def command_words(node: Node | None, when_empty: str) -> tuple[str, ...] | None:
    """A list of words, or one string split by shell rules (without running a shell)."""
    if node is None:
        return None
    if node.kind == "list":
        words = node.as_str_list(allow_empty=True)
    elif node.kind == "scalar":
        try:
            words = tuple(shlex.split(node.as_str()))
        except ValueError as error:
            raise node.error(f"cannot split {node.describe()} into words ({str(error).lower()}); "
                             "fix the quoting or write a list") from None
    else:
        raise node.type_error("a list of strings or one command line")
    if not words or not words[0]:
        raise node.error(f"should not be empty; {when_empty}")
    return words


def env_variables(node: Node | None) -> dict[str, str]:
    """An env: mapping of variable names to values, as written (services and jobs)."""
    env = {}
    for key, value in node.entries(expected="a mapping of variable names to values") if node else []:
        if not _ENV_NAME.fullmatch(key):
            raise value.error(f"{key!r} is not a valid environment variable name; use letters, digits and '_', "
                              "not starting with a digit")
        env[key] = value.as_str(allow_empty=True)
    return env


def _volumes(node: Node | None) -> tuple[Volume, ...]:
    volumes: list[Volume] = []
    targets: dict[str, str] = {}
    for item in node.as_list(expected="a list of mounts such as /srv/data:/data") if node else []:
        volume = _volume(item)
        if volume.target in targets:
            raise item.error(f"{volume.target} is already mounted by {targets[volume.target]}; mount each target once")
        targets[volume.target] = item.path.rsplit("/", 1)[-1]
        volumes.append(volume)
    return tuple(volumes)


def _volume(node: Node) -> Volume:
    text = node.as_str()
    parts = text.split(":")
    mode = parts.pop() if len(parts) == 3 else "rw"
    if len(parts) != 2 or not all(parts):
        raise node.error(f"should be source:target[:ro|:rw], like /srv/data:/data or cache:/cache:ro; got {text!r}")
    if mode not in ("ro", "rw"):
        raise node.error(f"mode {mode!r} should be ro or rw{did_you_mean(mode, ('ro', 'rw'))}")
    source, target = parts
    if not target.startswith("/"):
        raise node.error(f"target {target!r} should be an absolute path in the container, like /data")
    if target.strip("/") == "":
        raise node.error("target / would hide the whole container; mount a folder such as /data")
    if not source.startswith("/") and not _VOLUME_NAME.fullmatch(source):
        raise node.error(f"source {source!r} should be an absolute host path or a volume name "
                         "(two or more letters, digits, '_', '.' and '-', starting with a letter or digit)")
    return Volume(source=source, target=target.rstrip("/"), read_only=mode == "ro")


def _healthcheck(node: Node | None, port: int | None) -> HealthCheck | None:
    if node is None:
        return None
    check = node.record(HEALTHCHECK_KEYS)
    http, command = check.get("http"), check.get("command")
    if http is None and command is None:
        raise node.error("give http: (a path to GET on the port) or command: (run inside the container)")
    if http is not None and command is not None:
        raise command.error("give either http: or command:, not both")
    path = url_path(http, query=True) if http is not None else None
    if http is not None and port is None:
        raise http.error("an http check is sent to the service's port; add port: to this service")
    default = HealthCheck()
    return HealthCheck(
        http_path=path,
        command=command_words(command, "give the check to run"),
        interval=check.get_duration("interval", default=default.interval, above=0),
        timeout=check.get_duration("timeout", default=default.timeout, above=0),
        retries=check.get_int("retries", default=default.retries, min=1),
        start_period=check.get_duration("start_period", default=default.start_period, min=0),
    )


def _resources(node: Node | None, inventory: Inventory) -> Resources:
    if node is None:
        return Resources()
    resources = node.record(RESOURCES_KEYS)
    cpus = resources.get_float("cpus", default=None, above=0, max=MAX_CPUS)
    memory = memory_size(resources.get("memory"))
    check_fits_a_host(resources.get("cpus"), cpus, resources.get("memory"), memory, inventory)
    return Resources(cpus=cpus, memory=memory)


def check_fits_a_host(cpus_node: Node | None, cpus: float | None, memory_node: Node | None, memory: int | None,
                      inventory: Inventory) -> None:
    """Refuse cpus or memory beyond the most any host offers, where every host declares it (else the hosts'
    own counts decide when the job or replica is placed)."""
    hosts = inventory.hosts
    if cpus_node is not None and cpus is not None and hosts and all(h.cpus is not None for h in hosts):
        most = max(h.cpus for h in hosts)
        if cpus > most:
            raise cpus_node.error(f"{cpus:g} CPUs is more than any host declares (most: {most:g})")
    if memory_node is not None and memory is not None and hosts and all(h.memory is not None for h in hosts):
        most = max(h.memory for h in hosts)
        if memory > most:
            raise memory_node.error(f"{memory_node.as_str()} is more memory than any host declares "
                                    f"(most: {most >> 20} MiB)")


def _restart(node: Node | None) -> str:
    if node is None:
        return "unless-stopped"
    text = node.as_str()
    on_failure = _ON_FAILURE.fullmatch(text)
    if on_failure:
        if not re.fullmatch(r"[0-9]+", on_failure[1]) or int(on_failure[1]) < 1:
            raise node.error(f"on-failure:N needs a whole number N of at least 1, got {text!r}")
        return f"on-failure:{int(on_failure[1])}"
    if text not in RESTART_POLICIES:
        raise node.error(f"should be one of no, always, unless-stopped, on-failure, on-failure:N, "
                         f"got {text!r}{did_you_mean(text, RESTART_POLICIES)}")
    return text


def _placement(node: Node | None, inventory: Inventory) -> Placement:
    if node is None:
        return Placement()
    placement = node.record(PLACEMENT_KEYS)
    hosts = placement.get("hosts")
    return Placement(
        hosts=host_pattern(hosts, inventory) if hosts is not None else Placement.hosts,
        strategy=placement.get_str("strategy", default=Placement.strategy, choices=get_args(Strategy)),
        constraints=placement_constraints(placement.get("constraints"), inventory),
        max_per_host=placement.get_int("max_per_host", default=None, min=1),
    )


def placement_constraints(node: Node | None, inventory: Inventory) -> tuple[Constraint, ...]:
    constraints = []
    for item in node.as_list(expected="a list of constraints such as zone==a") if node else []:
        text = item.as_str()
        match = _CONSTRAINT.fullmatch(text)
        if not match:
            raise item.error(f"{text!r} is not a constraint; write label==value or label!=value, like zone==a")
        _check_label_value(item, match[1], match[3], inventory)
        constraints.append(Constraint(label=match[1], equal=match[2] == "==", value=match[3]))
    return tuple(constraints)


def _check_label_value(node: Node, label: str, value: str, inventory: Inventory) -> None:
    """A constraint must name a label and value some host has: a typo would silently match nothing (or all)."""
    if label == "role":
        values = {role for host in inventory.hosts for role in host.roles}
    else:
        labels = {name for host in inventory.hosts for name in host.labels}
        if label not in labels:
            known = ", ".join(sorted(labels | {"role"}))
            raise node.error(f"no host has a label {label!r} (labels: {known})"
                             + did_you_mean(label, sorted(labels | {"role"})))
        values = {host.labels[label] for host in inventory.hosts if label in host.labels}
    if value not in values:
        raise node.error(f"no host has {label}={value} ({label} values: {', '.join(sorted(values))})"
                         + did_you_mean(value, sorted(values)))


def _update(node: Node | None) -> UpdatePolicy:
    if node is None:
        return UpdatePolicy()
    update = node.record(UPDATE_KEYS)
    default = UpdatePolicy()
    return UpdatePolicy(
        parallelism=update.get_int("parallelism", default=default.parallelism, min=1),
        order=update.get_str("order", default=default.order, choices=get_args(UpdateOrder)),
        failure_action=update.get_str("failure_action", default=default.failure_action,
                                      choices=get_args(FailureAction)),
        monitor=update.get_duration("monitor", default=default.monitor, min=0),
    )
