"""Docker commands as argv lists (pure): what kob runs on a host, never how.

Every container kob starts carries labels that say what it is and which inventory owns it
(``kob.inventory``, see kob.identity.owner), so that the hosts themselves are the record of
what runs (see DESIGN.md, "Truth and state"), and so that kob never mistakes another
inventory's container, or one started by hand, for its own.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass

from kob.commands.docker_engine import reader_or
from kob.commands.haproxy_certs import cert_digests_script
from kob.spec.service_model import HealthCheck, Service

LABEL_INVENTORY = "kob.inventory"
LABEL_SERVICE = "kob.service"
LABEL_REPLICA = "kob.replica"
LABEL_REVISION = "kob.revision"
LABEL_SPEC = "kob.spec"
LABEL_PORT = "kob.port"
LABEL_IMAGE = "kob.image"

CONTAINERS_MARK = "#kob-containers"
IMAGES_MARK = "#kob-images"
PORTS_MARK = "#kob-ports"
HAPROXY_MARK = "#kob-haproxy"
FIELD_SEP = "\t"

# One line per container; no field mentions .Size (it makes docker walk the layers).
# Docker's templates fail on a missing map key, and .State has no Health without a health check: index does not.
HEALTH_STATUS = '{{with index .State "Health"}}{{.Status}}{{end}}'
INSPECT_FORMAT = FIELD_SEP.join([
    "{{.Id}}", "{{.Name}}", "{{json .Config.Labels}}", "{{.State.Status}}",
    HEALTH_STATUS, "{{.Image}}", "{{.State.StartedAt}}",
    "{{.RestartCount}}", "{{.State.ExitCode}}",
])
IMAGES_FORMAT = FIELD_SEP.join(["{{.ID}}", "{{.Repository}}:{{.Tag}}"])
# Every container's owner label ("" for none) and published ports ("0.0.0.0:20001->80/tcp, ..."):
# the ports other inventories' and hand-started containers hold.
PORTS_FORMAT = FIELD_SEP.join([f'{{{{.Label "{LABEL_INVENTORY}"}}}}', "{{.Ports}}"])


@dataclass(frozen=True)
class Replica:
    """One container kob wants: which service, which slot, where it listens."""

    service: Service
    replica: int
    revision: int
    spec_hash: str
    host: str
    host_port: int | None
    owner: str

    @property
    def container_name(self) -> str:
        """Unique on its host: two inventories may run services of the same name and spec side by side."""
        return f"kob-{self.owner}-{self.service.name}-{self.replica}-{self.spec_hash[:8]}"


# One line "PORT:PROGRAM ..." of the host's listening TCP ports (PROGRAM ? where ss may not tell), or "?"
# without ss: the lb's frontends must not collide with another program's port.
LISTENERS_SCRIPT = (
    "{ ss -Hltnp 2>/dev/null || echo '?'; } | awk '$1 == \"?\" { printf \"?\"; next } "
    "{ n = split($4, a, \":\"); who = \"?\"; "
    "if (match($0, /users:\\(\\(\"[^\"]+\"/)) who = substr($0, RSTART + 9, RLENGTH - 10); "
    "printf \"%s:%s \", a[n], who } END { print \"\" }'"
)


def _other_balancers_script(config: str) -> str:
    """One line "FILE:PORT,PORT ..." of the frontend ports of every other kob HAProxy config beside ``config``
    (other inventories', and the one an earlier kob kept in haproxy.cfg), "-" when there is none."""
    folder = shlex.quote(config.rpartition("/")[0] or "/")
    return (f"for f in {folder}/kob-*.cfg {folder}/haproxy.cfg; do "
            f'[ -f "$f" ] && [ "$f" != {shlex.quote(config)} ] && head -n1 "$f" | grep -q "^# kob-structure:" || continue; '
            "ports=$(sed -n 's/^ *bind [^ ]*:\\([0-9][0-9]*\\).*/\\1/p' \"$f\" | paste -sd, -); "
            'printf "%s:%s " "${f##*/}" "$ports"; done; echo -')


# What the Engine API reader prints in its observe mode, by the docker CLI (the reader's fallback).
_OBSERVE_WITH_CLI = [
    f"echo {shlex.quote(CONTAINERS_MARK)}",
    f"ids=$(docker ps -aq --no-trunc --filter label={LABEL_SERVICE})",
    f'if [ -n "$ids" ]; then docker inspect --format {shlex.quote(INSPECT_FORMAT)} $ids; fi',
    f"echo {shlex.quote(IMAGES_MARK)}",
    f"docker image ls --no-trunc --format {shlex.quote(IMAGES_FORMAT)}",
    f"echo {shlex.quote(PORTS_MARK)}",
    f"docker ps --format {shlex.quote(PORTS_FORMAT)}",
]


def observe_argv(haproxy: tuple[str, ...] | None = None) -> list[str]:
    """One command that reports every kob service container, every image, and every container's ports on a host.

    Containers of every inventory (and of earlier kobs, without an owner label) are reported:
    kob.facts.containers keeps the asking inventory's, and the rest only as ports and leftovers.
    ``haproxy`` = (config path, pid file[, certs folder]) adds the digest of the load balancer's
    config, whether it runs, and the ports programs listen on, for hosts that have the lb role; with the certs
    folder also the sha256 of each TLS certificate file there (never the file).
    """
    lines = ["set -e", reader_or(["observe"], _OBSERVE_WITH_CLI)]
    if haproxy:
        config, pidfile = map(shlex.quote, haproxy[:2])
        lines += [
            f"echo {shlex.quote(HAPROXY_MARK)}",
            f"if [ -f {config} ]; then sha256sum <{config} | cut -c1-64; else echo none; fi",
            # running = the pid file's process exists and is not a zombie (readable by any user, unlike kill -0)
            f'pid=$(cat {pidfile} 2>/dev/null || true)',
            ('if [ -n "$pid" ] && grep -qs "^State:[[:space:]]*[^Z[:space:]]" "/proc/$pid/status"; '
             'then echo running; else echo stopped; fi'),
            f"sed -n '1s/^# kob-structure: //p' {config} 2>/dev/null | grep . || echo none",
            LISTENERS_SCRIPT,
            _other_balancers_script(config),
        ]
        if len(haproxy) > 2:
            lines.append(cert_digests_script(haproxy[2]))
    return ["sh", "-c", "\n".join(lines)]


def run_argv(replica: Replica, *, env_from_stdin: bool = False) -> list[str]:
    """`docker run` for one replica; secret values come on stdin (--env-file /dev/stdin), never in argv."""
    service = replica.service
    argv = ["docker", "run", "-d", "--name", replica.container_name]
    argv += _labels(replica)
    argv += ["--restart", service.restart]
    if replica.host_port is not None and service.port is not None:
        argv += ["-p", f"{replica.host_port}:{service.port}"]
    argv += _env(replica)
    if env_from_stdin:
        argv += ["--env-file", "/dev/stdin"]
    argv += _health(service.healthcheck, service.port)
    argv += _resources(service)
    for volume in service.volumes:
        argv += ["-v", f"{volume.source}:{volume.target}{':ro' if volume.read_only else ''}"]
    argv.append(service.image)
    if service.command:
        argv += list(service.command)
    return argv


def _labels(replica: Replica) -> list[str]:
    labels = {LABEL_INVENTORY: replica.owner, LABEL_SERVICE: replica.service.name, LABEL_REPLICA: str(replica.replica),
              LABEL_REVISION: str(replica.revision), LABEL_SPEC: replica.spec_hash,
              LABEL_IMAGE: replica.service.image}
    if replica.host_port is not None:
        labels[LABEL_PORT] = str(replica.host_port)
    return [word for key, value in labels.items() for word in ("--label", f"{key}={value}")]


def _env(replica: Replica) -> list[str]:
    env = {"KOB_SERVICE": replica.service.name, "KOB_REPLICA": str(replica.replica), "KOB_HOST": replica.host,
           **replica.service.env}
    return [word for key, value in env.items() for word in ("-e", f"{key}={value}")]


def _health(check: HealthCheck | None, port: int | None) -> list[str]:
    if check is None:
        return []
    if check.http_path is not None:
        url = shlex.quote(f"http://127.0.0.1:{port}{check.http_path}")
        test = f"wget -q -O /dev/null {url} || curl -fsS -o /dev/null {url}"
    else:
        test = shlex.join(check.command or ())
    return ["--health-cmd", test, "--health-interval", _seconds(check.interval),
            "--health-timeout", _seconds(check.timeout), "--health-retries", str(check.retries),
            "--health-start-period", _seconds(check.start_period)]


def _seconds(value: float) -> str:
    return f"{int(value * 1000)}ms"


def _resources(service: Service) -> list[str]:
    argv = []
    if service.resources.cpus is not None:
        argv += ["--cpus", f"{service.resources.cpus:g}"]
    if service.resources.memory is not None:
        argv += ["--memory", str(service.resources.memory)]
    return argv


def docker_reason(output: str) -> str:
    """Docker's own reason from a failed command's output, without its "Run 'docker run --help'" hint."""
    lines = [line.strip() for line in output.splitlines()
             if line.strip() and not line.startswith(("Run 'docker", "See 'docker"))]
    if not lines:
        return "docker printed no reason"
    return lines[-1].removeprefix("docker: ").removeprefix("Error response from daemon: ")


def stop_argv(container_ids: list[str], stop_timeout: int = 10) -> list[str]:
    """Stop gracefully (SIGTERM, then SIGKILL after the timeout); the containers stay, stopped."""
    return ["docker", "stop", "-t", str(stop_timeout), *container_ids]


def remove_argv(container_ids: list[str], stop_timeout: int = 10) -> list[str]:
    """Stop gracefully (SIGTERM, then SIGKILL after the timeout), then remove."""
    ids = list(container_ids)
    script = 'docker stop -t "$0" "$@" >/dev/null; docker rm -f "$@" >/dev/null'
    return ["sh", "-c", script, str(stop_timeout), *ids]


HEALTH_FORMAT = "{{.Id}} {{.State.Status}} " + HEALTH_STATUS.replace("{{end}}", "{{else}}none{{end}}")


def health_argv(container_ids: list[str]) -> list[str]:
    """Each container's id, state and health (\"none\" without a health check), one per line."""
    return ["docker", "inspect", "--format", HEALTH_FORMAT, *container_ids]


def logs_argv(container_id: str, tail: int | None = None, since: str | None = None, follow: bool = False) -> list[str]:
    argv = ["docker", "logs", "--timestamps"]
    if tail is not None:
        argv += ["--tail", str(tail)]
    if since:
        argv += ["--since", since]
    if follow:
        argv.append("--follow")
    return [*argv, container_id]


def image_id_argv(ref: str) -> list[str]:
    """The image ID a reference names (exit 1 when there is no such image)."""
    return ["docker", "image", "inspect", "--format", "{{.Id}}", "--", ref]


def save_argv(ref: str) -> list[str]:
    """The image as a tar stream on stdout."""
    return ["docker", "save", "--", ref]


def load_argv() -> list[str]:
    """Load the tar stream read on stdin."""
    return ["docker", "load", "-q"]


def service_logs_argv(container_ids: list[str], tail: int | None = None, since: str | None = None,
                      follow: bool = False) -> list[str]:
    """The logs (stdout and stderr, timestamped) of several containers at once, each line prefixed with its ID."""
    docker_logs = shlex.join(logs_argv("-", tail, since, follow)[:-1])
    script = (f'for id do {docker_logs} "$id" 2>&1 | '
              'while IFS= read -r line; do printf "%s %s\\n" "$id" "$line"; done & done; wait')
    return ["sh", "-c", script, "kob-logs", *container_ids]


def tag_argv(image_id: str, ref: str) -> list[str]:
    """Name an image the host already has (by ID) with the reference a service asks for."""
    return ["docker", "tag", image_id, ref]


IMAGE_LAYERS_FORMAT = "{{.Id}}{{range .RootFS.Layers}} {{.}}{{end}}"  # an image's ID, then its diff IDs


def image_layers_argv(ref: str) -> list[str]:
    """One image's ID and the diff IDs of its layers, bottom first, on one line."""
    return ["docker", "image", "inspect", "--format", IMAGE_LAYERS_FORMAT, "--", ref]


def all_image_layers_argv() -> list[str]:
    """Every image's ID and layer diff IDs, one image a line (nothing when the host has no image)."""
    script = ("docker image ls -q --no-trunc | sort -u | xargs -r docker image inspect --format "
              + shlex.quote(IMAGE_LAYERS_FORMAT))
    return ["sh", "-c", script]
