"""lineinfile's edit as a table: where a line goes (regexp, search_string, insertafter/insertbefore with
a pattern, EOF or BOF, firstmatch, backrefs) and what state=absent takes out.

Every expected text was read from ansible-core 2.19.14 running the same lineinfile task on a local file,
quirks included: a line put after the last line of a file without a final newline is joined to it, as
Ansible's module does.
"""

from __future__ import annotations

import pytest

from kob.playbook.lines import edit_lines
from tests.helpers.local_host import LocalHost

GROWS_IN_ANSIBLE = ("insertafter at last line no newline",)
"""Rows whose second run changes the file again under Ansible too (the line joined to the last one)."""


@pytest.mark.parametrize("name, text, args, expected", [
    ('append', 'a\nb\n', {'line': 'c'},
     'a\nb\nc\n'),
    ('exact there', 'a\nc\n', {'line': 'c'},
     'a\nc\n'),
    ('regexp replaces last', 'port=1\nport=3\n', {'line': 'port=2', 'regexp': '^port='},
     'port=1\nport=2\n'),
    ('regexp firstmatch', 'port=1\nport=3\n', {'line': 'port=2', 'regexp': '^port=', 'firstmatch': True},
     'port=2\nport=3\n'),
    ('regexp no match appends', 'x\n', {'line': 'port=2', 'regexp': '^port='},
     'x\nport=2\n'),
    ('regexp no match insertafter', 'a\n[s]\nb\n', {'line': 'k=1', 'regexp': '^k=', 'insertafter': '^\\[s\\]'},
     'a\n[s]\nk=1\nb\n'),
    ('regexp match ignores insertafter', 'k=0\n[s]\nb\n', {'line': 'k=1', 'regexp': '^k=', 'insertafter': '^\\[s\\]'},
     'k=1\n[s]\nb\n'),
    ('insertafter last match', 's 1\nx\ns 2\ny\n', {'line': 'new', 'insertafter': '^s '},
     's 1\nx\ns 2\nnew\ny\n'),
    ('insertafter first match', 's 1\nx\ns 2\ny\n', {'line': 'new', 'insertafter': '^s ', 'firstmatch': True},
     's 1\nnew\nx\ns 2\ny\n'),
    ('insertafter no match -> EOF', 'a\nb\n', {'line': 'new', 'insertafter': '^zz'},
     'a\nb\nnew\n'),
    ('insertafter EOF', 'a\nb\n', {'line': 'new', 'insertafter': 'EOF'},
     'a\nb\nnew\n'),
    ('insertafter BOF', 'a\nb\n', {'line': 'new', 'insertafter': 'BOF'},
     'new\na\nb\n'),
    ('insertbefore BOF', 'a\nb\n', {'line': 'new', 'insertbefore': 'BOF'},
     'new\na\nb\n'),
    ('insertbefore last match', 'a\nb\na\n', {'line': 'new', 'insertbefore': '^a'},
     'a\nb\nnew\na\n'),
    ('insertbefore first match', 'a\nb\na\n', {'line': 'new', 'insertbefore': '^a', 'firstmatch': True},
     'new\na\nb\na\n'),
    ('insertbefore no match -> EOF', 'a\nb\n', {'line': 'new', 'insertbefore': '^zz'},
     'a\nb\nnew\n'),
    ('insertbefore EOF is a regex', 'a\nEOF marker\n', {'line': 'new', 'insertbefore': 'EOF'},
     'a\nnew\nEOF marker\n'),
    ('insertafter at last line', 'a\nsearch x\n', {'line': 'options y', 'insertafter': '^search'},
     'a\nsearch x\noptions y\n'),
    ('insertafter at last line no newline', 'a\nsearch x', {'line': 'options y', 'insertafter': '^search'},
     'a\nsearch xoptions y\n'),
    ('insertafter, line already below', 'search x\noptions y\n', {'line': 'options y', 'insertafter': '^search'},
     'search x\noptions y\n'),
    ('insertafter, line already elsewhere', 'options y\nsearch x\n', {'line': 'options y', 'insertafter': '^search'},
     'options y\nsearch x\n'),
    ('insertafter, second option', 'search x\noptions a\n', {'line': 'options b', 'insertafter': '^search'},
     'search x\noptions b\noptions a\n'),
    ('insertbefore, line already elsewhere', 'a\nb\nnew\n', {'line': 'new', 'insertbefore': '^b'},
     'a\nb\nnew\n'),
    ('no newline at end, append', 'a', {'line': 'b'},
     'a\nb\n'),
    ('no newline at end, exact', 'no newline', {'line': 'no newline'},
     'no newline\n'),
    ('crlf exact', 'a\r\nb\r\n', {'line': 'a'},
     'a\nb\r\n'),
    ('empty file', '', {'line': 'first'},
     'first\n'),
    ('empty file insertafter', '', {'line': 'first', 'insertafter': '^x'},
     'first\n'),
    ('empty file insertbefore BOF', '', {'line': 'first', 'insertbefore': 'BOF'},
     'first\n'),
    ('backrefs', 'port = 80\n', {'line': 'port = \\g<1>0', 'regexp': '^port = (\\d+)$', 'backrefs': True},
     'port = 800\n'),
    ('backrefs no match', 'x\n', {'line': 'y\\1', 'regexp': '^(z)$', 'backrefs': True},
     'x\n'),
    ('search_string', 'listen 80;\nlisten 443;\n', {'line': 'listen 8080;', 'search_string': 'listen 80'},
     'listen 8080;\nlisten 443;\n'),
    ('absent exact', 'a\nb\na\n', {'line': 'a', 'state': 'absent'},
     'b\n'),
    ('absent regexp', 'k=1\nj=2\nk=3\n', {'regexp': '^k=', 'state': 'absent'},
     'j=2\n'),
    ('absent search_string', 'k=1\nj=2\n', {'search_string': 'j=', 'state': 'absent'},
     'k=1\n'),
    ('absent all gone', 'only\n', {'line': 'only', 'state': 'absent'},
     ''),
    ('absent not there', 'a\n', {'line': 'z', 'state': 'absent'},
     'a\n'),
    ('regexp matches exact line elsewhere', 'port=1\n', {'line': 'port=1', 'regexp': '^nomatch'},
     'port=1\n'),
    ('insertafter matches the line itself', 'options y\n', {'line': 'options y', 'insertafter': '^options'},
     'options y\n'),
    ('regexp with newline dollar', 'a=1\n', {'line': 'a=2', 'regexp': '^a=1$'},
     'a=2\n'),
])
def test_lineinfile_edits_as_ansible(name, text, args, expected):
    args = dict(args)
    line, regexp, state = args.pop("line", None), args.pop("regexp", None), args.pop("state", "present")
    assert edit_lines(text, line, regexp, state, **args) == expected, name
    if state == "present" and not args.get("backrefs") and name not in GROWS_IN_ANSIBLE:  # a second run: no change
        assert edit_lines(expected, line, regexp, state, **args) == expected, name


@pytest.mark.parametrize("args, before, after, status", [
    ({"regex": "^port=", "value": "port=2", "insertafter": "^#"}, "#\nport=1\n", "#\nport=2\n", "changed"),
    ({"line": "gone", "state": "absent"}, None, None, "ok"),  # nothing to take a line out of: ok, as in Ansible
    ({"line": "gone", "state": "absent", "create": True}, None, None, "ok"),  # and no empty file made
    ({"line": "x", "insertbefore": "BOF", "create": True}, None, "x\n", "changed"),
])
async def test_lineinfile_module_aliases_and_missing_files(tmp_path, args, before, after, status):
    path = tmp_path / "conf"
    if before is not None:
        path.write_text(before)
    outcome = await LocalHost(tmp_path).module("lineinfile", {**args, "path": str(path)})
    assert outcome.status == status, outcome.result
    assert (path.read_text() if path.exists() else None) == after


@pytest.mark.parametrize("args, message", [
    ({"regexp": "x"}, "line is required with state=present"),
    ({"state": "absent"}, "one of line, search_string, or regexp is required with state=absent"),
    ({"line": "x", "backrefs": True}, "regexp is required with backrefs=true"),
])
async def test_lineinfile_refuses_what_ansible_refuses(tmp_path, args, message):
    path = tmp_path / "conf"
    path.write_text("a\n")
    outcome = await LocalHost(tmp_path).module("lineinfile", {**args, "path": str(path)})
    assert (outcome.status, outcome.result["msg"]) == ("failed", message)
    assert path.read_text() == "a\n"
