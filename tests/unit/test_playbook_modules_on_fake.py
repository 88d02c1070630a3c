"""`kob run`'s host modules over the scripted fake: what the host answers → the commands sent and the outcome.

Each module's script is recognised by its text; a sent command is written "MODULE ARG ..." with the
positional arguments the script gets (``''`` for an empty one), so the tables show the check flag too.
"""

from __future__ import annotations

import base64
import hashlib
import shlex

import pytest

from kob.commands.tasks import (APT_SCRIPT, COPY_SCRIPT, FILE_SCRIPT, OLD_BEGIN, OLD_END, RESULT_MARK, SERVICE_SCRIPT,
                                WAIT_SCRIPT, read_argv)
from kob.errors import HostUnreachable
from kob.playbook.modules import HostContext, run_module
from tests.helpers.fake_transport import Reply, ScriptedTransport, Sent, target

SCRIPTS = {COPY_SCRIPT: "copy", FILE_SCRIPT: "file", read_argv("-")[2]: "read", SERVICE_SCRIPT: "service",
           APT_SCRIPT: "apt", WAIT_SCRIPT: "wait_for"}
READ = "|| exit 3; base64"  # pieces of the command lines the script rows answer
COPY = "sum=$2"
FILE = "p=$1 state=$2"
TEST = "test -e"

CHANGED, OK = Reply(stdout=f"{RESULT_MARK} changed\n"), Reply(stdout=f"{RESULT_MARK} ok\n")


def failed(why: str) -> Reply:
    """The script's own refusal: exit 0 and a failed verdict."""
    return Reply(stdout=f"{RESULT_MARK} failed {why}\n")


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def b64(text: str) -> str:
    return base64.encodebytes(text.encode()).decode()  # wrapped at 76 columns, as base64(1) prints it


def short(sent: Sent) -> str:
    argv = sent.argv
    if argv[:2] == ("sh", "-c") and argv[2] in SCRIPTS:
        return f"{SCRIPTS[argv[2]]} {shlex.join(argv[4:])}"
    return sent.command


class Host:
    """vm1 through the fake: the context a module gets, and what was sent (with each command's timeout)."""

    def __init__(self, script, tmp_path, check: bool = False, diff: bool = False):
        self.fake = ScriptedTransport(script, default=None)
        self.timeouts: list[float | None] = []
        self.ctx = HostContext("vm1", self._run, check, diff, tmp_path)

    async def _run(self, argv, input=None, timeout=None):
        self.timeouts.append(timeout)
        return await self.fake.run(target("vm1"), argv, input=input, timeout=timeout)

    async def module(self, name: str, args: dict):
        return await run_module(name, args, self.ctx, {})

    @property
    def sent(self) -> list[str]:
        return [short(s) for s in self.fake.sent]

    @property
    def inputs(self) -> list[bytes | None]:
        return [s.input for s in self.fake.sent]


# copy: one script, the content on stdin; it compares sha256 sums on the host

HELLO = "hello\n"


@pytest.mark.parametrize("name, args, check, answer, expected, status, msg", [
    ("content differs: written", {"dest": "/etc/motd", "content": HELLO}, False, CHANGED,
     f"copy /etc/motd {sha(HELLO)} '' '' '' 0 0", "changed", None),
    ("same sum on the host: ok", {"dest": "/etc/motd", "content": HELLO}, False, OK,
     f"copy /etc/motd {sha(HELLO)} '' '' '' 0 0", "ok", None),
    ("attributes given: passed as words, mode as stat prints it",
     {"dest": "/srv/app.conf", "content": HELLO, "mode": "0640", "owner": "www-data", "group": "adm"}, False, CHANGED,
     f"copy /srv/app.conf {sha(HELLO)} 640 www-data adm 0 0", "changed", None),
    ("check mode: the same script told only to look", {"dest": "/etc/motd", "content": HELLO}, True, CHANGED,
     f"copy /etc/motd {sha(HELLO)} '' '' '' 1 0", "changed", None),
    ("dest is a directory: the script's own words", {"dest": "/etc", "content": HELLO}, False,
     failed("/etc is a directory; give the file's own path as dest"),
     f"copy /etc {sha(HELLO)} '' '' '' 0 0", "failed", "/etc is a directory; give the file's own path as dest"),
    ("cannot write: the last line of stderr", {"dest": "/etc/motd", "content": HELLO}, False,
     Reply(rc=1, stderr="mktemp: failed to create file via template '/etc/motd.kob.XXXXXX': Read-only file system\n"),
     f"copy /etc/motd {sha(HELLO)} '' '' '' 0 0", "failed",
     "mktemp: failed to create file via template '/etc/motd.kob.XXXXXX': Read-only file system"),
    ("no verdict line: failed, whatever the exit", {"dest": "/etc/motd", "content": HELLO}, False,
     Reply(stdout="Segmentation fault\n"), f"copy /etc/motd {sha(HELLO)} '' '' '' 0 0", "failed", "exit 0"),
])
async def test_copy(tmp_path, name, args, check, answer, expected, status, msg):
    host = Host([("vm1", COPY, answer)], tmp_path, check=check)
    outcome = await host.module("copy", args)
    assert host.sent == [expected], name
    assert host.inputs == [HELLO.encode()], "the content goes on stdin, even in check mode (the sum is checked)"
    assert outcome.status == status
    assert outcome.result.get("msg") == msg
    assert outcome.result["dest"] == args["dest"] and outcome.result["checksum"] == sha(HELLO)


@pytest.mark.parametrize("name, old, expected_diff", [
    ("a changed line", "hullo\n", ["--- before: /etc/motd", "+++ after: /etc/motd", "@@ -1 +1 @@", "-hullo", "+hello"]),
    ("a new file: everything added", None,
     ["--- before: /etc/motd", "+++ after: /etc/motd", "@@ -0,0 +1 @@", "+hello"]),
    ("a long old file, its base64 wrapped", "x" * 100 + "\n",
     ["--- before: /etc/motd", "+++ after: /etc/motd", "@@ -1 +1 @@", "-" + "x" * 100, "+hello"]),
])
async def test_copy_with_diff_shows_the_old_content_the_host_sent_back(tmp_path, name, old, expected_diff):
    stdout = f"{OLD_BEGIN}\n{b64(old) if old else ''}{OLD_END}\n{RESULT_MARK} changed\n"
    host = Host([("vm1", COPY, Reply(stdout=stdout))], tmp_path, diff=True)
    outcome = await host.module("copy", {"dest": "/etc/motd", "content": HELLO})
    assert host.sent == [f"copy /etc/motd {sha(HELLO)} '' '' '' 0 1"], name
    assert (outcome.status, outcome.diff.splitlines()) == ("changed", expected_diff)


async def test_copy_src_is_read_from_the_playbooks_files_folder(tmp_path):
    (tmp_path / "files").mkdir()
    (tmp_path / "files" / "motd").write_text(HELLO)
    host = Host([("vm1", COPY, OK)], tmp_path)
    outcome = await host.module("copy", {"dest": "/etc/motd", "src": "motd"})
    assert (host.sent, host.inputs, outcome.status) == ([f"copy /etc/motd {sha(HELLO)} '' '' '' 0 0"],
                                                         [HELLO.encode()], "ok")


@pytest.mark.parametrize("args, sent_content", [
    ({}, "# Ansible managed\nport 80\n"),  # trim_blocks on: no empty line where the {% if %} was
    ({"trim_blocks": False}, "# Ansible managed\n\nport 80\n\n"),
    ({"lstrip_blocks": True}, "# Ansible managed\nport 80\n"),
])
async def test_template_renders_as_ansibles_template_module(tmp_path, args, sent_content):
    (tmp_path / "templates").mkdir()
    (tmp_path / "templates" / "a.conf.j2").write_text("# {{ ansible_managed }}\n{% if port %}\nport {{ port }}\n"
                                                      "{% endif %}\n")
    host = Host([("vm1", COPY, CHANGED)], tmp_path)
    outcome = await run_module("template", {"src": "a.conf.j2", "dest": "/etc/a.conf", **args}, host.ctx, {"port": 80})
    assert host.inputs == [sent_content.encode()] and outcome.status == "changed"
    assert host.sent == [f"copy /etc/a.conf {sha(sent_content)} '' '' '' 0 0"]


# file: one script; the verdict says changed or ok

@pytest.mark.parametrize("name, args, check, answer, expected, status, msg", [
    ("a directory made", {"path": "/srv/app", "state": "directory", "mode": "0755"}, False, CHANGED,
     "file /srv/app directory 755 '' '' 0 1", "changed", None),
    ("already as asked", {"path": "/srv/app", "state": "directory"}, False, OK,
     "file /srv/app directory '' '' '' 0 1", "ok", None),
    ("check mode: told only to look", {"path": "/tmp/old", "state": "absent"}, True, CHANGED,
     "file /tmp/old absent '' '' '' 1 1", "changed", None),
    ("dest: as another name of path, owner and group as words",
     {"dest": "/etc/app.conf", "owner": "root", "group": "adm"}, False, OK,
     "file /etc/app.conf file '' root adm 0 1", "ok", None),
    ("state file never creates: the script's own words", {"path": "/etc/nope"}, False,
     failed("/etc/nope is not a regular file (state: file does not create one)"),
     "file /etc/nope file '' '' '' 0 1", "failed", "/etc/nope is not a regular file (state: file does not create one)"),
    ("chown refused: the last line of stderr", {"path": "/srv/app", "state": "directory", "owner": "nobody"}, False,
     Reply(rc=1, stderr="chown: changing ownership of '/srv/app': Operation not permitted\n"),
     "file /srv/app directory '' nobody '' 0 1", "failed",
     "chown: changing ownership of '/srv/app': Operation not permitted"),
])
async def test_file(tmp_path, name, args, check, answer, expected, status, msg):
    host = Host([("vm1", FILE, answer)], tmp_path, check=check)
    outcome = await host.module("file", args)
    assert host.sent == [expected], name
    assert (outcome.status, outcome.result.get("msg")) == (status, msg)
    if status != "failed":
        assert outcome.result["changed"] is (status == "changed")


# lineinfile: the file is read (base64), the line edited on the manager, then written by copy, or only its
# attributes checked by file when the text does not change

@pytest.mark.parametrize("name, args, check, read, then, expected, written, status, msg", [
    ("line missing: appended and written", {"path": "/etc/hosts.allow", "line": "sshd: 10.0.0.0/8"}, False,
     Reply(stdout=b64("ALL: LOCAL\n")), CHANGED,
     ["read /etc/hosts.allow", f"copy /etc/hosts.allow {sha('ALL: LOCAL' + chr(10) + 'sshd: 10.0.0.0/8' + chr(10))} "
                               "'' '' '' 0 0"],
     "ALL: LOCAL\nsshd: 10.0.0.0/8\n", "changed", None),
    ("line there: only its attributes looked at", {"path": "/etc/hosts.allow", "line": "ALL: LOCAL", "mode": "644"},
     False, Reply(stdout=b64("ALL: LOCAL\n")), OK,
     ["read /etc/hosts.allow", "file /etc/hosts.allow file 644 '' '' 0 1"], None, "ok", None),
    ("regexp: the last matching line replaced", {"path": "/etc/app.ini", "regexp": "^port=", "line": "port=8080"},
     False, Reply(stdout=b64("port=80\nhost=a\n")), CHANGED,
     ["read /etc/app.ini", f"copy /etc/app.ini {sha('port=8080' + chr(10) + 'host=a' + chr(10))} '' '' '' 0 0"],
     "port=8080\nhost=a\n", "changed", None),
    ("state absent: the line removed", {"path": "/etc/app.ini", "line": "debug=1", "state": "absent"}, False,
     Reply(stdout=b64("debug=1\nport=80\n")), CHANGED,
     ["read /etc/app.ini", f"copy /etc/app.ini {sha('port=80' + chr(10))} '' '' '' 0 0"], "port=80\n", "changed", None),
    ("check mode: read, then the copy told only to look", {"path": "/etc/app.ini", "line": "x=1"}, True,
     Reply(stdout=b64("")), CHANGED,
     ["read /etc/app.ini", f"copy /etc/app.ini {sha('x=1' + chr(10))} '' '' '' 1 0"], "x=1\n", "changed", None),
    ("missing file, create: true: written with the line", {"path": "/etc/new.conf", "line": "a=1", "create": True},
     False, Reply(rc=3), CHANGED,
     ["read /etc/new.conf", f"copy /etc/new.conf {sha('a=1' + chr(10))} '' '' '' 0 0"], "a=1\n", "changed", None),
    ("missing file without create: failed, nothing written", {"path": "/etc/new.conf", "line": "a=1"}, False,
     Reply(rc=3), None, ["read /etc/new.conf"], None, "failed", "/etc/new.conf does not exist (create: true makes it)"),
    ("unreadable: the host's words, nothing written", {"path": "/etc/shadow", "line": "x"}, False,
     Reply(rc=1, stderr="base64: /etc/shadow: Permission denied\n"), None, ["read /etc/shadow"], None, "failed",
     "base64: /etc/shadow: Permission denied"),
])
async def test_lineinfile(tmp_path, name, args, check, read, then, expected, written, status, msg):
    host = Host([("vm1", READ, read), ("vm1", COPY, then or OK), ("vm1", FILE, then or OK)], tmp_path, check=check)
    outcome = await host.module("lineinfile", args)
    assert host.sent == expected, name
    assert host.inputs[1:] == ([written.encode()] if written is not None else [None] * (len(expected) - 1))
    assert (outcome.status, outcome.result.get("msg")) == (status, msg)


# command and shell: run as given, changed unless they fail; creates/removes look first; check mode skips

@pytest.mark.parametrize("name, module, args, check, script, expected, status", [
    ("command: the words as written, no shell", "command", {"_raw": "touch '/srv/a b' $HOME"}, False,
     [("vm1", "touch", Reply(stdout="done\n"))], ["touch '/srv/a b' '$HOME'"], "changed"),
    ("command as argv, in a folder", "command", {"argv": ["ls", "-l"], "chdir": "/srv"}, False,
     [("vm1", "ls", Reply(stdout="a\nb\n"))], ["sh -c 'cd \"$1\" && shift && exec \"$@\"' sh /srv ls -l"], "changed"),
    ("shell: the script is one word of sh -c", "shell", {"cmd": "echo $HOME | wc -c"}, False,
     [("vm1", "echo", Reply(stdout="6\n"))], ["sh -c 'echo $HOME | wc -c'"], "changed"),
    ("check mode: skipped, nothing sent", "shell", {"cmd": "rm -rf /tmp/cache"}, True, [], [], "skipped"),
    ("creates: exists, so not run", "command", {"cmd": "make install", "creates": "/usr/local/bin/app"}, False,
     [("vm1", TEST, Reply(rc=0))], ["test -e /usr/local/bin/app"], "ok"),
    ("creates: missing, so run", "command", {"cmd": "make install", "creates": "/usr/local/bin/app"}, False,
     [("vm1", TEST, Reply(rc=1)), ("vm1", "make", Reply())], ["test -e /usr/local/bin/app", "make install"], "changed"),
    ("removes: already gone, so not run", "shell", {"cmd": "rm /tmp/lock", "removes": "/tmp/lock"}, False,
     [("vm1", TEST, Reply(rc=1))], ["test -e /tmp/lock"], "ok"),
    ("check mode still looks at creates: ok, not skipped", "command", {"cmd": "make", "creates": "/bin/app"}, True,
     [("vm1", TEST, Reply(rc=0))], ["test -e /bin/app"], "ok"),
])
async def test_command_and_shell(tmp_path, name, module, args, check, script, expected, status):
    host = Host(script, tmp_path, check=check)
    outcome = await host.module(module, args)
    assert host.sent == expected, name
    assert outcome.status == status


@pytest.mark.parametrize("name, answer, status, registered", [
    ("exit 0: changed, output registered", Reply(stdout="one\ntwo\n", stderr="note\n"), "changed",
     {"rc": 0, "stdout": "one\ntwo", "stderr": "note", "stdout_lines": ["one", "two"]}),
    ("exit 2: failed, the host's stderr kept", Reply(rc=2, stderr="grep: /etc/nope: No such file or directory\n"),
     "failed", {"rc": 2, "stderr": "grep: /etc/nope: No such file or directory",
                "msg": "non-zero return code 2"}),
    ("exit 1 without output: failed", Reply(rc=1), "failed", {"rc": 1, "stdout": "", "msg": "non-zero return code 1"}),
    ("not found: 127", Reply(rc=127, stderr="sh: 1: nosuch: not found\n"), "failed",
     {"rc": 127, "stderr": "sh: 1: nosuch: not found"}),
    ("empty output: still changed", Reply(), "changed", {"rc": 0, "stdout": "", "stdout_lines": []}),
])
async def test_what_a_command_registers(tmp_path, name, answer, status, registered):
    host = Host([("vm1", "", answer)], tmp_path)
    outcome = await host.module("shell", {"cmd": "grep x /etc/nope", "stdin": "input"})
    assert host.inputs == [b"input\n"], "stdin: goes on the command's stdin, with a newline"
    assert outcome.status == status, name
    assert {key: outcome.result[key] for key in registered} == registered
    assert outcome.result["cmd"] == "grep x /etc/nope"


# service / systemd, apt, wait_for: one script each, its verdict decides

@pytest.mark.parametrize("name, module, args, check, answer, expected, status, msg", [
    ("service started", "service", {"name": "nginx", "state": "started"}, False, CHANGED,
     "service nginx started '' 0", "changed", None),
    ("service already running and enabled", "systemd", {"name": "nginx", "state": "started", "enabled": True}, False,
     OK, "service nginx started true 0", "ok", None),
    ("service in check mode", "service", {"name": "nginx", "state": "restarted", "enabled": False}, True, CHANGED,
     "service nginx restarted false 1", "changed", None),
    ("service on a host without systemd", "service", {"name": "nginx", "state": "started"}, False,
     failed("this host does not run systemd"), "service nginx started '' 0", "failed",
     "this host does not run systemd"),
    ("service that systemctl cannot start", "service", {"name": "nginx", "state": "started"}, False,
     Reply(rc=1, stderr="Job for nginx.service failed because the control process exited with error code.\n"
                        "See \"systemctl status nginx.service\" and \"journalctl -xeu nginx.service\" for details.\n"),
     "service nginx started '' 0", "failed",
     "See \"systemctl status nginx.service\" and \"journalctl -xeu nginx.service\" for details."),
    ("apt: missing packages installed", "apt", {"name": ["curl", "jq"], "update_cache": True}, False, CHANGED,
     "apt present 1 0 0 curl jq", "changed", None),
    ("apt: all there", "apt", {"name": "curl"}, False, OK, "apt present 0 0 0 curl", "ok", None),
    ("apt in check mode", "apt", {"name": ["curl"], "state": "absent"}, True, CHANGED, "apt absent 0 1 0 curl",
     "changed", None),
    ("apt: no such package", "apt", {"name": ["nosuch"]}, False,
     Reply(rc=100, stderr="E: Unable to locate package nosuch\n"), "apt present 0 0 0 nosuch", "failed",
     "E: Unable to locate package nosuch"),
    ("apt: the lock is held", "apt", {"name": ["curl"], "state": "latest"}, False,
     Reply(rc=100, stderr="E: Could not get lock /var/lib/dpkg/lock-frontend. It is held by process 812 (apt-get)\n"),
     "apt latest 0 0 0 curl", "failed",
     "E: Could not get lock /var/lib/dpkg/lock-frontend. It is held by process 812 (apt-get)"),
    ("wait_for a port: open", "wait_for", {"port": 8080, "timeout": 5}, False, OK,
     "wait_for port 8080 127.0.0.1 started 5 0", "ok", None),
    ("wait_for a port that never opens: the script's words", "wait_for", {"port": 8080, "timeout": 5}, False,
     failed("timeout: port 8080 not started after 5 s"), "wait_for port 8080 127.0.0.1 started 5 0", "failed",
     "timeout: port 8080 not started after 5 s"),
    ("wait_for a path, after a delay", "wait_for", {"path": "/run/app.pid", "delay": 2}, False, OK,
     "wait_for path /run/app.pid 127.0.0.1 present 300 2", "ok", None),
    ("wait_for a port on another host to close", "wait_for",
     {"port": 5432, "host": "db.internal", "state": "stopped", "timeout": 30}, False, OK,
     "wait_for port 5432 db.internal stopped 30 0", "ok", None),
    ("wait_for in check mode: the same wait (it changes nothing)", "wait_for", {"path": "/tmp/ready"}, True, OK,
     "wait_for path /tmp/ready 127.0.0.1 present 300 0", "ok", None),
])
async def test_service_apt_and_wait_for(tmp_path, name, module, args, check, answer, expected, status, msg):
    host = Host([("vm1", "", answer)], tmp_path, check=check)
    outcome = await host.module(module, args)
    assert host.sent == [expected], name
    assert (outcome.status, outcome.result.get("msg")) == (status, msg)


@pytest.mark.parametrize("module, args, timeout", [
    ("apt", {"name": "curl"}, 1800),
    ("wait_for", {"port": 80, "timeout": 5}, 35),
    ("wait_for", {"path": "/x"}, 330),
    ("docker_image", {"name": "busybox:1"}, 600),
    ("service", {"name": "nginx", "state": "started"}, None),
    ("shell", {"cmd": "true"}, None),
])
async def test_slow_modules_give_the_host_more_time(tmp_path, module, args, timeout):
    host = Host([("vm1", "", OK)], tmp_path)
    await host.module(module, args)
    assert host.timeouts == [timeout]


@pytest.mark.parametrize("module, args", [
    ("copy", {"dest": "/etc/motd", "content": "x"}),
    ("file", {"path": "/srv", "state": "directory"}),
    ("service", {"name": "nginx", "state": "started"}),
    ("command", {"cmd": "true"}),
    ("lineinfile", {"path": "/etc/x", "line": "y"}),
])
async def test_an_unreachable_host_is_an_error_naming_it_not_an_outcome(tmp_path, module, args):
    host = Host([("vm1", "", HostUnreachable("vm1", "no route to host"))], tmp_path)
    with pytest.raises(HostUnreachable, match="vm1: no route to host"):
        await host.module(module, args)
    assert len(host.sent) == 1, "nothing more is tried"
