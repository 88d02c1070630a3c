"""The lb layer's pure parts: the config model, when to install or reload, HAProxy's error lines."""

from __future__ import annotations

import hashlib

import pytest

from kob.facts.containers import HaproxyFact
from kob.lb import LbBackend, LbConfig, LbConfigInvalid, LbFrontend, LbRoute, LbServer
from kob.lb.driver import config_step, haproxy_errors

WEB_1 = LbServer("web", "web-1", "198.18.3.12", 20001)
WEB_2 = LbServer("web", "web-2", "198.18.3.13", 20001)
FRONTENDS = (LbFrontend("http", 80, routes=(LbRoute("api", path_prefix="/api"),), default_backend="web"),)


def config(*servers: LbServer, balance="roundrobin", bind=80) -> LbConfig:
    frontends = (LbFrontend("http", bind, FRONTENDS[0].routes, "web"),)
    return LbConfig(frontends, (LbBackend("web", balance, "/healthz", servers), LbBackend("api")))


def test_the_rendered_config_routes_and_lists_servers_sorted_by_name():
    lines = [line.strip() for line in config(WEB_2, WEB_1).render().splitlines()]
    assert "use_backend api if { path_beg /api }" in lines and "default_backend web" in lines
    servers = [line for line in lines if line.startswith("server ")]
    assert servers == ["server web-1 198.18.3.12:20001 check", "server web-2 198.18.3.13:20001 check"]
    assert config(WEB_2, WEB_1).digest() == config(WEB_1, WEB_2).digest()
    assert config(WEB_1).digest() == hashlib.sha256(config(WEB_1).render().encode()).hexdigest()


@pytest.mark.parametrize("other, same_structure", [
    (config(WEB_1, WEB_2), True), (config(), True), (config(WEB_1, bind=8080), False),
    (config(WEB_1, balance="source"), False),
])
def test_only_servers_keep_the_structure(other, same_structure):
    assert (config(WEB_1).structure_digest() == other.structure_digest()) is same_structure
    assert config(WEB_1).servers() == (WEB_1,)


def test_a_server_must_sit_in_its_own_backend():
    with pytest.raises(ValueError, match="api/web-1"):
        LbBackend("web", servers=(LbServer("api", "web-1", "198.18.3.12", 20001),))


DIGEST, STRUCTURE = "d" * 64, "s" * 64


@pytest.mark.parametrize("fact, step", [
    (HaproxyFact(DIGEST, True, STRUCTURE), "unchanged"),
    (HaproxyFact("0" * 64, True, STRUCTURE), "install"),  # only servers differ: write, no reload
    (HaproxyFact("0" * 64, True, "1" * 64), "reload"),
    (HaproxyFact("0" * 64, True, None), "reload"),  # a file kob did not write
    (HaproxyFact(None, False, None), "install"),  # starts it
    (HaproxyFact(DIGEST, False, STRUCTURE), "install"),  # same file, but stopped: starts it
    (HaproxyFact("0" * 64, False, "1" * 64), "install"),
    (None, "reload"),  # not observed: reload to be safe (starts it when stopped)
])
def test_config_step(fact, step):
    assert config_step(fact, DIGEST, STRUCTURE) == step


OUTPUT = """\
[NOTICE]   (25133) : haproxy version is 2.6.12-1+deb12u4
[NOTICE]   (25133) : path to executable is /usr/sbin/haproxy
[ALERT]    (25133) : config : parsing [/etc/haproxy/haproxy.cfg.kob-Ab3dE9:31] : unknown keyword 'balanse' in \
'backend' section
[ALERT]    (25133) : config : Proxy 'http': unable to find required default_backend: 'nowhere'.
[ALERT]    (25133) : config : Fatal errors found in configuration.
"""


@pytest.mark.parametrize("output, errors", [
    (OUTPUT, ["config : parsing [/etc/haproxy/haproxy.cfg:31] : unknown keyword 'balanse' in 'backend' section",
              "config : Proxy 'http': unable to find required default_backend: 'nowhere'."]),
    ("[ALERT]    (7) : config : Fatal errors found in configuration.\n",
     ["config : Fatal errors found in configuration."]),
    ("HAProxy did not take the new config within 10 s (a port in use?)\n",
     ["HAProxy did not take the new config within 10 s (a port in use?)"]),
])
def test_haproxy_errors_keep_its_alerts_with_the_real_file_name(output, errors):
    assert haproxy_errors(output, "/etc/haproxy/haproxy.cfg") == errors


def test_the_refusal_message_names_the_host_and_says_the_old_config_serves():
    error = LbConfigInvalid("vm1", ["config : Proxy 'http': unable to find required default_backend: 'nowhere'."])
    assert str(error) == ("vm1: HAProxy refused the new config (the old one keeps serving): "
                          "config : Proxy 'http': unable to find required default_backend: 'nowhere'.")
