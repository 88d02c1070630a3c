"""Jinja2 for playbooks (pure): values rendered with the run's variables, `when` expressions evaluated.

Everything renders in kob.jinja_sandbox's bounded immutable sandbox: a playbook cannot reach
Python internals or take the manager's memory. Undefined variables are errors
(StrictUndefined), as a typo should be; every failure is a kob.errors.TemplateError
(re-exported here). A value that is exactly one ``{{ expression }}``
keeps its type (a list stays a list), as in Ansible.
"""

from __future__ import annotations

import re
from typing import Any, Mapping

import jinja2

from kob.errors import TemplateError
from kob.jinja_sandbox import BoundedSandbox, evaluated

_ENV = BoundedSandbox()
_WHOLE = re.compile(r"^\{\{\s*(.*?)\s*\}\}$", re.S)


def render(value: Any, variables: Mapping[str, Any]) -> Any:
    """Strings rendered; lists and mappings rendered item by item; other values as they are."""
    if isinstance(value, str):
        return _render_text(value, variables)
    if isinstance(value, list):
        return [render(item, variables) for item in value]
    if isinstance(value, dict):
        return {key: render(item, variables) for key, item in value.items()}
    return value


def render_file(text: str, variables: Mapping[str, Any]) -> str:
    """A template file's text rendered (always a string)."""
    try:
        return evaluated(lambda: _ENV.from_string(text).render(**variables))
    except jinja2.TemplateError as error:
        raise TemplateError(str(error)) from None


def holds(expressions: tuple[str, ...], variables: Mapping[str, Any]) -> bool:
    """True when every expression is true (`when`, `changed_when`, `failed_when`)."""
    return all(bool(evaluate(expression, variables)) for expression in expressions)


def evaluate(expression: str, variables: Mapping[str, Any]) -> Any:
    try:
        value = evaluated(lambda: _ENV.compile_expression(expression, undefined_to_none=False)(**variables))
        _fail_on_undefined(value)
        return value
    except jinja2.TemplateError as error:
        raise TemplateError(f"{expression!r}: {error}") from None


def _render_text(text: str, variables: Mapping[str, Any]) -> Any:
    if "{{" not in text and "{%" not in text:
        return text
    whole = _WHOLE.match(text)
    if whole and "{{" not in whole[1]:
        return evaluate(whole[1], variables)
    try:
        return evaluated(lambda: _ENV.from_string(text).render(**variables))
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
