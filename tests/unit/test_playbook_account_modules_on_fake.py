"""user, group, cron (a user's crontab), package, uri and pause over the scripted fake: what the host answers →
the commands sent (argv, stdin) and the outcome. These change the machine itself, so no test runs them here."""

from __future__ import annotations

import base64
import json
import shlex

import pytest

from kob.commands.task_network import URI_SCRIPT
from kob.commands.task_system import (
    ACCOUNT_WRITE_SCRIPT,
    CRONTAB_READ_SCRIPT,
    CRONTAB_WRITE_SCRIPT,
    HOME_SCRIPT,
    USER_READ_SCRIPT,
)
from kob.commands.tasks import APT_SCRIPT, RESULT_MARK
from kob.playbook.module_arguments import canonical_arguments
from kob.playbook.modules import HostContext, run_module
from tests.helpers.fake_transport import Reply, ScriptedTransport, target

OK = f"{RESULT_MARK} ok\n"
NAMES = {USER_READ_SCRIPT: "read", ACCOUNT_WRITE_SCRIPT: "write", CRONTAB_READ_SCRIPT: "crontab-read",
         CRONTAB_WRITE_SCRIPT: "crontab-write", APT_SCRIPT: "apt", URI_SCRIPT: "uri", HOME_SCRIPT: "home"}
ALICE = "passwd alice:x:1001:1001:Alice:/home/alice:/bin/bash\ngroups alice sudo\nprimary alice\nown_group yes\n"


class Host:
    def __init__(self, table, check=False):
        self.fake = ScriptedTransport([("vm1", piece, answer) for piece, answer in table], default=None)
        self.check = check

    async def _run(self, argv, input=None, timeout=None):
        return await self.fake.run(target("vm1"), argv, input=input, timeout=timeout)

    async def module(self, name, args, variables=None):
        ctx = HostContext("vm1", self._run, self.check, False, None, shared={})
        return await run_module(name, args, ctx, variables or {})

    @property
    def sent(self) -> list[str]:
        return [shlex.join([NAMES[s.argv[2]], *s.argv[4:]]) for s in self.fake.sent]


READ, WRITE = "haspw=$3 home=$4\n", "setpw=$3;"


@pytest.mark.parametrize("name, args, found, check, expected, status", [
    ("new user: useradd, joining the group of its name", {"name": "alice", "shell": "/bin/bash", "groups": "sudo,adm"},
     "own_group yes\n", False, ["read alice user 0 ''", "write alice user 0 useradd -s /bin/bash -g alice -G sudo,adm -m alice"],
     "changed"),
    ("new system user without home", {"name": "svc", "system": True, "create_home": False, "uid": 990}, "", False,
     ["read svc user 0 ''", "write svc user 0 useradd -u 990 -r -M svc"], "changed"),
    ("as wanted: read only", {"name": "alice", "shell": "/bin/bash", "groups": ["sudo"]}, ALICE, False,
     ["read alice user 0 ''"], "ok"),
    ("another shell: usermod -s", {"name": "alice", "shell": "/bin/sh"}, ALICE, False,
     ["read alice user 0 ''", "write alice user 0 usermod -s /bin/sh alice"], "changed"),
    ("groups appended", {"name": "alice", "groups": "docker", "append": True}, ALICE, False,
     ["read alice user 0 ''", "write alice user 0 usermod -a -G docker alice"], "changed"),
    ("groups replaced", {"name": "alice", "groups": []}, ALICE, False,
     ["read alice user 0 ''", "write alice user 0 usermod -G '' alice"], "changed"),
    ("createhome alias, user alias", {"user": "bob", "createhome": "no"}, "", False,
     ["read bob user 0 ''", "write bob user 0 useradd -M bob"], "changed"),
    ("password differs: set through chpasswd", {"name": "alice", "password": "$6$salt$hash"},
     ALICE + "password differs\n", False, ["read alice user 1 ''", "write alice user 1 true"], "changed"),
    ("password same", {"name": "alice", "password": "$6$salt$hash"}, ALICE + "password same\n", False,
     ["read alice user 1 ''"], "ok"),
    ("password on_create only", {"name": "alice", "password": "$6$x", "update_password": "on_create"},
     ALICE + "password differs\n", False, ["read alice user 1 ''"], "ok"),
    ("absent with remove", {"name": "alice", "state": "absent", "remove": True}, ALICE, False,
     ["read alice user 0 ''", "write alice user 0 userdel -r alice"], "changed"),
    ("absent already", {"name": "ghost", "state": "absent"}, "", False, ["read ghost user 0 ''"], "ok"),
    ("check mode: read, nothing written", {"name": "alice", "shell": "/bin/zsh"}, ALICE, True,
     ["read alice user 0 ''"], "changed"),
    ("a missing home is made, as Ansible's create_home does", {"name": "alice"}, ALICE + "home_exists no\n", False,
     ["read alice user 0 ''", "write alice user 0 true", "home alice /home/alice"], "changed"),
    ("a missing home in check mode: a change", {"name": "alice"}, ALICE + "home_exists no\n", True,
     ["read alice user 0 ''"], "changed"),
    ("a missing home, create_home: no", {"name": "alice", "create_home": False}, ALICE + "home_exists no\n", False,
     ["read alice user 0 ''"], "ok"),
    ("another home asked: looked for", {"name": "alice", "home": "/srv/alice", "create_home": False},
     ALICE + "home_exists no\n", False, ["read alice user 0 /srv/alice", "write alice user 0 usermod -d /srv/alice alice"],
     "changed"),
])
async def test_user(name, args, found, check, expected, status):
    host = Host([(READ, Reply(stdout=found + OK)), (WRITE, Reply(stdout=ALICE.split("\n")[0] + "\n" +
                                                                    f"{RESULT_MARK} changed\n")),
                 ("name=$1 home=$2\n", Reply(stdout=f"{RESULT_MARK} changed\n"))], check=check)
    outcome = await host.module("user", args)
    assert host.sent == expected, name
    assert outcome.status == status, (name, outcome.result)
    written = [s.input for s in host.fake.sent if s.argv[2] == ACCOUNT_WRITE_SCRIPT]
    if "password" in args and written:
        assert written == [args["password"].encode()]  # on stdin, never on a command line
    assert all(args.get("password", "\0") not in word for s in host.fake.sent for word in s.argv)
    if status == "ok" and "passwd" in found:
        assert (outcome.result["uid"], outcome.result["shell"]) == (1001, "/bin/bash")


@pytest.mark.parametrize("name, args, found, expected, status", [
    ("new group", {"name": "web", "gid": 2000}, "", ["read web group 0 ''", "write web group 0 groupadd -g 2000 web"],
     "changed"),
    ("new system group", {"name": "svc", "system": "yes"}, "", ["read svc group 0 ''", "write svc group 0 groupadd -r svc"],
     "changed"),
    ("there", {"name": "web", "gid": 2000}, "group web:x:2000:\n", ["read web group 0 ''"], "ok"),
    ("another gid", {"name": "web", "gid": 2001}, "group web:x:2000:\n",
     ["read web group 0 ''", "write web group 0 groupmod -g 2001 web"], "changed"),
    ("absent", {"name": "web", "state": "absent"}, "group web:x:2000:\n",
     ["read web group 0 ''", "write web group 0 groupdel web"], "changed"),
])
async def test_group(name, args, found, expected, status):
    host = Host([(READ, Reply(stdout=found + OK)), (WRITE, Reply(stdout=f"group web:x:2000:\n{RESULT_MARK} changed\n"))])
    outcome = await host.module("group", args)
    assert (host.sent, outcome.status) == (expected, status), name
    assert outcome.result.get("gid") == 2000


async def test_account_tools_missing_fail_in_one_line():
    host = Host([(READ, Reply(stdout=f"{RESULT_MARK} failed this host has no useradd (install passwd)\n"))])
    outcome = await host.module("user", {"name": "alice"})
    assert (outcome.status, outcome.result["msg"]) == ("failed", "this host has no useradd (install passwd)")


def crontab(text: str) -> Reply:
    return Reply(stdout=(base64.encodebytes(text.encode()).decode() if text else "") + OK)


@pytest.mark.parametrize("name, args, before, written, status", [
    ("a new job in root's crontab", {"name": "backup", "minute": "0", "hour": "3", "job": "/usr/bin/backup"},
     "MAILTO=root\n", "MAILTO=root\n#Ansible: backup\n0 3 * * * /usr/bin/backup\n", "changed"),
    ("the job as wanted", {"name": "backup", "minute": "0", "hour": "3", "job": "/usr/bin/backup"},
     "#Ansible: backup\n0 3 * * * /usr/bin/backup\n", None, "ok"),
    ("a user's crontab, special time", {"name": "clean", "special_time": "reboot", "job": "rm -rf ~/tmp",
                                        "user": "alice"}, "", "#Ansible: clean\n@reboot rm -rf ~/tmp\n", "changed"),
    ("removed", {"name": "backup", "state": "absent"}, "#Ansible: backup\n0 3 * * * x\n#Ansible: y\n* * * * * y\n",
     "#Ansible: y\n* * * * * y\n", "changed"),
])
async def test_cron_in_a_users_crontab(name, args, before, written, status):
    host = Host([("crontab -u \"$user\" -l", crontab(before)), ("crontab -u \"$user\" -", Reply(
        stdout=f"{RESULT_MARK} changed\n"))])
    outcome = await host.module("cron", args)
    user = args.get("user", "root")
    assert host.sent == [f"crontab-read {user}"] + ([f"crontab-write {user}"] if written else []), name
    assert outcome.status == status
    if written:
        assert host.fake.sent[1].input == written.encode()


async def test_cron_without_crontab_fails_in_one_line():
    host = Host([("crontab -u", Reply(stdout=f"{RESULT_MARK} failed this host has no crontab command (install cron)\n"))])
    outcome = await host.module("cron", {"name": "x", "job": "y"})
    assert (outcome.status, outcome.result["msg"]) == ("failed", "this host has no crontab command (install cron)")


@pytest.mark.parametrize("name, args, facts, expected, status", [
    ("Debian: apt", {"name": ["curl", "jq"], "state": "latest"}, {"os_family": "Debian"},
     ["apt latest 0 0 0 curl jq"], "changed"),
    ("no facts gathered: apt, which says if the host lacks it", {"name": "curl"}, None, ["apt present 0 0 0 curl"],
     "changed"),
    ("RedHat: refused in one line", {"name": "curl"}, {"os_family": "RedHat"}, [], "failed"),
    ("use: yum refused", {"name": "curl", "use": "yum"}, None, [], "failed"),
])
async def test_package_drives_apt(name, args, facts, expected, status):
    host = Host([("DEBIAN_FRONTEND", Reply(stdout=f"{RESULT_MARK} changed\n"))])
    outcome = await host.module("package", args, {"ansible_facts": facts} if facts else {})
    assert (host.sent, outcome.status) == (expected, status), name
    if status == "failed":
        assert "kob drives apt only" in outcome.result["msg"]


@pytest.mark.parametrize("args, expected", [
    ({"name": "curl", "cache_valid_time": 3600}, "apt present 1 0 3600 curl"),
    ({"pkg": "curl", "update_cache": True}, "apt present 1 0 0 curl"),
])
async def test_apt_cache_valid_time_asks_for_an_update_unless_the_lists_are_newer(args, expected):
    host = Host([("DEBIAN_FRONTEND", Reply(stdout=OK))])
    await host.module("apt", args)
    assert host.sent == [expected]


def uri_reply(status: int, headers: str, body: bytes) -> Reply:
    encoded = lambda data: base64.encodebytes(data).decode()
    return Reply(stdout=f"status {status}\nheaders\n{encoded(headers.encode())}body\n{encoded(body)}{OK}")


JSON_HEADERS = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nX-Request-Id: 7\r\n"


@pytest.mark.parametrize("name, args, reply, status, checks", [
    ("GET json", {"url": "http://svc/health"}, uri_reply(200, JSON_HEADERS, b'{"ok": true}'), "ok",
     {"status": 200, "json": {"ok": True}, "x_request_id": "7", "changed": False}),
    ("return_content", {"url": "http://svc/", "return_content": True}, uri_reply(200, "", b"hello"), "ok",
     {"content": "hello"}),
    ("an unexpected status fails", {"url": "http://svc/"}, uri_reply(503, "", b""), "failed",
     {"status": 503, "msg": "Status code was 503 and not [200]: HTTP Error 503"}),
    ("status_code list", {"url": "http://svc/", "status_code": [200, 201]}, uri_reply(201, "", b""), "ok",
     {"status": 201}),
    ("connection refused", {"url": "http://svc/"},
     Reply(stdout=f"{RESULT_MARK} failed Status code was -1: Request failed: curl: (7) Failed to connect\n"),
     "failed", {"msg": "Status code was -1: Request failed: curl: (7) Failed to connect"}),
])
async def test_uri(name, args, reply, status, checks):
    host = Host([("code=$(curl", reply)])
    outcome = await host.module("uri", args)
    assert outcome.status == status, name
    assert {key: outcome.result.get(key) for key in checks} == checks


async def test_uri_sends_a_json_body_on_stdin_and_is_skipped_in_check_mode():
    host = Host([("code=$(curl", uri_reply(201, "", b""))])
    outcome = await host.module("uri", {"url": "http://svc/items", "method": "post", "body": {"a": 1},
                                        "body_format": "json", "status_code": 201})
    sent = host.fake.sent[0]
    assert outcome.status == "ok" and json.loads(sent.input) == {"a": 1}
    assert sent.argv[4:] == ("http://svc/items", "POST", "30", "1", "1", "Content-Type: application/json")
    skipped = await Host([], check=True).module("uri", {"url": "http://svc/"})
    assert skipped.status == "skipped"


async def test_pause_waits_once_and_refuses_a_prompt_without_a_terminal(monkeypatch):
    waited = await Host([]).module("pause", {"seconds": 0})
    assert waited.status == "ok" and waited.result["user_input"] == ""
    monkeypatch.setattr("sys.stdin.isatty", lambda: False, raising=False)
    asked = await Host([]).module("pause", {"prompt": "Continue?"})
    assert asked.status == "failed" and "not one; give seconds: or minutes:" in asked.result["msg"]


@pytest.mark.parametrize("module, args, expected", [
    ("lineinfile", {"dest": "/a", "line": "x"}, {"path": "/a", "line": "x"}),
    ("lineinfile", {"path": "/b", "name": "/a"}, {"path": "/b"}),
    ("blockinfile", {"name": "/a", "content": "x"}, {"path": "/a", "block": "x"}),
    ("sysctl", {"key": "vm.swappiness", "val": 5}, {"name": "vm.swappiness", "value": 5}),
    ("cron", {"name": "n", "value": "job", "dom": "1", "dow": "2"}, {"name": "n", "job": "job", "day": "1",
                                                                     "weekday": "2"}),
    ("stat", {"dest": "/a", "checksum_algo": "md5"}, {"path": "/a", "checksum_algorithm": "md5"}),
    ("user", {"user": "bob", "createhome": False}, {"name": "bob", "create_home": False}),
    ("copy", {"dest": "/a"}, {"dest": "/a"}),
])
def test_ansible_aliases_become_the_arguments_they_stand_for(module, args, expected):
    assert canonical_arguments(module, args) == expected
