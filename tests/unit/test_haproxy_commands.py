"""HAProxy command builders (pure): runtime API lines, install/stop argv, structure digests."""

from __future__ import annotations

import pytest

from kob.commands.haproxy import (add_server_commands, cut_sessions_commands, delete_server_commands, drain_command,
                                  haproxy_structure_digest, install_config_argv, render_haproxy_config,
                                  runtime_argv, server_check_words, show_stat_command, stop_argv)
from kob.spec.service_model import DEFAULT_FAILOVER, Failover

FRONTENDS = [{"name": "web", "bind_port": 80, "routes": [], "default_backend": "web"}]


def backend(balance="roundrobin", servers=()):
    return {"name": "web", "balance": balance, "health_path": "/healthz",
            "servers": [{"name": name, "address": "198.18.3.12", "port": port, "disabled": False}
                        for name, port in servers]}


@pytest.mark.parametrize("line, expected", [
    (add_server_commands("web", "web-1", "198.18.3.12", 20001),
     "add server web/web-1 198.18.3.12:20001 check inter 2000ms fastinter 500ms fall 2 rise 2 "
     "observe layer4 error-limit 1 on-error sudden-death; "
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


# -- failover: retries elsewhere, and a dead server out of rotation quickly -------------------------------

def config_lines(failover: Failover = DEFAULT_FAILOVER) -> list[str]:
    return [line.strip() for line in render_haproxy_config(FRONTENDS, [backend()], failover=failover).splitlines()]


def test_by_default_a_failed_request_is_tried_again_on_another_server_and_only_safe_methods_are_replayed():
    lines = config_lines()
    assert {"option redispatch 1", "retries 3", "retry-on conn-failure empty-response",
            "timeout connect 1000ms"} <= set(lines)
    assert "http-request disable-l7-retry unless { method GET HEAD OPTIONS }" in lines  # in the backend
    assert lines.index("backend web") < lines.index("http-request disable-l7-retry unless { method GET HEAD OPTIONS }")
    assert f"default-server init-addr last,libc,none {server_check_words()}" in lines


def test_with_no_retry_methods_only_requests_never_sent_are_tried_again():
    lines = config_lines(Failover(retries=2, retry_methods=()))
    assert "retry-on conn-failure" in lines and "retries 2" in lines
    assert not any("disable-l7-retry" in line for line in lines)


@pytest.mark.parametrize("failover, words", [
    (Failover(), "inter 2000ms fastinter 500ms fall 2 rise 2 observe layer4 error-limit 1 on-error sudden-death"),
    (Failover(check_interval=0.3, check_fall=3, check_rise=1),
     "inter 300ms fastinter 300ms fall 3 rise 1 observe layer4 error-limit 1 on-error sudden-death"),
])
def test_servers_added_at_runtime_are_checked_like_those_of_the_file(failover, words):
    assert server_check_words(failover) == words
    assert add_server_commands("web", "web-1", "198.18.3.12", 20001, failover).startswith(
        f"add server web/web-1 198.18.3.12:20001 check {words}; ")
    assert f"default-server init-addr last,libc,none {words}" in config_lines(failover)


@pytest.mark.parametrize("failover", [Failover(retries=1), Failover(retry_methods=("GET",)),
                                      Failover(connect_timeout=2), Failover(check_interval=1)])
def test_failover_settings_change_the_structure_so_a_reload_applies_them(failover):
    assert haproxy_structure_digest(FRONTENDS, [backend()], failover=failover) != \
        haproxy_structure_digest(FRONTENDS, [backend()])
