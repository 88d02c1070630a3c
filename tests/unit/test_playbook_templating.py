"""Playbook templating as Ansible does it: its filters and tests, its template files, backslashes, None,
omit; and the sandbox around all of it (bounded regexes, sizes, no lookups, no Python internals)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import kob.jinja_sandbox
from kob.errors import SpecError, TemplateError
from kob.playbook.loader import load_playbook
from kob.playbook.modules import ANSIBLE_MANAGED
from kob.playbook.templating import OMIT, drop_omitted, evaluate, holds, render, render_file
from kob.playbook.values import variables
from kob.spec.yaml_source import load_yaml
from tests.unit.ansible_filter_outputs import ANSIBLE_SAYS, VARS

TEMPLATES = Path(__file__).parent / "ansible_templates"


@pytest.mark.parametrize("expression, expected", ANSIBLE_SAYS, ids=[e for e, _ in ANSIBLE_SAYS])
def test_filters_and_tests_give_what_ansible_gives(expression, expected):
    assert json.loads(json.dumps(render(expression, VARS))) == expected  # as JSON: Ansible printed tuples as lists


@pytest.mark.parametrize("rendered, source, options", [
    ("nginx_site.conf", "nginx_site.conf", {}),  # loops, dictsort, inline ifs, ansible_managed | comment
    ("app.yml", "app.yml", {}),  # combine, to_nice_yaml | indent, to_json, {%- %}, regex_replace '\\1', version
    ("sysctl.conf", "sysctl.conf", {}),  # macros, {#- -#}, None printed as nothing, indented tags, for-else
    ("lstrip.conf", "lstrip.conf", {}),  # trim_blocks on, lstrip_blocks off: the defaults of the template module
    ("lstrip-on.conf", "lstrip.conf", {"lstrip_blocks": True}),
    ("trim-off.conf", "lstrip.conf", {"trim_blocks": False}),
])
def test_template_files_come_out_as_ansible_renders_them(rendered, source, options):
    values = {**variables(load_yaml(TEMPLATES / "vars.yml")), "ansible_managed": ANSIBLE_MANAGED}
    got = render_file((TEMPLATES / f"{source}.j2").read_text(), values, **options)
    assert got == (TEMPLATES / "rendered_by_ansible" / rendered).read_text()


# Backslashes, as ansible-core 2.19 treats them (each row checked against it): in a playbook value a string
# constant inside {{ }} keeps its backslashes; a condition, a {% %} tag and a template file read Jinja's escapes.
@pytest.mark.parametrize("text, expected", [
    (r"{{ 'foo1' | regex_replace('(o+)(\d)', '\2\1') }}", "f1oo"),
    (r"x {{ 'foo1' | regex_replace('(o+)(\d)', '\2-\1') }} y", "x f1-oo y"),
    (r"{{ 'a\tb' }}", "a\\tb"),
    (r"{{ '\\' | length }}", 2),
    (r"{% set x = 'a\b' %}{{ x | length }}", "2"),  # Ansible gives the int 2: one output keeps its type there
    ("{% if true %}\nx\n{% endif %}\ny", "x\ny"),  # trim_blocks in values too
    ("a{{ none_v }}b", "ab"),
    ("{{ none_v }}", None),
])
def test_playbook_values_render_as_in_ansible(text, expected):
    assert render(text, {"none_v": None}) == expected


def test_conditions_read_jinja_escapes():
    assert holds((r"'a\b' | length == 2",), {}) and not holds((r"'a\b' | length == 3",), {})


def test_template_files_read_jinja_escapes():
    assert render_file(r"{{ 'foo1' | regex_replace('(o+)(\\d)', '\\2\\1') }}", {}) == "f1oo"
    assert render_file(r"{{ 'foo1' | regex_replace('(o+)(\\d)', '\2\1') }}", {}) == "f\x02\x01"


def test_an_undefined_variable_is_still_an_error_when_used():
    for text in ("{{ missing }}", "{{ d.missing }}", "{{ d.missing.deeper }}", "x{{ missing.a }}"):
        with pytest.raises(TemplateError, match="undefined|has no attribute"):
            render(text, {"d": {}})
    assert evaluate("d.missing.deeper is defined", {"d": {}}) is False


def test_omit_leaves_an_argument_out():
    args = render({"path": "/a", "mode": "{{ m | default(omit) }}", "list": ["a", "{{ omit }}"]}, {"omit": OMIT})
    assert drop_omitted(args) == {"path": "/a", "list": ["a"]}


# -- the sandbox around them ---------------------------------------------------------------------------------


@pytest.mark.parametrize("text, message", [
    ("{{ s | regex_search(p) }}", "longer than 4096"),
    ("{{ s | regex_replace('', 'xxxxxxxx') }}", "regex_replace makes more than"),
    ("{{ s | regex_replace('(', 'x') }}", "cannot read the regular expression"),
    ("{{ bomb | from_yaml }}", "from_yaml: "),
    ("{{ range(1000) | product(range(1000), range(1000)) | length }}", "product makes more than"),
    ("{{ 'x' | hash('whirlpool') }}", "hashtype should be one of"),
    ("{{ (d | dict2items)[0].__class__ }}", "unsafe"),
    ("{{ 'x' | regex_search('x') | attr('__class__') }}", "unsafe"),
    ("{{ undefined_v | mandatory }}", "Mandatory variable 'undefined_v' not defined"),
    ("{{ undefined_v | mandatory('give undefined_v') }}", "give undefined_v"),
    ("{{ 'x' | to_json(cls=1) }}", "unknown option 'cls'"),
    ("{{ {} is failed }}", ""),
    ("{{ 'x' is failed }}", "takes a registered result"),
    ("{{ '1.0a' is version('1.0', strict=true) }}", "not a strict version"),
    ("{{ undefined_v | to_yaml }}", "undefined"),
    ("{{ 'a: !!binary x' | from_yaml }}", "from_yaml: "),
    ("{{ 'a: !!python/object:os.system x' | from_yaml }}", "from_yaml: "),
])
def test_filters_stay_bounded_and_sandboxed(text, message):
    bomb = "a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{n}: &{n} [*{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}]\n"
        for p, n in zip("abcdefg", "bcdefgh"))
    values = {"s": "a" * 200_000, "p": "a" * 5000, "bomb": bomb, "d": {"k": 1}}
    if not message:
        assert render(text, values) is False
        return
    with pytest.raises(TemplateError, match=message):
        render(text, values)


@pytest.mark.parametrize("pattern", ["(a+)+$", "(x+x+)+y"])
def test_a_backtracking_regex_is_stopped_by_the_cpu_budget(monkeypatch, pattern):
    monkeypatch.setattr(kob.jinja_sandbox, "MAX_CPU_SECONDS", 0.2)
    with pytest.raises(TemplateError, match="of CPU"):
        render("{{ s is search(p) }}", {"s": "a" * 40 + "b" if "a" in pattern else "x" * 40, "p": pattern})


@pytest.mark.parametrize("text, line, message", [
    ("- debug: {msg: \"{{ lookup('pipe', 'id') }}\"}\n", 3, r"lookup\('pipe'\) is not supported by kob run"),
    ("- debug: {msg: x}\n  when: query('url', 'http://x')\n", 4, r"query\('url'\) is not supported by kob run"),
    ("- debug: {msg: \"{{ q('fileglob', '*') }}\"}\n", 3, r"q\('fileglob'\) is not supported by kob run"),
    ("- debug: {msg: '{{ x | no_such_filter }}'}\n", 3, "No filter named 'no_such_filter'"),
    ("- debug: {msg: x}\n  when: x is no_such_test\n", 4, "No test named 'no_such_test'"),
])
def test_what_kob_does_not_have_is_refused_at_load(tmp_path, text, line, message):
    (tmp_path / "site.yml").write_text("- hosts: all\n  tasks:\n" + "".join("    " + line + "\n"
                                                                       for line in text.splitlines()))
    with pytest.raises(SpecError, match=message) as refused:
        load_playbook(tmp_path / "site.yml")
    assert str(refused.value).startswith(f"{tmp_path / 'site.yml'}:{line}: ")
