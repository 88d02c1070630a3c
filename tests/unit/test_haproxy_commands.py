"""HAProxy command builders (pure): runtime API lines, install/stop argv, structure digests."""

from __future__ import annotations

import pytest

from kob.commands.haproxy import (add_server_commands, cut_sessions_commands, delete_server_commands, drain_command,
                                  haproxy_structure_digest, install_config_argv, render_haproxy_config,
                                  runtime_argv, show_stat_command, stop_argv)

FRONTENDS = [{"name": "web", "bind_port": 80, "routes": [], "default_backend": "web"}]


def backend(balance="roundrobin", servers=()):
    return {"name": "web", "balance": balance, "health_path": "/healthz",
            "servers": [{"name": name, "address": "198.18.3.12", "port": port, "disabled": False}
                        for name, port in servers]}


@pytest.mark.parametrize("line, expected", [
    (add_server_commands("web", "web-1", "198.18.3.12", 20001),
     "add server web/web-1 198.18.3.12:20001 check inter 2s fall 2 rise 2; "
     "set server web/web-1 addr 198.18.3.12 port 20001; enable health web/web-1; set server web/web-1 state ready"),
    (drain_command("web", "web-1"), "set server web/web-1 state drain"),
    (delete_server_commands("api", "api-2"), "set server api/api-2 state maint; del server api/api-2"),
    (cut_sessions_commands("api", "api-2"), "set server api/api-2 state maint; shutdown sessions server api/api-2"),
    (show_stat_command(), "show stat -1 4 -1"),
])
def test_runtime_command_lines(line, expected):
    assert line == expected


@pytest.mark.parametrize("backend_name, server, address", [
    ("web", "web-1; shutdown sessions server web/x", "198.18.3.12"),
    ("web/x", "web-1", "198.18.3.12"),
    ("web", "", "198.18.3.12"),
    ("web", "web-1", "198.18.3.12 backup"),
])
def test_names_that_would_change_the_command_are_refused(backend_name, server, address):
    with pytest.raises(ValueError, match="runtime API"):
        add_server_commands(backend_name, server, address, 20001)


@pytest.mark.parametrize("argv, expected", [
    (runtime_argv("/run/haproxy/admin.sock"), ["socat", "-t", "5", "stdio", "UNIX-CONNECT:/run/haproxy/admin.sock"]),
    (install_config_argv("/etc/haproxy/haproxy.cfg", "/run/haproxy.pid", True, "/run/haproxy/admin.sock")[3:],
     ["kob-install-haproxy", "/etc/haproxy/haproxy.cfg", "/run/haproxy.pid", "1", "/run/haproxy/admin.sock"]),
    (install_config_argv("/srv/h.cfg", "/run/h.pid", False, "/run/h.sock")[3:],
     ["kob-install-haproxy", "/srv/h.cfg", "/run/h.pid", "0", "/run/h.sock"]),
    (stop_argv("/run/haproxy.pid")[3:], ["kob-stop-haproxy", "/run/haproxy.pid"]),
])
def test_paths_reach_the_remote_shell_as_arguments_never_inside_the_script(argv, expected):
    assert argv == expected


def test_install_validates_before_it_renames_and_reloads_through_the_master():
    sh, dash_c, script = install_config_argv()[:3]
    assert (sh, dash_c) == ("sh", "-c")
    check, rename, usr2 = (script.index('haproxy -c -f "$tmp"'), script.index('mv -f "$tmp" "$path"'),
                           script.index('kill -USR2 "$pid"'))
    assert check < rename < usr2
    assert 'haproxy -D -W -f "$path" -p "$pidfile"' in script


@pytest.mark.parametrize("before, after, same_structure", [
    ([backend(servers=[("web-1", 20001)])], [backend(servers=[("web-1", 20001), ("web-2", 20002)])], True),
    ([backend(servers=[("web-1", 20001)])], [backend()], True),
    ([backend()], [backend(balance="leastconn")], False),
    ([backend()], [backend(), {**backend(), "name": "api"}], False),
])
def test_the_structure_digest_ignores_servers_only(before, after, same_structure):
    assert (haproxy_structure_digest(FRONTENDS, before) == haproxy_structure_digest(FRONTENDS, after)) \
        is same_structure
    assert render_haproxy_config(FRONTENDS, before) != render_haproxy_config(FRONTENDS, after)


def test_the_first_line_carries_the_structure_digest():
    text = render_haproxy_config(FRONTENDS, [backend(servers=[("web-1", 20001)])])
    assert text.splitlines()[0] == f"# kob-structure: {haproxy_structure_digest(FRONTENDS, [backend()])}"


@pytest.mark.parametrize("balance, consistent", [("source", True), ("roundrobin", False), ("leastconn", False)])
def test_source_balancing_uses_a_dynamic_hash(balance, consistent):
    lines = [line.strip() for line in render_haproxy_config(FRONTENDS, [backend(balance)]).splitlines()]
    assert ("hash-type consistent" in lines) is consistent
