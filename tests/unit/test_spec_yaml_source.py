"""The YAML reader every spec loader uses: types, locations, merges, refusals."""

import re
from pathlib import Path

import pytest

from kob.errors import SpecError
from kob.spec.yaml_source import REQUIRED, Node, did_you_mean, load_yaml, parse_yaml


def value(text: str) -> Node:
    """The node under key 'v' of a one-line document."""
    return parse_yaml(f"v: {text}\n", "f.yaml").record(("v",)).require("v")


# (reader, YAML text of the value, expected result)
READS = [
    ("as_str", "hello", "hello"),
    ("as_str", "1.10", "1.10"),
    ("as_str", "no", "no"),
    ("as_str", "0x1F", "0x1F"),
    ("as_str", "'quoted: yes'", "quoted: yes"),
    ("as_str", "2024-01-02", "2024-01-02"),
    ("as_int", "22", 22),
    ("as_int", "-3", -3),
    ("as_int", "022", 22),
    ("as_float", "2", 2.0),
    ("as_float", "2.5", 2.5),
    ("as_float", "1e3", 1000.0),
    ("as_float", ".5", 0.5),
    ("as_duration", "30", 30.0),
    ("as_duration", "1.5", 1.5),
    ("as_duration", "250ms", 0.25),
    ("as_duration", "30s", 30.0),
    ("as_duration", "5m", 300.0),
    ("as_duration", "1h", 3600.0),
    ("as_duration", "1m30s", 90.0),
    ("as_duration", "'45s'", 45.0),
    ("as_bool", "true", True),
    ("as_bool", "False", False),
    ("as_bool", "TRUE", True),
    ("as_str_list", "[a, 1, b]", ("a", "1", "b")),
    ("as_str_list", "[]", ()),
    ("as_str_list", "", ()),
    ("as_str_map", "{a: 1, b: x}", {"a": "1", "b": "x"}),
    ("as_str_map", "", {}),
]


@pytest.mark.parametrize("reader, text, expected", READS)
def test_reads(reader, text, expected):
    assert getattr(value(text), reader)() == expected


# (reader, options, YAML text, exact error)
REFUSALS = [
    ("as_str", {}, "", "f.yaml:1: v: should be a string, got nothing"),
    ("as_str", {}, "''", "f.yaml:1: v: should not be empty"),
    ("as_str", {}, "[a]", "f.yaml:1: v: should be a string, got a list"),
    ("as_str", {}, "{a: 1}", "f.yaml:1: v: should be a string, got a mapping"),
    ("as_str", {"choices": ("rolling", "recreate")}, "rollin",
     "f.yaml:1: v: should be one of rolling, recreate, got 'rollin'; did you mean 'rolling'?"),
    ("as_str", {"pattern": re.compile(r"[a-z]+"), "expected": "a lower-case word"}, "Abc",
     "f.yaml:1: v: should be a lower-case word, got 'Abc'"),
    ("as_int", {}, "abc", "f.yaml:1: v: should be an integer, got 'abc'"),
    ("as_int", {}, "0x1F", "f.yaml:1: v: should be an integer, got '0x1F'"),
    ("as_int", {}, "1_000", "f.yaml:1: v: should be an integer, got '1_000'"),
    ("as_int", {}, "\"8\"", "f.yaml:1: v: should be an integer, got the string '8'; remove the quotes"),
    ("as_int", {}, "true", "f.yaml:1: v: should be an integer, got 'true'"),
    ("as_int", {"min": 1}, "0", "f.yaml:1: v: should be at least 1, got 0"),
    ("as_int", {"max": 9}, "10", "f.yaml:1: v: should be at most 9, got 10"),
    ("as_float", {}, ".inf", "f.yaml:1: v: should be a number, got '.inf'"),
    ("as_float", {}, ".nan", "f.yaml:1: v: should be a number, got '.nan'"),
    ("as_float", {"above": 0}, "0.0", "f.yaml:1: v: should be more than 0, got 0.0"),
    ("as_float", {"min": 0, "max": 1}, "1.5", "f.yaml:1: v: should be between 0 and 1, got 1.5"),
    ("as_duration", {}, "soon", "f.yaml:1: v: should be a duration such as 30, 30s, 5m or 1h, got 'soon'"),
    ("as_duration", {}, "5 m", "f.yaml:1: v: should be a duration such as 30, 30s, 5m or 1h, got '5 m'"),
    ("as_duration", {}, "1:30", "f.yaml:1: v: should be a duration such as 30, 30s, 5m or 1h, got '1:30'"),
    ("as_duration", {"above": 0}, "0s", "f.yaml:1: v: should be more than 0, got 0s"),
    ("as_bool", {}, "yes", "f.yaml:1: v: should be true or false, got 'yes'"),
    ("as_bool", {}, "off", "f.yaml:1: v: should be true or false, got 'off'"),
    ("as_bool", {}, "1", "f.yaml:1: v: should be true or false, got '1'"),
    ("as_bool", {}, "'true'", "f.yaml:1: v: should be true or false, got the string 'true'; remove the quotes"),
    ("as_str_list", {}, "a", "f.yaml:1: v: should be a list of strings, got 'a'; write [a] for a single item"),
    ("as_str_list", {}, "{a: 1}", "f.yaml:1: v: should be a list of strings, got a mapping"),
    ("as_str_list", {}, "[a, [b]]", "f.yaml:1: v[1]: should be a string, got a list"),
    ("as_str_map", {}, "[a]", "f.yaml:1: v: should be a mapping of strings, got a list"),
    ("as_str_map", {}, "{a: {b: c}}", "f.yaml:1: v/a: should be a string, got a mapping"),
]


@pytest.mark.parametrize("reader, options, text, message", REFUSALS)
def test_refusals(reader, options, text, message):
    with pytest.raises(SpecError) as caught:
        getattr(value(text), reader)(**options)
    assert str(caught.value) == message


def test_long_values_are_shortened():
    with pytest.raises(SpecError) as caught:
        value("x" * 50).as_int()
    assert str(caught.value) == "f.yaml:1: v: should be an integer, got '" + "x" * 37 + "...'"


DOCUMENT = """\
service:
  name: web
  replicas: 3
  ports:
    - 80
    - 443
  env:
    A: 1
  strategy:
    kind: rolling
"""


def test_lines_and_paths():
    root = parse_yaml(DOCUMENT, "svc.yaml")
    service = root.record(("service",)).require("service")
    fields = service.record(("name", "replicas", "ports", "env", "strategy"))
    ports = fields.require("ports").as_list()
    strategy = fields.require("strategy")
    assert (root.line, root.path) == (1, "")
    assert (service.line, service.path) == (1, "service")
    assert (fields.require("replicas").line, fields.require("replicas").path) == (3, "service/replicas")
    assert [(p.line, p.path) for p in ports] == [(5, "service/ports[0]"), (6, "service/ports[1]")]
    assert (strategy.line, strategy.path) == (9, "service/strategy")
    assert strategy.record(("kind",)).require("kind").path == "service/strategy/kind"


def test_record_readers_with_defaults():
    fields = parse_yaml("a: 3\nb: x\n", "f.yaml").record(("a", "b", "c", "d"))
    assert fields.get_int("a", min=1) == 3
    assert fields.get_str("b") == "x"
    assert fields.get_int("c", default=7) == 7
    assert fields.get_bool("d", default=False) is False
    assert fields.get_duration("c", default=None) is None
    assert "a" in fields and "c" not in fields
    assert fields.get("c") is None
    with pytest.raises(SpecError, match=r"^f\.yaml:1: missing required key 'c'$"):
        fields.get_str("c", default=REQUIRED)


def test_unknown_key_lists_allowed_keys_in_their_order():
    with pytest.raises(SpecError) as caught:
        parse_yaml("zone: a\nreplicsa: 2\n", "f.yaml").record(("zone", "replicas", "image"))
    assert str(caught.value) == (
        "f.yaml:2: replicsa: unknown key; did you mean 'replicas'? (allowed: zone, replicas, image)"
    )


@pytest.mark.parametrize(
    "text, message",
    [
        ("a: 1\na: 2\n", "f.yaml:2: a: defined twice (first at line 1); remove or rename one"),
        ("a:\n  b:\n    - {c: 1, c: 2}\n", "f.yaml:3: a/b[0]/c: defined twice (first at line 3); remove or rename one"),
        ("'on': 1\non: 2\n", "f.yaml:2: on: defined twice (first at line 1); remove or rename one"),
        ("x: !!binary aGk=\n", "f.yaml:1: x: unsupported YAML tag 'tag:yaml.org,2002:binary'; kob reads plain YAML only"),
        ("a: *nowhere\n", "f.yaml:1: invalid YAML: found undefined alias 'nowhere'"),
        ("a: 'open\n", "f.yaml:1: invalid YAML: a quoted string is not closed"),
        ("a:\n  b: 1\n c: 2\n", "f.yaml:3: invalid YAML: expected <block end>, but found '<block mapping start>'; "
         "check the indentation"),
        ("a: \x07\n", "f.yaml:1: invalid YAML: character U+0007 is not allowed; remove it"),
        ("~\n", "f.yaml: empty file; expected a mapping"),
        ("---\n", "f.yaml: empty file; expected a mapping"),
    ],
)
def test_document_refusals(text, message):
    with pytest.raises(SpecError) as caught:
        parse_yaml(text, "f.yaml")
    assert str(caught.value) == message


@pytest.mark.parametrize(
    "text, expected",
    [
        ("base: &b {x: 1, y: 2}\nv: {<<: *b, y: 3}\n", {"x": "1", "y": "3"}),
        ("base: &b {x: 1}\nv: {y: 2, <<: *b}\n", {"y": "2", "x": "1"}),
        ("p: &p {x: 1}\nq: &q {x: 2, z: 3}\nv: {<<: [*p, *q]}\n", {"x": "1", "z": "3"}),
        ("a: &a {x: 1}\nb: &b {<<: *a, y: 2}\nv: {<<: *b}\n", {"x": "1", "y": "2"}),
    ],
)
def test_merge_keys(text, expected):
    fields = parse_yaml(text, "f.yaml").record(("base", "p", "q", "a", "b", "v"))
    assert fields.get_str_map("v") == expected


def test_merge_of_a_scalar_is_refused():
    with pytest.raises(SpecError) as caught:
        parse_yaml("v: {<<: 3}\n", "f.yaml").record(("v",)).get_str_map("v")
    assert str(caught.value) == "f.yaml:1: v/<<: should be a mapping or a list of mappings, e.g. <<: *defaults"


def test_as_path(tmp_path):
    (tmp_path / "keys").mkdir()
    (tmp_path / "keys" / "id").write_text("")
    node = parse_yaml("k: keys/id\nm: keys/none\nd: keys\n", "f.yaml").record(("k", "m", "d"))
    assert node.get_path("k", tmp_path) == tmp_path / "keys" / "id"
    assert node.get_path("m", tmp_path, must_exist=False) == tmp_path / "keys" / "none"
    with pytest.raises(SpecError, match=r"^f\.yaml:2: m: file .*/keys/none not found \(relative paths"):
        node.get_path("m", tmp_path)
    with pytest.raises(SpecError, match=r"^f\.yaml:3: d: env file .*/keys is a directory; give the path of a file$"):
        node.get_path("d", tmp_path, what="env file")


def test_load_yaml_file_errors(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    Path("empty.yaml").write_text("")
    with pytest.raises(SpecError, match=r"^empty\.yaml: empty file; expected a list of tasks$"):
        load_yaml("empty.yaml", expected="a list of tasks")
    with pytest.raises(SpecError, match=r"^gone\.yaml: no such file$"):
        load_yaml(Path("gone.yaml"))
    with pytest.raises(SpecError, match=r"^\.: is a directory; give the path of a YAML file$"):
        load_yaml(".")


def test_byte_order_mark_is_ignored(tmp_path):
    path = tmp_path / "bom.yaml"
    path.write_bytes(b"\xef\xbb\xbfa: 1\n")
    assert load_yaml(path).record(("a",)).get_int("a") == 1


@pytest.mark.parametrize(
    "word, options, hint",
    [
        ("hsots", ["ssh", "hosts"], "; did you mean 'hosts'?"),
        ("vm9", ["vm1", "vm2"], "; did you mean 'vm1'?"),
        ("zzz", ["ssh", "hosts"], ""),
        ("x", [], ""),
    ],
)
def test_did_you_mean(word, options, hint):
    assert did_you_mean(word, options) == hint
