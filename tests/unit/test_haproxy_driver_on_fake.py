"""HaproxyDriver over the scripted fake: what HAProxy answers → which commands and runtime API lines go out."""

from __future__ import annotations

import asyncio
import dataclasses

import pytest

from kob.commands.haproxy import (ADMIN_SOCKET, CONFIG_PATH, PIDFILE, install_config_argv, runtime_argv,
                                  server_check_words)
from kob.errors import CommandFailed, HostUnreachable
from kob.facts.containers import HaproxyFact, ObservationError
from kob.facts.haproxy import ADDED, ALREADY_THERE, DELETED, NO_SUCH_SERVER, ServerStat
from kob.lb import (HaproxyDriver, LbBackend, LbConfig, LbConfigInvalid, LbError, LbFrontend, LbNotApplied,
                    LbRuntimeRefused, LbServer)
from kob.spec.service_model import Failover
from tests.helpers.fake_transport import Reply, ScriptedTransport, target

REAL_SLEEP = asyncio.sleep
HOSTS = ("lb1", "lb2")
WEB1 = LbServer("web", "web-1", "198.18.0.12", 20000)
WEB2 = LbServer("web", "web-2", "198.18.0.13", 20000)
API1 = LbServer("api", "api-1", "198.18.0.12", 20001)
INSTALL = "kob-install-haproxy"  # a word of the install command line that nothing else has
SOCAT = "socat"
STUCK = "Server still has connections attached to it, cannot remove it."
CHECK = server_check_words()  # the default health-check words


def config(*servers: LbServer, balance: str = "roundrobin") -> LbConfig:
    backends = tuple(LbBackend(name, balance, "/healthz", tuple(s for s in servers if s.backend == name))
                     for name in ("api", "web"))
    frontends = (LbFrontend("http", 80, default_backend="web"),)
    return LbConfig(frontends, backends)


def fact(of: LbConfig | None, running: bool = True) -> HaproxyFact:
    """What observing an lb host said: the installed file is ``of`` (None: no file)."""
    return HaproxyFact(of.digest() if of else None, running, of.structure_digest() if of else None)


ADDRESSES = {s.name: f"{s.address}:{s.port}" for s in (WEB1, WEB2, API1)}


def stat(*rows: tuple) -> str:
    """`show stat` CSV of servers (backend, server, current sessions[, address:port]), with a BACKEND line
    HAProxy also prints; a known server's address is its own unless given."""
    lines = ["# pxname,svname,qcur,scur,stot,status,weight,type,check_status,addr"]
    for backend, server, sessions, *address in rows:
        where = address[0] if address else ADDRESSES.get(server, "198.18.0.12:20000")
        lines.append(f"{backend},{server},0,{sessions},3,UP,1,2,L7OK,{where}")
    lines.append("web,BACKEND,0,0,9,UP,1,1,,")
    return "\n".join(lines) + "\n"


def runtime_lines(fake: ScriptedTransport, host: str) -> list[str]:
    """The runtime API command lines sent to ``host``'s admin socket, in order."""
    return [s.input.decode().rstrip("\n") for s in fake.sent if s.host == host and s.argv[0] == SOCAT]


def driver(fake: ScriptedTransport, hosts=HOSTS) -> HaproxyDriver:
    return HaproxyDriver(fake, [target(h) for h in hosts])


@pytest.fixture
def sleeps(monkeypatch) -> list[float]:
    """asyncio.sleep records what it was asked and only yields: polling costs no time."""
    asked: list[float] = []

    async def sleep(seconds, result=None):
        asked.append(seconds)
        return await REAL_SLEEP(0, result)

    monkeypatch.setattr(asyncio, "sleep", sleep)
    return asked


# ensure_config: the observed fact and install's answer → the command sent (or none) and the step per host

OLD = config(WEB1)
SERVERS_CHANGED = config(WEB1, WEB2)
STRUCTURE_CHANGED = config(WEB1, balance="leastconn")


@pytest.mark.parametrize("name, wanted, seen, answer, reload_flag, expected", [
    ("file and HAProxy as wanted: nothing sent", OLD, fact(OLD), None, None, "unchanged"),
    ("balance changed: a reload", STRUCTURE_CHANGED, fact(OLD), "reloaded\n", "1", "reloaded"),
    ("never observed: reloaded to be safe", OLD, None, "reloaded\n", "1", "reloaded"),
    ("stopped with the right file: started", OLD, fact(OLD, running=False), "started\n", "0", "started"),
    ("stopped, no file yet: started", OLD, fact(None, running=False), "started\n", "0", "started"),
    ("stopped with another structure: started, not reloaded", STRUCTURE_CHANGED, fact(OLD, running=False),
     "started\n", "0", "started"),
])
async def test_ensure_config_sends_one_install_where_the_file_differs(name, wanted, seen, answer, reload_flag,
                                                                      expected):
    fake = ScriptedTransport([("*", INSTALL, Reply(stdout=answer or ""))], default=None)
    steps = await driver(fake).ensure_config(wanted, {h: seen for h in HOSTS})
    assert steps == {h: expected for h in HOSTS}, name
    if answer is None:
        assert fake.sent == []
    else:
        assert [(s.host, list(s.argv), s.input) for s in fake.sent] == [
            (h, install_config_argv(CONFIG_PATH, PIDFILE, reload_flag == "1", ADMIN_SOCKET), wanted.render().encode())
            for h in HOSTS]


@pytest.mark.parametrize("name, stat_reply, runtime_replies, expected_lines", [
    ("web-2 missing: added",
     stat(("web", "web-1", 0)), [ADDED],
     ["show stat -1 4 -1",
      f"add server web/web-2 198.18.0.13:20000 check {CHECK}; set server web/web-2 addr 198.18.0.13 "
      "port 20000; enable health web/web-2; set server web/web-2 state ready"]),
    ("already lined up by add_server: only looked",
     stat(("web", "web-1", 0), ("web", "web-2", 0)), [],
     ["show stat -1 4 -1"]),
    ("web-2 at another address (a duplicate's, same name on another host): pointed at the config's",
     stat(("web", "web-1", 0), ("web", "web-2", 0, "198.18.0.14:20003")), [ALREADY_THERE],
     ["show stat -1 4 -1",
      f"add server web/web-2 198.18.0.13:20000 check {CHECK}; set server web/web-2 addr 198.18.0.13 "
      "port 20000; enable health web/web-2; set server web/web-2 state ready"]),
    ("a stray server: drained, then deleted",
     stat(("web", "web-1", 0), ("web", "web-2", 0), ("web", "web-9", 0)), ["\n" + stat(("web", "web-9", 0)), DELETED],
     ["show stat -1 4 -1", "set server web/web-9 state drain; show stat -1 4 -1",
      "set server web/web-9 state maint; del server web/web-9"]),
    ("servers of a backend the config lacks are left alone",
     stat(("web", "web-1", 0), ("web", "web-2", 0), ("old", "old-1", 0)), [],
     ["show stat -1 4 -1"]),
    ("one missing, one stray: add first, then remove",
     stat(("web", "web-1", 0), ("api", "api-7", 0)), [ADDED, "\n" + stat(("api", "api-7", 0)), DELETED],
     ["show stat -1 4 -1",
      f"add server web/web-2 198.18.0.13:20000 check {CHECK}; set server web/web-2 addr 198.18.0.13 "
      "port 20000; enable health web/web-2; set server web/web-2 state ready",
      "set server api/api-7 state drain; show stat -1 4 -1",
      "set server api/api-7 state maint; del server api/api-7"]),
])
async def test_only_servers_changed_writes_the_file_then_lines_up_the_running_servers(
        name, stat_reply, runtime_replies, expected_lines):
    replies = [Reply(stdout=stat_reply)] + [Reply(stdout=r + "\n") for r in runtime_replies]
    fake = ScriptedTransport([("*", INSTALL, Reply(stdout="written\n")), ("lb1", SOCAT, replies)], default=None)
    steps = await driver(fake, ["lb1"]).ensure_config(SERVERS_CHANGED, {"lb1": fact(OLD)})
    assert steps == {"lb1": "written"}, name
    assert fake.sent[0].argv == tuple(install_config_argv(reload=False))
    assert runtime_lines(fake, "lb1") == expected_lines


@pytest.mark.parametrize("name, rc, stderr, error, message", [
    ("haproxy -c refuses: its own alert, with the real file name", 3,
     "[NOTICE]   (812) : haproxy version is 2.6.12\n"
     "[ALERT]    (812) : config : parsing [/etc/haproxy/haproxy.cfg.kob-Xy12ab:31] : unknown keyword 'frobnicate' "
     "in 'backend' section\n"
     "[ALERT]    (812) : config : Fatal errors found in configuration.\n",
     LbConfigInvalid,
     "lb1: HAProxy refused the new config (the old one keeps serving): config : parsing "
     "[/etc/haproxy/haproxy.cfg:31] : unknown keyword 'frobnicate' in 'backend' section"),
    ("no ALERT line: every line is kept", 3, "Configuration file has no error but will not start (no listener)\n",
     LbConfigInvalid,
     "lb1: HAProxy refused the new config (the old one keeps serving): Configuration file has no error but will "
     "not start (no listener)"),
    ("did not start: a port in use", 4,
     "[ALERT]    (77) : Starting frontend http: cannot bind socket (Address in use) [0.0.0.0:80]\n",
     LbNotApplied, "lb1: Starting frontend http: cannot bind socket (Address in use) [0.0.0.0:80]"),
    ("reload not taken", 5, "HAProxy did not take the new config within 10 s (a port in use?)\n",
     LbNotApplied, "lb1: HAProxy did not take the new config within 10 s (a port in use?)"),
    ("anything else: the command failed", 1, "mkdir: cannot create directory '/etc/haproxy': Read-only file system\n",
     CommandFailed, "kob-install-haproxy /etc/haproxy/haproxy.cfg /run/haproxy.pid 1 /run/haproxy/admin.sock exited 1: "
                    "mkdir: cannot create directory '/etc/haproxy': Read-only file system"),
])
async def test_a_refused_install_raises_naming_the_host_and_nothing_more_is_sent(name, rc, stderr, error, message):
    fake = ScriptedTransport([("lb1", INSTALL, Reply(rc=rc, stderr=stderr)),
                              ("lb2", INSTALL, Reply(stdout="reloaded"))], default=None)
    with pytest.raises(error) as raised:
        await driver(fake).ensure_config(STRUCTURE_CHANGED, {h: fact(OLD) for h in HOSTS})
    assert raised.value.host == "lb1" and message in str(raised.value), name
    assert [(s.host, s.argv[-4:]) for s in fake.sent] == [
        (h, (CONFIG_PATH, PIDFILE, "1", ADMIN_SOCKET)) for h in HOSTS], "one install per host, no runtime command"


async def test_a_config_for_another_admin_socket_is_refused_before_any_command():
    fake = ScriptedTransport(default=None)
    other = LbConfig(OLD.frontends, OLD.backends, admin_socket="/run/other.sock")
    with pytest.raises(ValueError, match="/run/other.sock"):
        await driver(fake).ensure_config(other, {})
    assert fake.sent == []


# add_server(s): one runtime line per host; HAProxy's reply decides

ADD_WEB1 = (f"add server web/web-1 198.18.0.12:20000 check {CHECK}; "
            "set server web/web-1 addr 198.18.0.12 port 20000; enable health web/web-1; "
            "set server web/web-1 state ready")
ADD_API1 = (f"add server api/api-1 198.18.0.12:20001 check {CHECK}; "
            "set server api/api-1 addr 198.18.0.12 port 20001; enable health api/api-1; "
            "set server api/api-1 state ready")


@pytest.mark.parametrize("name, servers, reply, expected_line, refused", [
    ("a new server", [WEB1], f"{ADDED}\n\n\n\n", ADD_WEB1, None),
    ("already there: re-pointed", [WEB1],
     f"{ALREADY_THERE}\nIP changed from '198.18.0.11' to '198.18.0.12' by 'stats socket command'\n", ADD_WEB1, None),
    ("several servers, still one line", [WEB1, API1], f"{ADDED}\n{ADDED}\n", f"{ADD_WEB1}; {ADD_API1}", None),
    ("no such backend", [WEB1], "No such backend.\n", ADD_WEB1, "No such backend."),
    ("a dynamic server on a static algorithm", [WEB1],
     "Backend must use a dynamic load balancing to support dynamic servers.\n", ADD_WEB1,
     "Backend must use a dynamic load balancing to support dynamic servers."),
])
async def test_add_servers(name, servers, reply, expected_line, refused):
    fake = ScriptedTransport([("*", SOCAT, Reply(stdout=reply))], default=None)
    if refused:
        with pytest.raises(LbRuntimeRefused) as raised:
            await driver(fake).add_servers(servers)
        assert raised.value.errors == [refused] and raised.value.command == expected_line
    else:
        await driver(fake).add_servers(servers)
    for host in HOSTS:
        assert runtime_lines(fake, host) == [expected_line], name
    assert {s.argv for s in fake.sent} == {tuple(runtime_argv(ADMIN_SOCKET))}


async def test_servers_are_added_with_the_failover_of_the_driver_or_of_the_config():
    failover = Failover(check_interval=1, check_fall=3)
    fake = ScriptedTransport([("*", SOCAT, Reply(stdout=ADDED))], default=None)
    await HaproxyDriver(fake, [target("lb1")], failover=failover).add_servers([WEB1])
    lined_up = dataclasses.replace(config(WEB1), failover=failover)
    fake2 = ScriptedTransport([("*", INSTALL, Reply(stdout="written\n")),
                               ("lb1", SOCAT, [Reply(stdout=stat()), Reply(stdout=ADDED + "\n")])], default=None)
    await driver(fake2, ["lb1"]).ensure_config(lined_up, {"lb1": fact(config())})
    for sent in (fake, fake2):
        assert runtime_lines(sent, "lb1")[-1].startswith(
            f"add server web/web-1 198.18.0.12:20000 check {server_check_words(failover)}; ")
    assert server_check_words(failover) != CHECK


async def test_add_server_is_add_servers_of_one():
    fake = ScriptedTransport([("*", SOCAT, Reply(stdout=ADDED))], default=None)
    await driver(fake, ["lb1"]).add_server(WEB1)
    assert runtime_lines(fake, "lb1") == [ADD_WEB1]


# remove_server: drain, wait for the sessions to end, maint, del

DRAIN = "set server web/web-1 state drain; show stat -1 4 -1"
STATS = "show stat -1 4 -1"
DELETE = "set server web/web-1 state maint; del server web/web-1"
CUT = "set server web/web-1 state maint; shutdown sessions server web/web-1"


@pytest.mark.parametrize("name, replies, drain_timeout, expected_lines, polls", [
    ("no session: deleted at once",
     ["\n" + stat(("web", "web-1", 0)), DELETED], 10, [DRAIN, DELETE], 0),
    ("sessions end while it drains",
     ["\n" + stat(("web", "web-1", 3)), stat(("web", "web-1", 1)), stat(("web", "web-1", 0)), DELETED], 10,
     [DRAIN, STATS, STATS, DELETE], 2),
    ("another server's sessions do not hold it",
     ["\n" + stat(("web", "web-1", 0), ("web", "web-2", 9)), DELETED], 10, [DRAIN, DELETE], 0),
    ("sessions outlive the drain timeout: cut, then deleted",
     ["\n" + stat(("web", "web-1", 2)), "", DELETED], 0, [DRAIN, CUT, DELETE], 0),
    ("already gone: nothing after the drain",
     [f"{NO_SUCH_SERVER}\n" + stat(("web", "web-2", 0))], 10, [DRAIN], 0),
    ("del races the last connection: tried again",
     ["\n" + stat(("web", "web-1", 0)), STUCK, DELETED], 10, [DRAIN, DELETE, DELETE], 1),
])
async def test_remove_server(sleeps, name, replies, drain_timeout, expected_lines, polls):
    fake = ScriptedTransport([("lb1", SOCAT, [Reply(stdout=r) for r in replies])], default=None)
    await driver(fake, ["lb1"]).remove_server(WEB1, drain_timeout=drain_timeout)
    assert runtime_lines(fake, "lb1") == expected_lines, name
    assert len(sleeps) == polls


@pytest.mark.parametrize("name, replies, expected_lines, command, errors", [
    ("drain refused", ["No such backend.\n" + stat()], [DRAIN], "set server web/web-1 state drain",
     ["No such backend."]),
    ("del refused for another reason", ["\n" + stat(("web", "web-1", 0)), "Permission denied.\n"], [DRAIN, DELETE],
     DELETE, ["Permission denied."]),
    ("del still refused after every attempt", ["\n" + stat(("web", "web-1", 0)), STUCK],
     [DRAIN, DELETE, DELETE, DELETE, DELETE, DELETE], DELETE, [STUCK]),
    ("cutting sessions refused", ["\n" + stat(("web", "web-1", 1)), "Permission denied.\n"], [DRAIN, CUT], CUT,
     ["Permission denied."]),
    ("maint accepted, del says the server is not in maintenance",
     ["\n" + stat(("web", "web-1", 0)), "Only servers in maintenance mode can be deleted.\n"], [DRAIN, DELETE], DELETE,
     ["Only servers in maintenance mode can be deleted."]),
])
async def test_a_refused_runtime_command_raises_with_haproxys_words(sleeps, name, replies, expected_lines, command,
                                                                     errors):
    fake = ScriptedTransport([("lb1", SOCAT, [Reply(stdout=r) for r in replies])], default=None)
    with pytest.raises(LbRuntimeRefused) as raised:
        await driver(fake, ["lb1"]).remove_server(WEB1, drain_timeout=0)
    assert (raised.value.host, raised.value.command, raised.value.errors) == ("lb1", command, errors), name
    assert runtime_lines(fake, "lb1") == expected_lines


@pytest.mark.parametrize("name, answer, error, message", [
    ("socket missing", Reply(rc=1, stderr="2024/01/01 socat[9] E connect(5, AF=1 \"/run/haproxy/admin.sock\", 25): "
                                           "No such file or directory\n"),
     LbError, "lb2: HAProxy's runtime API at /run/haproxy/admin.sock does not answer (2024/01/01 socat[9] E "),
    ("socat not installed", Reply(rc=127, stderr="sh: 1: socat: not found\n"),
     LbError, "lb2: HAProxy's runtime API at /run/haproxy/admin.sock does not answer (sh: 1: socat: not found)"),
    ("no output at all", Reply(rc=1), LbError, "lb2: HAProxy's runtime API at /run/haproxy/admin.sock does not "
                                               "answer (no output)"),
    ("host down", HostUnreachable("lb2", "no route to host"), HostUnreachable, "lb2: no route to host"),
    ("an unreadable stat reply", Reply(stdout="Unknown command.\n"), ObservationError,
     "lb2: unexpected reply to `show stat`"),
])
async def test_every_host_is_asked_before_one_hosts_error_is_raised(name, answer, error, message):
    fake = ScriptedTransport([("lb1", SOCAT, Reply(stdout=stat(("web", "web-1", 4)))), ("lb2", SOCAT, answer)],
                             default=None)
    with pytest.raises(error) as raised:
        await driver(fake).stats()
    assert str(raised.value).startswith(message), name
    assert fake.commands() == [" ".join(runtime_argv())] * 2


async def test_stats_are_parsed_per_host():
    one = stat(("web", "web-1", 4), ("api", "api-1", 0))
    fake = ScriptedTransport([("lb1", SOCAT, Reply(stdout=one)), ("lb2", SOCAT, Reply(stdout=stat()))], default=None)
    got = await driver(fake).stats()
    assert got == {
        "lb1": [ServerStat("web", "web-1", "UP", 4, 0, 3, 1, "L7OK", "198.18.0.12:20000"),
                ServerStat("api", "api-1", "UP", 0, 0, 3, 1, "L7OK", "198.18.0.12:20001")],
        "lb2": []}
    assert runtime_lines(fake, "lb1") == runtime_lines(fake, "lb2") == ["show stat -1 4 -1"]


@pytest.mark.parametrize("name, stat_reply, runtime_replies, expected_lines", [
    ("lined up already: one look", stat(("web", "web-1", 0), ("web", "web-2", 0)), [], ["show stat -1 4 -1"]),
    ("HAProxy lost web-2 (deleted under a duplicate's name): added back",
     stat(("web", "web-1", 0)), [ADDED],
     ["show stat -1 4 -1",
      f"add server web/web-2 198.18.0.13:20000 check {CHECK}; set server web/web-2 addr 198.18.0.13 "
      "port 20000; enable health web/web-2; set server web/web-2 state ready"]),
])
async def test_an_unchanged_file_lines_up_the_running_servers_only_when_asked(name, stat_reply, runtime_replies,
                                                                               expected_lines):
    replies = [Reply(stdout=stat_reply)] + [Reply(stdout=r + "\n") for r in runtime_replies]
    fake = ScriptedTransport([("lb1", SOCAT, replies)], default=None)
    assert await driver(fake, ["lb1"]).ensure_config(SERVERS_CHANGED, {"lb1": fact(SERVERS_CHANGED)}) == \
        {"lb1": "unchanged"}
    assert fake.sent == [], "no command without line_up"
    steps = await driver(fake, ["lb1"]).ensure_config(SERVERS_CHANGED, {"lb1": fact(SERVERS_CHANGED)}, line_up=True)
    assert steps == {"lb1": "unchanged"}, name
    assert runtime_lines(fake, "lb1") == expected_lines
