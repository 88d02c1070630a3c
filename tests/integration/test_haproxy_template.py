"""The packaged HAProxy template renders configs that real HAProxy accepts."""

from __future__ import annotations

import re
import subprocess

import jinja2
import pytest

from kob.commands.haproxy import check_config_argv, render_haproxy_config
from kob.spec.service_model import Failover

pytestmark = pytest.mark.lab  # Debian's haproxy checks the configs

WEB = {"name": "web", "balance": "roundrobin", "health_path": "/healthz",
       "servers": [{"name": "web-1", "address": "198.18.0.12", "port": 20001, "disabled": False},
                   {"name": "web-2", "address": "198.18.0.13", "port": 20001, "disabled": True}]}
API = {"name": "api", "balance": "leastconn", "health_path": None, "servers": []}
STICKY = {"name": "sticky", "balance": "source", "health_path": None,
          "servers": [{"name": "sticky-1", "address": "198.18.0.12", "port": 20002, "disabled": False}]}


@pytest.mark.parametrize("frontends, backends, expected_lines", [
    ([{"name": "http", "bind_port": 80, "routes": [], "default_backend": "web"}], [WEB],
     ["default_backend web", "option httpchk GET /healthz", "server web-1 198.18.0.12:20001 check",
      "server web-2 198.18.0.13:20001 check disabled"]),
    ([{"name": "http", "bind_port": 8080, "default_backend": None, "routes": [
        {"backend": "web", "host": "web.example", "path_prefix": None},
        {"backend": "api", "host": "web.example", "path_prefix": "/api"}]}], [WEB, API],
     ["bind :8080", "use_backend web if { hdr(host) -i web.example }",
      "use_backend api if { hdr(host) -i web.example } { path_beg /api }", "balance leastconn"]),
    ([{"name": "sticky", "bind_port": 8081, "routes": [], "default_backend": "sticky"}], [STICKY],
     ["balance source", "hash-type consistent",
      "default-server init-addr last,libc,none inter 2000ms fastinter 500ms fall 2 rise 2 observe layer4 "
      "error-limit 1 on-error sudden-death",
      "option redispatch 1", "retries 3", "retry-on conn-failure empty-response", "timeout connect 1000ms",
      "http-request disable-l7-retry unless { method GET HEAD OPTIONS }"]),
    ([], [], ["master-worker"]),
])
@pytest.mark.parametrize("failover", [Failover(), Failover(0, (), 0.05, 0.1, 1, 10),
                                      Failover(10, ("PUT", "DELETE", "TRACE"), 60, 3600, 10, 1)])
def test_rendered_config_passes_haproxy_check(tmp_path, frontends, backends, expected_lines, failover):
    text = render_haproxy_config(frontends, backends, admin_socket=str(tmp_path / "admin.sock"), failover=failover)
    if failover != Failover():
        expected_lines = [line for line in expected_lines if line.startswith(("balance", "hash-type", "server"))]
    lines = [line.strip() for line in text.splitlines()]
    for expected in expected_lines:
        assert expected in lines
    assert re.fullmatch(r"# kob-structure: [0-9a-f]{64}", lines[0])
    path = tmp_path / "haproxy.cfg"
    path.write_text(text)
    check = subprocess.run(check_config_argv(str(path)), capture_output=True, text=True)
    assert check.returncode == 0, check.stderr


def test_a_missing_value_is_an_error_not_an_empty_string():
    with pytest.raises(jinja2.UndefinedError, match="bind_port"):
        render_haproxy_config([{"name": "http", "routes": [], "default_backend": None}], [])


def test_haproxy_check_rejects_a_broken_config(tmp_path):
    path = tmp_path / "haproxy.cfg"
    path.write_text(render_haproxy_config([{"name": "http", "bind_port": 80, "routes": [],
                                            "default_backend": "nowhere"}], []))
    check = subprocess.run(check_config_argv(str(path)), capture_output=True, text=True)
    assert check.returncode != 0 and "nowhere" in check.stderr + check.stdout


@pytest.mark.parametrize("alpn, redirect_port", [("h2,http/1.1", None), ("http/1.1", 8080), ("h2,http/1.1", 80)])
def test_a_tls_frontend_passes_haproxy_check(tmp_path, alpn, redirect_port):
    """HAProxy reads the certificate when it checks: a real PEM (made in-process) must be where crt points."""
    from tests.helpers.certs import bundle, issue, make_ca

    pem = tmp_path / "https.pem"
    pem.write_bytes(bundle(issue(make_ca(), "site.test")))
    tls = {"crt": str(pem), "alpn": alpn, "redirect_port": redirect_port}
    text = render_haproxy_config([{"name": "https", "bind_port": 8443, "routes": [], "default_backend": "web",
                                   "tls": tls}], [WEB], admin_socket=str(tmp_path / "admin.sock"))
    assert f"    bind :8443 ssl crt {pem} alpn {alpn}\n" in text
    assert (f"    bind :{redirect_port}\n" in text) == (redirect_port is not None)
    path = tmp_path / "haproxy.cfg"
    path.write_text(text)
    check = subprocess.run(check_config_argv(str(path)), capture_output=True, text=True)
    assert check.returncode == 0, check.stderr
    assert "WARNING" not in check.stderr.upper(), check.stderr
