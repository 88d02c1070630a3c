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
