"""HAProxy: the config rendered from kob's template, and the commands that check and load it."""

from __future__ import annotations

from importlib import resources
from typing import Any

import jinja2

ADMIN_SOCKET = "/run/haproxy/admin.sock"
CONFIG_PATH = "/etc/haproxy/haproxy.cfg"


def _environment() -> jinja2.Environment:
    loader = jinja2.FunctionLoader(lambda name: resources.files("kob.templates").joinpath(name).read_text())
    return jinja2.Environment(loader=loader, undefined=jinja2.StrictUndefined, keep_trailing_newline=True,
                              autoescape=False)


def render_haproxy_config(frontends: list[dict[str, Any]], backends: list[dict[str, Any]],
                          admin_socket: str = ADMIN_SOCKET) -> str:
    """The haproxy.cfg text for these frontends and backends (see the template's header)."""
    template = _environment().get_template("haproxy.cfg.j2")
    return template.render(frontends=frontends, backends=backends, admin_socket=admin_socket)


def check_config_argv(path: str) -> list[str]:
    """Validate a config file without touching the running HAProxy."""
    return ["haproxy", "-c", "-f", path]
