"""Jinja2 for playbooks (pure): values rendered with the run's variables, `when` expressions evaluated.

Undefined variables are errors (StrictUndefined), as a typo should be; every failure is a
kob.errors.TemplateError (re-exported here). A value that is exactly one ``{{ expression }}``
keeps its type (a list stays a list), as in Ansible.
"""

from __future__ import annotations

import re
from typing import Any, Mapping

import jinja2

from kob.errors import TemplateError

_ENV = jinja2.Environment(undefined=jinja2.StrictUndefined, keep_trailing_newline=True)
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
        return _ENV.from_string(text).render(**variables)
    except jinja2.TemplateError as error:
        raise TemplateError(str(error)) from None


def holds(expressions: tuple[str, ...], variables: Mapping[str, Any]) -> bool:
    """True when every expression is true (`when`, `changed_when`, `failed_when`)."""
    return all(bool(evaluate(expression, variables)) for expression in expressions)


def evaluate(expression: str, variables: Mapping[str, Any]) -> Any:
    try:
        value = _ENV.compile_expression(expression, undefined_to_none=False)(**variables)
        if isinstance(value, jinja2.Undefined):
            value._fail_with_undefined_error()
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
        return _ENV.from_string(text).render(**variables)
    except jinja2.TemplateError as error:
        raise TemplateError(f"{text!r}: {error}") from None
