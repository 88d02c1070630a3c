"""`kob run`'s pure parts: templating, host-module argv, result parsing, -e values."""

from __future__ import annotations

import pytest

from kob.playbook.invocation import extra_vars
from kob.commands.tasks import (RESULT_MARK, apt_argv, command_argv, copy_argv, docker_container_argv, docker_image_argv,
                               file_argv, octal_mode, service_argv, shell_argv)
from kob.errors import KobError
from kob.playbook.lines import edit_lines
from kob.playbook.modules import _scripted, container_run_args
from kob.playbook.templating import TemplateError, holds, render
from kob.transport.result import Result

VARS = {"name": "web", "items": [1, 2], "n": 3, "nested": {"k": "v"}}


@pytest.mark.parametrize("value, expected", [
    ("plain", "plain"),
    ("{{ name }}", "web"),
    ("{{ items }}", [1, 2]),  # one whole expression keeps its type
    ("{{ n + 1 }}", 4),
    ("x-{{ name }}-{{ n }}", "x-web-3"),
    ({"a": ["{{ nested.k }}", 5]}, {"a": ["v", 5]}),
    ("{% if n > 2 %}big{% endif %}", "big"),
    (7, 7),
])
def test_render(value, expected):
    assert render(value, VARS) == expected


@pytest.mark.parametrize("expressions, expected", [
    (("n == 3",), True), (("n == 3", "name == 'db'"), False), (("'we' in name",), True), (("items | length > 1",), True),
    (("True",), True), (("False",), False), ((), True),
])
def test_holds(expressions, expected):
    assert holds(expressions, VARS) is expected


@pytest.mark.parametrize("call", [lambda: render("{{ missing }}", VARS), lambda: holds(("missing == 1",), VARS),
                                  lambda: render("{{ name", VARS)])
def test_undefined_or_broken_templates_are_errors(call):
    with pytest.raises(TemplateError):
        call()


@pytest.mark.parametrize("built, expected", [
    (command_argv(["ls", "-l", "a b"], None), ["ls", "-l", "a b"]),
    (command_argv(["ls"], "/srv"), ["sh", "-c", 'cd "$1" && shift && exec "$@"', "sh", "/srv", "ls"]),
    (shell_argv("echo $HOME | wc -c", None), ["sh", "-c", "echo $HOME | wc -c"]),
    (shell_argv("pwd", "/tmp"), ["sh", "-c", 'cd "$1" && exec sh -c "$2"', "sh", "/tmp", "pwd"]),
    (file_argv("/a b", "directory", "755", "", "", True)[3:], ["sh", "/a b", "directory", "755", "", "", "1", "1"]),
    (copy_argv("/etc/x", "abc", "", "root", "", False, True)[3:], ["sh", "/etc/x", "abc", "", "root", "", "0", "1"]),
])
def test_host_module_argv_keeps_user_values_out_of_the_script(built, expected):
    assert built == expected


@pytest.mark.parametrize("mode, expected", [("0644", "644"), ("644", "644"), (644, "644"), ("0755", "755"),
                                            ("4755", "4755"), (None, ""), ("", "")])
def test_octal_mode(mode, expected):
    assert octal_mode(mode) == expected


@pytest.mark.parametrize("mode", ["u=rw", "0648", "rwx"])
def test_a_mode_that_is_not_octal_is_refused(mode):
    with pytest.raises(ValueError, match="octal"):
        octal_mode(mode)


@pytest.mark.parametrize("result, status, message", [
    (Result("vm1", (), 0, f"noise\n{RESULT_MARK} changed\n", "", 0.1), "changed", None),
    (Result("vm1", (), 0, f"{RESULT_MARK} ok\n", "", 0.1), "ok", None),
    (Result("vm1", (), 0, f"{RESULT_MARK} failed /x is a directory\n", "", 0.1), "failed", "/x is a directory"),
    (Result("vm1", (), 1, "", "mkdir: permission denied\n", 0.1), "failed", "mkdir: permission denied"),
    (Result("vm1", (), 0, "no marker\n", "", 0.1), "failed", "exit 0"),
])
def test_scripted_results(result, status, message):
    outcome = _scripted(result, {"path": "/x"})
    assert outcome.status == status and outcome.result["path"] == "/x"
    assert outcome.result.get("msg") == message


@pytest.mark.parametrize("texts, expected", [
    (("a=1", "b=2"), {"a": "1", "b": "2"}),
    (('name="two words" n=3',), {"name": "two words", "n": "3"}),
    (('{"n": 3, "l": [1]}',), {"n": 3, "l": [1]}),
])
def test_extra_vars(texts, expected):
    assert extra_vars(texts) == expected


@pytest.mark.parametrize("text", ["=1", "1a=2", "{not json", "b=x y"])
def test_bad_extra_vars(text):
    with pytest.raises(KobError, match="^-e "):
        extra_vars((text,))


@pytest.mark.parametrize("text, line, regexp, state, expected", [
    ("a\nb\n", "c", None, "present", "a\nb\nc\n"),  # appended
    ("a\nc\n", "c", None, "present", "a\nc\n"),  # already there: unchanged
    ("port=1\nx\n", "port=2", r"^port=", "present", "port=2\nx\n"),  # the match replaced
    ("port=1\nport=3\n", "port=2", r"^port=", "present", "port=1\nport=2\n"),  # the last match
    ("port=2\n", "port=2", r"^port=", "present", "port=2\n"),
    ("x\n", "port=2", r"^port=", "present", "x\nport=2\n"),  # no match: appended
    ("", "first", None, "present", "first\n"),  # an empty (or new) file
    ("a\nb\na\n", "a", None, "absent", "b\n"),
    ("k=1\nj=2\n", None, r"^k=", "absent", "j=2\n"),
    ("a\n", "z", None, "absent", "a\n"),
    ("only\n", "only", None, "absent", ""),
    ("no newline", "no newline", None, "present", "no newline\n"),  # as Ansible: the line gets its newline
])
def test_edit_lines(text, line, regexp, state, expected):
    assert edit_lines(text, line, regexp, state) == expected


@pytest.mark.parametrize("args, expected", [
    ({"image": "nginx:1"}, ["nginx:1"]),
    ({"image": "nginx:1", "command": "sh -c 'sleep 5'"}, ["nginx:1", "sh", "-c", "sleep 5"]),
    ({"image": "img", "command": ["a", 1]}, ["img", "a", "1"]),
    ({"image": "img", "ports": ["8080:80", 9000], "env": {"B": "2", "A": "x y"}, "restart_policy": "always"},
     ["-p", "8080:80", "-p", "9000", "-e", "A=x y", "-e", "B=2", "--restart", "always", "img"]),
])
def test_container_run_args(args, expected):
    assert container_run_args(args) == expected


@pytest.mark.parametrize("built, tail", [
    (docker_image_argv("nginx:1", "present", False), ["sh", "nginx:1", "present", "0"]),
    (docker_container_argv("web", "started", "abc", ["-p", "1:2", "img"], True),
     ["sh", "web", "started", "abc", "1", "-p", "1:2", "img"]),
    (service_argv("nginx", "started", True, False), ["sh", "nginx", "started", "true", "0"]),
    (service_argv("nginx", "", None, True), ["sh", "nginx", "", "", "1"]),
    (apt_argv(["curl", "jq"], "present", True, False), ["sh", "present", "1", "0", "0", "curl", "jq"]),
])
def test_more_host_module_argv(built, tail):
    assert built[:2] == ["sh", "-c"] and built[3:] == tail
