"""HAProxy: the config rendered from kob's template, and the commands that check, load and steer it.

Runtime API lines (``add_server_commands`` ...) are sent on stdin to ``runtime_argv(socket)``;
several commands go on one line, separated by ";".
"""

from __future__ import annotations

import functools
import hashlib
import re
from dataclasses import dataclass
from importlib import resources
from typing import Any

from kob.spec.service_model import DEFAULT_FAILOVER, Failover

# Where kob before owner labels kept its one HAProxy per host (kob adopt takes it over); also the
# defaults of the command builders and HaproxyDriver, which tests drive directly.
ADMIN_SOCKET = "/run/haproxy/admin.sock"
CONFIG_PATH = "/etc/haproxy/haproxy.cfg"
PIDFILE = "/run/haproxy.pid"
CONFIG_DIR = "/etc/haproxy"


@dataclass(frozen=True)
class HaproxyPaths:
    """Where one HAProxy keeps its config, pid file and runtime API socket on an lb host.

    Each inventory runs an HAProxy of its own (``of(owner)``): one inventory's reloads, configs and
    mistakes never reach another's frontends on a shared lb host.
    """

    config: str
    pidfile: str
    admin_socket: str
    certs: str = ""  # the folder of its TLS frontends' PEM files (mode 0700); "" for an earlier kob's

    @classmethod
    def of(cls, owner: str) -> HaproxyPaths:
        return cls(f"{CONFIG_DIR}/kob-{owner}.cfg", f"/run/kob-haproxy-{owner}.pid", f"/run/haproxy/kob-{owner}.sock",
                   f"{CONFIG_DIR}/kob-{owner}-certs")


LEGACY = HaproxyPaths(CONFIG_PATH, PIDFILE, ADMIN_SOCKET)
FAST_CHECK_INTERVAL = 0.5  # s: checks of a replica whose last check or connection failed (unless inter is shorter)

# install_config_argv's exit codes besides 0 and 1 (anything else went wrong)
EXIT_INVALID = 3  # haproxy -c refused the new config; the old one is untouched
EXIT_NOT_STARTED = 4  # HAProxy was not running and did not start with the new config
EXIT_NOT_RELOADED = 5  # the master did not take the new config; the old file is back in place
WAIT_STEPS = 100  # times 0.1 s: how long install waits for a (re)started worker to answer

_NAME = re.compile(r"[A-Za-z0-9_.:-]+")  # what may stand in a runtime command line without quoting


@functools.cache
def _environment():
    """The sandbox the HAProxy template renders in, made once per process so the template compiles once
    (imported here: commands that only observe need no Jinja)."""
    import jinja2

    from kob.jinja_sandbox import BoundedSandbox

    loader = jinja2.FunctionLoader(lambda name: resources.files("kob.templates").joinpath(name).read_text())
    return BoundedSandbox(loader=loader, autoescape=False)


def haproxy_template():
    """The HAProxy config template, compiled (once per process; callers may compile it ahead, in a thread, while
    they wait for hosts)."""
    return _environment().get_template("haproxy.cfg.j2")


def render_haproxy_config(frontends: list[dict[str, Any]], backends: list[dict[str, Any]],
                          admin_socket: str = ADMIN_SOCKET, structure_digest: str | None = None,
                          failover: Failover = DEFAULT_FAILOVER) -> str:
    """The haproxy.cfg text for these frontends and backends (see the template's header).

    ``structure_digest`` defaults to ``haproxy_structure_digest`` of the same arguments.
    """
    if structure_digest is None:
        structure_digest = haproxy_structure_digest(frontends, backends, admin_socket, failover)
    template = haproxy_template()
    return template.render(frontends=frontends, backends=backends, admin_socket=admin_socket,
                           check_timing=server_check_words(failover), retries=failover.retries,
                           retry_methods=list(failover.retry_methods),
                           connect_timeout=_milliseconds(failover.connect_timeout),
                           structure_digest=structure_digest)


def haproxy_structure_digest(frontends: list[dict[str, Any]], backends: list[dict[str, Any]],
                             admin_socket: str = ADMIN_SOCKET, failover: Failover = DEFAULT_FAILOVER) -> str:
    """sha256 of the config without its server lines: equal digests mean only servers differ."""
    bare = [{**backend, "servers": []} for backend in backends]
    text = render_haproxy_config(frontends, bare, admin_socket, structure_digest="", failover=failover)
    return hashlib.sha256(text.encode()).hexdigest()


def server_check_words(failover: Failover = DEFAULT_FAILOVER) -> str:
    """How every server is health-checked: the template's default-server, and spelled out for servers added
    through the runtime API (they do not inherit default-server).

    Once a check fails, checks come every FAST_CHECK_INTERVAL; ``observe layer4`` makes a request's failed
    connection count as a failed check that leaves one more to go (sudden-death), so a replica that died
    leaves rotation at the next fast check instead of after ``fall`` whole intervals.
    """
    fast = min(failover.check_interval, FAST_CHECK_INTERVAL)
    return (f"inter {_milliseconds(failover.check_interval)} fastinter {_milliseconds(fast)} "
            f"fall {failover.check_fall} rise {failover.check_rise} "
            "observe layer4 error-limit 1 on-error sudden-death")


def _milliseconds(seconds: float) -> str:
    return f"{max(1, round(seconds * 1000))}ms"


def check_config_argv(path: str) -> list[str]:
    """Validate a config file without touching the running HAProxy."""
    return ["haproxy", "-c", "-f", path]


_INSTALL = f"""\
path=$1 pidfile=$2 reload=$3 sock=$4
mkdir -p "$(dirname "$path")" "$(dirname "$pidfile")" "$(dirname "$sock")" || exit 1
tmp=$(mktemp "$path.kob-XXXXXX") || exit 1
trap 'rm -f "$tmp" "$tmp.old" "$tmp.log"' EXIT
cat >"$tmp" && chmod 644 "$tmp" || exit 1
if ! haproxy -c -f "$tmp" >"$tmp.log" 2>&1; then cat "$tmp.log" >&2; exit {EXIT_INVALID}; fi
running() {{ pid=$(cat "$pidfile" 2>/dev/null) && kill -0 "$pid" 2>/dev/null &&
  ! grep -qs '^State:[[:space:]]*Z' "/proc/$pid/status"; }}  # a zombie is not running
worker() {{ printf 'show info\\n' | socat -t 2 stdio "UNIX-CONNECT:$sock" 2>/dev/null | sed -n 's/^Pid: //p'; }}
wait_worker() {{ i=0; while w=$(worker); [ -z "$w" ] || [ "$w" = "$1" ]; do
  i=$((i+1)); [ $i -ge {WAIT_STEPS} ] && return 1; sleep 0.1; done; }}
if ! running; then
  mv -f "$tmp" "$path" || exit 1
  if ! haproxy -D -W -f "$path" -p "$pidfile" </dev/null >"$tmp.log" 2>&1; then
    cat "$tmp.log" >&2; exit {EXIT_NOT_STARTED}
  fi
  if ! wait_worker ""; then
    echo "HAProxy started but its runtime API at $sock does not answer" >&2; exit {EXIT_NOT_STARTED}
  fi
  echo started
elif [ "$reload" = 1 ]; then
  old=$(worker); cp -p "$path" "$tmp.old" 2>/dev/null
  mv -f "$tmp" "$path" || exit 1
  kill -USR2 "$pid" || exit 1
  if ! wait_worker "$old"; then
    [ -f "$tmp.old" ] && mv -f "$tmp.old" "$path"
    echo "HAProxy did not take the new config within $(({WAIT_STEPS} / 10)) s (a port in use?)" >&2
    exit {EXIT_NOT_RELOADED}
  fi
  echo reloaded
else
  mv -f "$tmp" "$path" || exit 1
  echo written
fi
"""


def install_config_argv(path: str = CONFIG_PATH, pidfile: str = PIDFILE, reload: bool = False,
                        socket: str = ADMIN_SOCKET) -> list[str]:
    """Install the config read on stdin: validate a temp file beside ``path``, rename it into place, then
    start HAProxy if it is not running, or reload it (USR2 to the master) when ``reload``.

    Prints one word: started | reloaded | written. The (re)started worker answers on ``socket``
    before it returns. Exit codes: see EXIT_* (HAProxy's own messages on stderr).
    """
    return ["sh", "-c", _INSTALL, "kob-install-haproxy", path, pidfile, "1" if reload else "0", socket]


def retire_legacy_argv(paths: HaproxyPaths = LEGACY) -> list[str]:
    """Where ``paths.config`` is kob's (its first line "# kob-structure:"), soft-stop its HAProxy (USR1: it stops
    listening, its open connections finish) and remove its config and pid file; anything else is left alone."""
    script = ('head -n1 "$1" 2>/dev/null | grep -q "^# kob-structure:" || exit 0\n'
              'pid=$(cat "$2" 2>/dev/null) && kill -USR1 "$pid" 2>/dev/null\n'
              'rm -f "$1" "$2"')
    return ["sh", "-c", script, "kob-retire-haproxy", paths.config, paths.pidfile]


def stop_argv(pidfile: str = PIDFILE) -> list[str]:
    """Stop HAProxy (its master, which stops the workers) if it runs, and forget its pid file."""
    script = 'pid=$(cat "$1" 2>/dev/null) && kill "$pid" 2>/dev/null; rm -f "$1"'
    return ["sh", "-c", script, "kob-stop-haproxy", pidfile]


def runtime_argv(socket: str = ADMIN_SOCKET) -> list[str]:
    """Send the command line read on stdin to HAProxy's runtime API; prints HAProxy's replies."""
    return ["socat", "-t", "5", "stdio", f"UNIX-CONNECT:{socket}"]


def add_server_commands(backend: str, server: str, address: str, port: int,
                        failover: Failover = DEFAULT_FAILOVER) -> str:
    """Add a server (or re-point an existing one), enable its health check and put it in service."""
    ref = _ref(backend, server)
    return (f"add server {ref} {_word(address)}:{int(port)} check {server_check_words(failover)}; "
            f"set server {ref} addr {_word(address)} port {int(port)}; "
            f"enable health {ref}; set server {ref} state ready")


def drain_command(backend: str, server: str) -> str:
    """Stop sending new sessions to the server; running ones finish."""
    return f"set server {_ref(backend, server)} state drain"


def delete_server_commands(backend: str, server: str) -> str:
    """Put the server in maintenance, then delete it (HAProxy deletes only servers in maintenance)."""
    ref = _ref(backend, server)
    return f"set server {ref} state maint; del server {ref}"


def cut_sessions_commands(backend: str, server: str) -> str:
    """Maintenance, then close the sessions still open (after a drain timed out); a delete may follow."""
    ref = _ref(backend, server)
    return f"set server {ref} state maint; shutdown sessions server {ref}"


def show_stat_command() -> str:
    """CSV statistics of every server (type 4) of every proxy.

    Not filtered by backend name: a frontend often has the same name, and HAProxy would pick it.
    """
    return "show stat -1 4 -1"


def _ref(backend: str, server: str) -> str:
    return f"{_word(backend)}/{_word(server)}"


def _word(text: str) -> str:
    if not _NAME.fullmatch(text):
        raise ValueError(f"{text!r} cannot be sent to HAProxy's runtime API; use letters, digits and _ . : -")
    return text
