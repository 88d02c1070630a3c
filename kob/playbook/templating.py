"""Jinja2 for playbooks (pure): values rendered with the run's variables, `when` expressions evaluated.

Everything renders in kob.jinja_sandbox's bounded immutable sandbox: a playbook cannot reach
Python internals or take the manager's memory. The sandbox here is set up as Ansible sets
up its own, so that files and values come out the same:

- trim_blocks (the newline after a block tag is dropped), lstrip_blocks off; a template file
  may ask otherwise (the template module's trim_blocks:/lstrip_blocks:);
- None renders as nothing inside text (``a{{ none }}b`` is "ab"); a value that is exactly one
  ``{{ expression }}`` keeps its type (a list stays a list, None stays None);
- in playbook values, backslashes in string constants inside ``{{ }}`` are kept as written, so
  ``regex_replace('(a)', '\\1')`` gets a backreference whatever the YAML quoting; template files
  and ``{% %}`` tags read Jinja's escapes as Jinja does (as in Ansible);
- an undefined variable is an error when used, but ``a.b.c | default(x)`` works when ``a`` or
  ``a.b`` is undefined; Ansible's filters and tests (kob.playbook.filters) are there.

Every failure is a kob.errors.TemplateError (re-exported here).
"""

from __future__ import annotations

import functools
import re
import secrets
from collections.abc import Iterator, Mapping, MappingView
from typing import Any

import jinja2
from jinja2 import nodes
from jinja2.parser import Parser

from kob.errors import TemplateError
from kob.jinja_sandbox import BoundedSandbox, evaluated
from kob.playbook.filters import FILTERS
from kob.playbook.jinja_tests import TESTS
from kob.playbook.lookups import LOOKUPS, lookup, query

_WHOLE = re.compile(r"\A\{\{\s*(.*?)\s*\}\}\Z", re.DOTALL)
LOOKUP_CALLS = ("lookup", "query", "q")
REFUSED_CALLS: dict[str, str] = {}
"""Functions refused when the playbook loads (and why); lookup() names are checked against LOOKUPS."""
_PLUGIN_FILTERS: dict[str, Any] = {}  # from filter_plugins/ (kob.playbook.filter_plugins)


class ChainedStrictUndefined(jinja2.ChainableUndefined, jinja2.StrictUndefined):
    """Fails when used (printed, compared, iterated), but ``.attr`` and ``[key]`` of it are undefined too."""


def _unrolled(value: Any) -> Any:
    """A generator, an iterator, a view or a range as a list (Ansible unrolls them: ``l | unique`` is a list)."""
    return list(value) if isinstance(value, (Iterator, MappingView, range)) else value


def _none_as_nothing(value: Any) -> Any:
    return "" if value is None else _unrolled(value)


class PlaybookSandbox(BoundedSandbox):
    """The bounded sandbox with Ansible's settings, filters and tests."""

    def __init__(self, trim_blocks: bool = True, lstrip_blocks: bool = False):
        super().__init__(undefined=ChainedStrictUndefined, trim_blocks=trim_blocks, lstrip_blocks=lstrip_blocks,
                         finalize=_none_as_nothing)
        self.filters.update(FILTERS)
        self.filters.update(_PLUGIN_FILTERS)
        self.tests.update(TESTS)
        self.globals.update(lookup=lookup, query=query, q=query)


_ENV = PlaybookSandbox()


def add_filters(filters: Mapping[str, Any]) -> None:
    """The user's own filters (filter_plugins/) in every playbook sandbox from now on; what they raise is a
    template error."""
    wrapped = {name: _as_template_error(name, function) for name, function in filters.items()}
    _PLUGIN_FILTERS.update(wrapped)
    _ENV.filters.update(wrapped)
    for cache in (_file_env, _template, _expression):
        cache.cache_clear()


def _as_template_error(name: str, function: Any) -> Any:
    @functools.wraps(function)
    def run(*args: Any, **kwargs: Any) -> Any:
        try:
            return function(*args, **kwargs)
        except jinja2.TemplateError:
            raise
        except Exception as error:  # noqa: BLE001 - the user's code: any failure is the template's error
            raise jinja2.TemplateError(f"filter {name}: {type(error).__name__}: {error}") from None

    return run
OMIT = "__omit_place_holder__" + secrets.token_hex(20)
"""The value of ``omit``: an argument (or list item) that renders to it is left out, as in Ansible."""


def drop_omitted(value: Any) -> Any:
    """``value`` without the mapping entries and list items that rendered to ``omit``."""
    if isinstance(value, dict):
        return {key: drop_omitted(item) for key, item in value.items() if item != OMIT}
    if isinstance(value, list):
        return [drop_omitted(item) for item in value if item != OMIT]
    return value


@functools.lru_cache(maxsize=8)
def _file_env(trim_blocks: bool, lstrip_blocks: bool) -> PlaybookSandbox:
    return PlaybookSandbox(trim_blocks, lstrip_blocks)


@functools.lru_cache(maxsize=4096)
def _template(text: str, trim_blocks: bool = True, lstrip_blocks: bool = False) -> jinja2.Template:
    return _file_env(trim_blocks, lstrip_blocks).from_string(text)


@functools.lru_cache(maxsize=4096)
def _expression(expression: str):
    return _ENV.compile_expression(expression, undefined_to_none=False)


class Variables(Mapping):
    """A task's variables on one host, as Ansible resolves them: a value the playbook gave (vars, vars_files,
    role defaults and vars, parameters) is templated when it is first used, so ``home: "{{ root }}/app"``
    follows ``root``; a value the hosts or the command line gave (facts, registered results, -e) is data,
    never templated. ``layers`` are (values, from the playbook?) pairs, lowest precedence first."""

    def __init__(self, layers: list[tuple[Mapping[str, Any], bool]]):
        self._values: dict[str, Any] = {}
        self._trusted: set[str] = set()
        for values, trusted in layers:
            self._values.update(values)
            (self._trusted.update if trusted else self._trusted.difference_update)(values.keys())
        self._resolved: dict[str, Any] = {}
        self._busy: set[str] = set()

    def child(self, extra: Mapping[str, Any]) -> Variables:
        """These variables with ``extra`` (data: a loop's item, a registered result) above them."""
        found = Variables([])
        found._values = {**self._values, **extra}
        found._trusted = self._trusted - extra.keys()
        return found

    def __getitem__(self, key: str) -> Any:
        if key in self._resolved:
            return self._resolved[key]
        if key not in self._values:
            return _ENV.globals[key]
        value = self._values[key]
        if key in self._trusted and _templated(value):
            if key in self._busy:
                raise TemplateError(f"the variable {key} is defined in terms of itself")
            self._busy.add(key)
            try:
                value = render(value, self)
            finally:
                self._busy.discard(key)
        self._resolved[key] = value
        return value

    def __contains__(self, key: object) -> bool:
        return key in self._values or key in _ENV.globals

    def __iter__(self):
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)


def _templated(value: Any) -> bool:
    if isinstance(value, str):
        return "{{" in value or "{%" in value
    if isinstance(value, list):
        return any(_templated(item) for item in value)
    if isinstance(value, dict):
        return any(_templated(item) for item in value.values())
    return False


def with_values(variables: Mapping[str, Any], extra: Mapping[str, Any]) -> Mapping[str, Any]:
    """``variables`` with ``extra`` (data, never templated) above them."""
    return variables.child(extra) if isinstance(variables, Variables) else {**variables, **extra}


def _lazy(variables: Mapping[str, Any]) -> Variables:
    return variables if isinstance(variables, Variables) else Variables([(variables, False)])


def _run_template(template: jinja2.Template, variables: Mapping[str, Any]) -> str:
    """Render with the variables looked up when used (Jinja's render would copy, so resolve, all of them)."""
    context = template.new_context(_lazy(variables), shared=True)
    return template.environment.concat(template.root_render_func(context))


def _run_expression(expression: str, variables: Mapping[str, Any]) -> Any:
    template = _expression(expression)._template
    context = template.new_context(_lazy(variables), shared=True)
    for _ in template.root_render_func(context):
        pass
    return context.vars["result"]


def render(value: Any, variables: Mapping[str, Any]) -> Any:
    """Strings rendered; lists and mappings rendered item by item; other values as they are."""
    if isinstance(value, str):
        return _render_text(value, variables)
    if isinstance(value, list):
        return [render(item, variables) for item in value]
    if isinstance(value, dict):
        return {key: render(item, variables) for key, item in value.items()}
    return value


def render_file(text: str, variables: Mapping[str, Any], trim_blocks: bool = True, lstrip_blocks: bool = False) -> str:
    """A template file's text rendered (always a string), as Ansible's template module renders it."""
    try:
        return evaluated(lambda: _run_template(_template(text, trim_blocks, lstrip_blocks), variables))
    except jinja2.TemplateError as error:
        raise TemplateError(str(error)) from None


def holds(expressions: tuple[str, ...], variables: Mapping[str, Any]) -> bool:
    """True when every expression is true (`when`, `changed_when`, `failed_when`)."""
    return all(bool(evaluate(expression, variables)) for expression in expressions)


def evaluate(expression: str, variables: Mapping[str, Any]) -> Any:
    try:
        value = evaluated(lambda: _unrolled(_run_expression(expression, variables)))
        _fail_on_undefined(value)
        return value
    except jinja2.TemplateError as error:
        raise TemplateError(f"{expression!r}: {error}") from None


def check_syntax(text: str) -> str | None:
    """Why ``text`` cannot be a playbook template (syntax, an unknown filter or test, a refused call), or None."""
    try:
        tree = _ENV.parse(text)
        _ENV.compile(tree)
    except jinja2.TemplateSyntaxError as error:
        return error.message
    return _refused(tree)


def check_expression_syntax(expression: str) -> str | None:
    """Why ``expression`` cannot be a condition (as check_syntax says), or None."""
    try:
        tree = Parser(_ENV, expression, state="variable").parse_expression()
        _ENV.compile_expression(expression)
    except jinja2.TemplateSyntaxError as error:
        return error.message
    return _refused(tree)


def _refused(tree: nodes.Node) -> str | None:
    for call in [tree, *tree.find_all(nodes.Call)]:
        if not isinstance(call, nodes.Call) or not isinstance(call.node, nodes.Name):
            continue
        if call.node.name in REFUSED_CALLS:
            return REFUSED_CALLS[call.node.name]
        named = call.args[0] if call.node.name in LOOKUP_CALLS and call.args else None
        if isinstance(named, nodes.Const) and named.value not in LOOKUPS:
            return (f"{call.node.name}({str(named.value)[:40]!r}) is not supported by kob run; it has the lookups "
                    f"{', '.join(LOOKUPS)} (for others, put the value in vars:, vars_files: or -e)")
    return None


def escape_backslashes(text: str) -> str:
    """Backslashes doubled in the string constants inside ``{{ }}``, so that Jinja keeps them as written."""
    if "\\" not in text or "{{" not in text:
        return text
    pieces, inside = [], False
    for _, kind, value in _ENV.lex(_ENV.preprocess(text)):
        inside = True if kind == "variable_begin" else False if kind == "variable_end" else inside
        pieces.append(value.replace("\\", "\\\\") if inside and kind == "string" else value)
    return "".join(pieces)


def _render_text(text: str, variables: Mapping[str, Any]) -> Any:
    if "{{" not in text and "{%" not in text:
        return text
    try:
        source = escape_backslashes(text)
    except jinja2.TemplateSyntaxError as error:
        raise TemplateError(f"{text!r}: {error}") from None
    whole = _WHOLE.match(source)
    if whole and "{{" not in whole[1]:
        return evaluate(whole[1], variables)
    try:
        return evaluated(lambda: _run_template(_template(source), variables))
    except jinja2.TemplateError as error:
        raise TemplateError(f"{text!r}: {error}") from None


def _fail_on_undefined(value: Any) -> None:
    """Raise the error an undefined (or refused) value carries, also inside a list or mapping it is in."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, jinja2.Undefined):
            item._fail_with_undefined_error()
        elif isinstance(item, (list, tuple)):
            stack.extend(item)
        elif isinstance(item, dict):
            stack.extend(item.values())
