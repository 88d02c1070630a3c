"""What kob echoes of a user's file stays one line: newlines and terminal escapes in keys are written as escapes."""

from __future__ import annotations

import sys

import pytest

from kob.cli.main import main
from kob.errors import one_line


@pytest.mark.parametrize("text, shown", [
    ("plain", "plain"),
    ("two\nlines", "two\\nlines"),
    ("title \x1b]0;owned\x07 clear \x1b[2J", "title \\x1b]0;owned\\x07 clear \\x1b[2J"),
    ("carriage\rreturn\ttab", "carriage\\rreturn\\ttab"),
    ("line\u2028separator \u202eright-to-left", "line\\u2028separator \\u202eright-to-left"),
    ("ünïcödé stays", "ünïcödé stays"),
])
def test_one_line(text, shown):
    assert one_line(text) == shown


@pytest.mark.parametrize("key", ['"web\\nkob: error: forged"', '"web\\e]0;title\\a"', '"web\\e[2J"'])
def test_a_hostile_key_is_echoed_on_one_line(monkeypatch, capsys, tmp_path, key):
    (tmp_path / "inv.yaml").write_text(f"hosts:\n  vm1: {{address: 198.18.0.11}}\nservices:\n  {key}: {{image: x}}\n")
    monkeypatch.setattr(sys, "argv", ["kob", "deploy", str(tmp_path / "inv.yaml"), "--check"])
    with pytest.raises(SystemExit) as done:
        main()
    err = capsys.readouterr().err
    assert done.value.code == 1 and err.count("\n") == 1 and err.startswith(f"kob: error: {tmp_path / 'inv.yaml'}:4:")
    assert "\x1b" not in err and "\x07" not in err


def test_an_unclosed_quote_is_reported_where_it_opens(tmp_path):
    from kob.errors import SpecError
    from kob.spec.inventory import load_inventory

    (tmp_path / "inv.yaml").write_text('hosts:\n  vm1: {address: "198.18.0.11}\n  vm2: {address: x}\n\n\n')
    with pytest.raises(SpecError, match=r"inv\.yaml:2: invalid YAML: a quoted string is not closed$"):
        load_inventory(tmp_path / "inv.yaml")


def test_a_play_whose_hosts_match_nothing_is_named_by_the_playbook_line(tmp_path):
    from kob.errors import KobError
    from kob.playbook.invocation import checked_plays
    from kob.spec.inventory import load_inventory

    (tmp_path / "inv.yaml").write_text("hosts:\n  vm1: {address: 198.18.0.11}\n")
    (tmp_path / "site.yml").write_text("- hosts: all\n  tasks: []\n- hosts: nosuch\n  tasks: []\n")
    with pytest.raises(KobError, match=r"site\.yml:3: play 2 hosts: no host or group named 'nosuch'"):
        checked_plays(load_inventory(tmp_path / "inv.yaml"), str(tmp_path / "site.yml"), None)


async def test_a_missing_known_hosts_file_is_named_before_connecting(tmp_path):
    from kob.errors import HostKeyRejected
    from kob.transport.base import SshTarget
    from kob.transport.ssh import SshPool

    target = SshTarget("vm1", "127.0.0.1", 9, "root", None, tmp_path / "known_hosts", 1.0, 1.0)
    async with SshPool() as pool:
        with pytest.raises(HostKeyRejected, match=f"vm1: known_hosts file {tmp_path / 'known_hosts'} does not exist"):
            await pool.run(target, ["true"])
