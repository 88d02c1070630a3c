"""Every Jinja evaluation is sandboxed and bounded: known escape routes and resource bombs are refused.

Each hostile expression tries to create a marker file (or to take the manager's memory); it must
raise TemplateError, quickly, and leave no file behind.
"""

from __future__ import annotations

import time

import pytest

from kob.commands.haproxy import render_haproxy_config
from kob.errors import TemplateError
from kob.playbook.templating import evaluate, holds, render, render_file

MARKER = "/tmp/kob-sandbox-marker"
RUN = f"popen('touch {MARKER}')"

# (id, expression): each one is refused
ESCAPES = [
    ("lipsum globals", f"lipsum.__globals__.os.{RUN}"),
    ("lipsum globals by item", f"lipsum['__globals__']['os'].{RUN}"),
    ("joiner init globals", f"joiner.__init__.__globals__.os.system('touch {MARKER}')"),
    ("cycler init globals", f"cycler.__init__.__globals__.os.{RUN}"),
    ("namespace init globals", f"namespace.__init__.__globals__.os.{RUN}"),
    ("self init globals", "self.__init__.__globals__"),
    ("str class mro subclasses", "''.__class__.__mro__[1].__subclasses__()"),
    ("tuple class base subclasses", "().__class__.__base__.__subclasses__()"),
    ("dict class", "{}.__class__"),
    ("attr filter", "''|attr('__class__')"),
    ("attr filter on function", "lipsum|attr('__globals__')"),
    ("map attribute", "[lipsum]|map(attribute='__globals__')|list"),
    ("mro without underscores", "''.__class__.mro()"),
    ("format reaches attributes", "'{0.__class__}'.format('')"),
    ("format_map reaches attributes", "'{a.__globals__}'.format_map({'a': lipsum})"),
    ("list append mutates", "[].append(1)"),
    ("dict update mutates", "{}.update({'a': 1})"),
    ("pop mutates", "[1].pop()"),
    ("range bomb", "range(200000000)|list"),
    ("string repetition", "'a' * 1000000000"),
    ("string repetition reversed", "1000000000 * 'ab'"),
    ("list repetition", "[0] * 100000000"),
    ("power", "10 ** 100000000"),
    ("percent width", "'%0999999999d' % 1"),
    ("percent star width", "'%*d' % (999999999, 1)"),
    ("format width", "'{:>999999999}'.format(1)"),
    ("format nested width", "'{0:{1}}'.format(1, 999999999)"),
    ("format filter width", "'%999999999s'|format('x')"),
    ("center filter", "'x'|center(1000000000)"),
    ("indent filter", "'a\\nb'|indent(100000000)"),
    ("ljust method", "'x'.ljust(1000000000)"),
    ("zfill method", "'1'.zfill(1000000000)"),
    ("replace filter bomb", "('a' * 1000000)|replace('a', 'aaaaaaaaaa')"),
    ("replace method bomb", "('a' * 1000000).replace('a', 'aaaaaaaaaa')"),
    ("lipsum bomb", "lipsum(1000000)"),
    ("division by zero", "1 / 0"),
    ("type error", "'a' + 1"),
    ("undefined", "no_such_variable"),
]


@pytest.fixture(autouse=True)
def no_marker(tmp_path):
    import os

    if os.path.exists(MARKER):
        os.remove(MARKER)
    yield
    assert not os.path.exists(MARKER), "a template ran a command on the manager"


@pytest.mark.parametrize("expression", [e for _, e in ESCAPES], ids=[i for i, _ in ESCAPES])
@pytest.mark.parametrize("way", ["evaluate", "when", "render", "template file"])
def test_escapes_and_bombs_are_refused_quickly(expression, way):
    started = time.process_time()  # CPU time: other work on the machine cannot inflate it
    with pytest.raises(TemplateError):
        if way == "evaluate":
            evaluate(expression, {})
        elif way == "when":
            holds((expression,), {})
        elif way == "render":
            render({"args": [f"x {{{{ {expression} }}}} y"]}, {})
        else:
            render_file(f"line\n{{{{ {expression} }}}}\n", {})
    assert time.process_time() - started < 5


# (id, expression, variables, value): what a playbook may still do
ALLOWED = [
    ("arithmetic", "2 ** 10 + 1", {}, 1025),
    ("bounded repetition", "'ab' * 3", {}, "ababab"),
    ("range", "range(3)|list", {}, [0, 1, 2]),
    ("percent format", "'%05d' % 42", {}, "00042"),
    ("str format", "'{:>4}'.format(7)", {}, "   7"),
    ("center", "'ab'|center(6)", {}, "  ab  "),
    ("variables and filters", "items|map('upper')|join(',')", {"items": ["a", "b"]}, "A,B"),
    ("dict access", "facts.os", {"facts": {"os": "debian"}}, "debian"),
    ("string methods", "name.startswith('web')", {"name": "web1"}, True),
]


@pytest.mark.parametrize("expression, variables, value", [c[1:] for c in ALLOWED], ids=[c[0] for c in ALLOWED])
def test_ordinary_expressions_still_work(expression, variables, value):
    assert evaluate(expression, variables) == value


def test_a_template_that_loops_too_long_is_stopped():
    started = time.process_time()
    with pytest.raises(TemplateError, match="took more than"):
        render_file("{% for a in range(100000) %}{% for b in range(100000) %}{% endfor %}{% endfor %}", {})
    assert time.process_time() - started < 30


def test_values_from_hosts_are_not_templated_again():
    registered = {"out": {"stdout": "{{ lipsum.__globals__ }}"}}
    assert render("{{ out.stdout }}", registered) == "{{ lipsum.__globals__ }}"
    assert render("got: {{ out.stdout }}", registered) == "got: {{ lipsum.__globals__ }}"


def test_the_haproxy_template_renders_in_the_sandbox():
    text = render_haproxy_config([{"name": "http", "bind_port": 80, "routes": [
        {"host": "a.example", "path_prefix": "/api", "backend": "web"}], "default_backend": "web"}],
        [{"name": "web", "balance": "roundrobin", "health_path": None, "servers": []}])
    assert "use_backend web if { hdr(host) -i a.example } { path_beg /api }" in text
