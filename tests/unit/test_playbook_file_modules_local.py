"""Text-file modules with their real scripts (run here through the fake transport, on files under tmp_path):
the first run changes the file as Ansible would, a second run is ok and sends no write, and check mode
reports the same verdict while the file stays as it was.

The expected texts were checked against ansible-core 2.19 running the same tasks on local files.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from kob.errors import TemplateError
from kob.playbook.ssh_keys import host_matches
from tests.helpers.local_host import LocalHost

KEY_A = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA1 alice@laptop"
KEY_B = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIB2 bob@desk"
HOST_KEY = "example.org ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFake"
BLOCK = "# BEGIN ANSIBLE MANAGED BLOCK\nx=1\ny=2\n# END ANSIBLE MANAGED BLOCK\n"


@pytest.mark.parametrize("name, module, args, before, after", [
    ("blockinfile after a line", "blockinfile", {"block": "x=1\ny=2", "insertafter": "^a"}, "a\nb\n",
     f"a\n{BLOCK}b\n"),
    ("blockinfile at the end, dest alias", "blockinfile", {"block": "x=1\ny=2"}, "a\n", f"a\n{BLOCK}"),
    ("blockinfile: an old block replaced in place", "blockinfile", {"block": "z=3"}, f"a\n{BLOCK}b\n",
     "a\n# BEGIN ANSIBLE MANAGED BLOCK\nz=3\n# END ANSIBLE MANAGED BLOCK\nb\n"),
    ("blockinfile: own markers at the start", "blockinfile",
     {"block": "x=1", "marker": "// {mark} mine", "marker_begin": "START", "insertbefore": "BOF"}, "",
     "// START mine\nx=1\n// END mine\n"),
    ("blockinfile: create", "blockinfile", {"block": "x=1", "create": True}, None,
     "# BEGIN ANSIBLE MANAGED BLOCK\nx=1\n# END ANSIBLE MANAGED BLOCK\n"),
    ("blockinfile: state absent", "blockinfile", {"state": "absent"}, f"a\n{BLOCK}b\n", "a\nb\n"),
    ("replace after a section", "replace", {"regexp": r"^port=8(\d)", "replace": r"port=9\1", "after": r"\[s\]"},
     "port=80\n[s]\nport=81\n", "port=80\n[s]\nport=91\n"),
    ("replace every match", "replace", {"regexp": "foo", "replace": "bar"}, "foo foo\nfoo\n", "bar bar\nbar\n"),
    ("lineinfile through its dest alias", "lineinfile", {"line": "b=2"}, "a=1\n", "a=1\nb=2\n"),
    ("known_hosts: a key added", "known_hosts", {"name": "example.org", "key": HOST_KEY}, "other ssh-rsa AAAA\n",
     f"other ssh-rsa AAAA\n{HOST_KEY}\n"),
    ("known_hosts: a key of the same type replaced", "known_hosts", {"name": "example.org", "key": HOST_KEY},
     "example.org ssh-ed25519 AAAAold\nexample.org ssh-rsa AAAArsa\n",
     f"example.org ssh-rsa AAAArsa\n{HOST_KEY}\n"),
    ("known_hosts: state absent", "known_hosts", {"name": "example.org", "state": "absent"},
     f"{HOST_KEY}\nother ssh-rsa AAAA\n", "other ssh-rsa AAAA\n"),
    ("authorized_key added", "authorized_key", {"user": "root", "key": KEY_B}, f"{KEY_A}\n", f"{KEY_A}\n{KEY_B}\n"),
    ("authorized_key exclusive", "authorized_key", {"user": "root", "key": KEY_B, "exclusive": True},
     f"{KEY_A}\n{KEY_B}\n", f"{KEY_B}\n"),
    ("authorized_key: its comment updated in place", "authorized_key", {"user": "root", "key": KEY_A + "2"},
     f"{KEY_A}\n{KEY_B}\n", f"{KEY_A}2\n{KEY_B}\n"),
    ("authorized_key absent", "authorized_key", {"user": "root", "key": KEY_A, "state": "absent"},
     f"# keys\n{KEY_A}\n", "# keys\n"),
    ("sysctl in its file, as key=value", "sysctl", {"name": "net.core.somaxconn", "value": 1024, "reload": False},
     "# tuned\nvm.swappiness = 10\n", "# tuned\nvm.swappiness=10\nnet.core.somaxconn=1024\n"),
    ("sysctl value changed", "sysctl", {"name": "vm.swappiness", "value": "5", "reload": False},
     "vm.swappiness=10\n", "vm.swappiness=5\n"),
    ("sysctl absent", "sysctl", {"name": "vm.swappiness", "state": "absent", "reload": False},
     "vm.swappiness=10\nkernel.panic=3\n", "kernel.panic=3\n"),
    ("cron in a cron file", "cron", {"name": "backup", "minute": "5", "hour": "2", "job": "/bin/true", "user": "root"},
     None, "#Ansible: backup\n5 2 * * * root /bin/true\n"),
    ("cron: special time, disabled", "cron",
     {"name": "daily", "special_time": "daily", "job": "/bin/date", "disabled": True},
     "#Ansible: backup\n5 2 * * * root /bin/true\n",
     "#Ansible: backup\n5 2 * * * root /bin/true\n#Ansible: daily\n#@daily root /bin/date\n"),
    ("cron: a job changed in place", "cron", {"name": "backup", "hour": "3", "job": "/bin/true", "dow": "1"},
     "#Ansible: backup\n5 2 * * * root /bin/true\n#Ansible: x\n* * * * * root y\n",
     "#Ansible: backup\n* 3 * * 1 root /bin/true\n#Ansible: x\n* * * * * root y\n"),
    ("cron: the last job gone, the file too", "cron", {"name": "backup", "state": "absent"},
     "#Ansible: backup\n5 2 * * * root /bin/true\n", None),
])
async def test_a_text_module_converges_once(tmp_path, name, module, args, before, after):
    path = tmp_path / "target"
    keyword = {"known_hosts": "path", "authorized_key": "path", "sysctl": "sysctl_file", "cron": "cron_file",
               "lineinfile": "dest", "blockinfile": "dest"}.get(module, "path")
    args = {**args, keyword: str(path)}
    if before is not None:
        path.write_text(before)
    host = LocalHost(tmp_path)

    looked = await host.module(module, args, check=True)
    assert looked.status == "changed", (name, looked.result)
    assert (path.read_text() if path.exists() else None) == before, f"{name}: check mode changed the file"

    first = await host.module(module, args)
    assert first.status == "changed", (name, first.result)
    assert (path.read_text() if path.exists() else None) == after, name

    sent = host.sent
    second = await host.module(module, args)
    assert second.status == "ok", (name, second.result)
    assert host.sent == sent + 1, f"{name}: the second run should only read"
    assert (path.read_text() if path.exists() else None) == after


@pytest.mark.parametrize("module, args, why", [
    ("replace", {"regexp": "x", "replace": "y"}, "does not exist"),
    ("blockinfile", {"block": "x"}, "does not exist"),
    ("replace", {"regexp": "(", "replace": "y"}, "not a regular expression"),
    ("known_hosts", {"name": "other.org", "key": HOST_KEY}, "does not match"),
    ("authorized_key", {"user": "root", "key": "not a key"}, "invalid key"),
    ("authorized_key", {"user": "no-such-user-kob", "key": KEY_A}, "user no-such-user-kob does not exist"),
    ("cron", {"name": "x", "job": "y", "special_time": "sometimes"}, "special_time should be one of"),
])
async def test_bad_requests_fail_in_one_line_and_write_nothing(tmp_path, module, args, why):
    path = tmp_path / "missing" if module in ("replace", "blockinfile") else tmp_path / "file"
    if module == "replace" and "(" in args["regexp"]:
        path.write_text("x\n")
    keyword = {"known_hosts": "path", "authorized_key": "path", "cron": "cron_file"}.get(module, "path")
    host = LocalHost(tmp_path)
    outcome = await host.module(module, {**args, keyword: str(path)})
    assert outcome.status == "failed"
    assert why in outcome.result["msg"] and "\n" not in outcome.result["msg"]
    assert path.exists() is (module == "replace" and "(" in args["regexp"])


async def test_replace_when_after_matches_nothing_is_ok_as_in_ansible(tmp_path):
    path = tmp_path / "conf"
    path.write_text("port=80\n")
    outcome = await LocalHost(tmp_path).module("replace", {"path": str(path), "regexp": "80", "replace": "90",
                                                           "after": "NOWHERE"})
    assert (outcome.status, path.read_text()) == ("ok", "port=80\n")
    assert "did not match" in outcome.result["msg"]


async def test_known_hosts_hash_host_writes_the_name_hashed_and_a_second_run_changes_nothing(tmp_path):
    path = tmp_path / "known_hosts"
    host = LocalHost(tmp_path)
    args = {"name": "example.org", "key": HOST_KEY, "path": str(path), "hash_host": True}
    assert [(await host.module("known_hosts", args)).status for _ in range(2)] == ["changed", "ok"]
    field, rest = path.read_text().split(" ", 1)
    assert field.startswith("|1|") and "example.org" not in field and rest == HOST_KEY.split(" ", 1)[1] + "\n"
    assert host_matches(field, "example.org") and not host_matches(field, "example.com")


async def test_blockinfile_diff_shows_the_block(tmp_path):
    path = tmp_path / "conf"
    path.write_text("a\n")
    outcome = await LocalHost(tmp_path).module("blockinfile", {"path": str(path), "block": "x=1"}, diff=True)
    assert "+# BEGIN ANSIBLE MANAGED BLOCK\n+x=1\n" in outcome.diff


@pytest.mark.parametrize("validate, status, written", [
    ("grep -q hello %s", "changed", "hello\n"),
    ("grep -q nothere %s", "failed", "old\n"),
    ("sh -c 'test -s \"$1\"' sh %s", "changed", "hello\n"),
])
async def test_copy_validate_checks_the_new_file_before_it_replaces_the_old(tmp_path, validate, status, written):
    path = tmp_path / "app.conf"
    path.write_text("old\n")
    outcome = await LocalHost(tmp_path).module("copy", {"content": "hello\n", "dest": str(path),
                                                        "validate": validate})
    assert outcome.status == status, outcome.result
    assert path.read_text() == written
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("app.conf")) == ["app.conf"]
    if status == "failed":
        assert outcome.result["msg"].startswith("validation with grep failed")


async def test_validate_without_percent_s_is_refused(tmp_path):
    host = LocalHost(tmp_path)
    with pytest.raises(TemplateError, match="validate should hold %s"):  # the run makes it the task's failure
        await host.module("copy", {"content": "x", "dest": str(tmp_path / "f"), "validate": "visudo -c"})
    assert host.sent == 0


async def test_backup_keeps_the_old_file_under_ansibles_name_and_returns_it(tmp_path):
    path = tmp_path / "app.conf"
    path.write_text("old\n")
    host = LocalHost(tmp_path)
    outcome = await host.module("copy", {"content": "new\n", "dest": str(path), "backup": True})
    backup = outcome.result["backup_file"]
    assert outcome.status == "changed" and backup.startswith(f"{path}.") and backup.endswith("~")
    assert "@" in backup and Path(backup).read_text() == "old\n" and path.read_text() == "new\n"
    again = await host.module("copy", {"content": "new\n", "dest": str(path), "backup": True})
    assert again.status == "ok" and "backup_file" not in again.result


async def test_lineinfile_backup_and_name_alias(tmp_path):
    path = tmp_path / "hosts"
    path.write_text("a\n")
    outcome = await LocalHost(tmp_path).module("lineinfile", {"name": str(path), "line": "b", "backup": "yes"})
    assert outcome.status == "changed" and Path(outcome.result["backup_file"]).read_text() == "a\n"
    assert path.read_text() == "a\nb\n"


@pytest.mark.parametrize("before, mode, status, after", [
    pytest.param("old\n", "0600", "ok", "old\n", id="an-existing-file-is-left-as-it-is"),
    pytest.param(None, "0600", "changed", "new\n", id="a-missing-file-is-written"),
])
async def test_copy_force_false_writes_only_a_missing_file(tmp_path, before, mode, status, after):
    path = tmp_path / "app.conf"
    if before is not None:
        path.write_text(before)
        path.chmod(0o644)
    outcome = await LocalHost(tmp_path).module("copy", {"content": "new\n", "dest": str(path), "force": False,
                                                        "mode": mode})
    assert outcome.status == status, outcome.result
    assert path.read_text() == after
    assert oct(path.stat().st_mode & 0o777) == ("0o644" if before is not None else "0o600")


async def test_file_directory_gives_its_mode_to_every_folder_it_creates_as_ansible_does(tmp_path):
    (tmp_path / "have").mkdir(mode=0o755)
    host = LocalHost(tmp_path)
    outcome = await host.module("file", {"path": str(tmp_path / "have/a/b"), "state": "directory", "mode": "0750"})
    assert outcome.status == "changed", outcome.result
    modes = {name: oct((tmp_path / name).stat().st_mode & 0o777) for name in ("have", "have/a", "have/a/b")}
    assert modes == {"have": "0o755", "have/a": "0o750", "have/a/b": "0o750"}
    again = await host.module("file", {"path": str(tmp_path / "have/a/b"), "state": "directory", "mode": "0750"})
    assert again.status == "ok"


async def test_file_directory_over_a_file_fails_and_leaves_the_file(tmp_path):
    (tmp_path / "f").write_text("x")
    (tmp_path / "f").chmod(0o644)
    outcome = await LocalHost(tmp_path).module("file", {"path": str(tmp_path / "f"), "state": "directory",
                                                        "mode": "0700"})
    assert outcome.status == "failed" and "not a directory" in outcome.result["msg"], outcome.result
    assert oct((tmp_path / "f").stat().st_mode & 0o777) == "0o644"
