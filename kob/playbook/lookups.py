"""Ansible's lookups file, env, template and vars, as lookup(), query() and q() in the playbook sandbox.

They run on the manager, as Ansible's do, and read only what the playbook may read anyway: files
beside the playbook or in the task's role (the playbook is trusted; a file is at most MAX_SIZE
characters), the manager's environment, and the task's own variables. ``lookup`` joins several
values with commas unless ``wantlist=True``; ``query``/``q`` always give a list. Any other
lookup name is refused when the playbook loads (kob.playbook.templating), or here when it is
only known at run time.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import jinja2
from jinja2.exceptions import FilterArgumentError

from kob.jinja_sandbox import MAX_SIZE

LOOKUPS = ("file", "env", "template", "vars")


@jinja2.pass_context
def lookup(context: jinja2.runtime.Context, name: str, *terms: Any, wantlist: bool = False, **options: Any) -> Any:
    values = _run(context, name, terms, options)
    if wantlist:
        return values
    if len(values) == 1:
        return values[0]
    return ",".join(str(v) for v in values)


@jinja2.pass_context
def query(context: jinja2.runtime.Context, name: str, *terms: Any, **options: Any) -> list:
    return _run(context, name, terms, options)


def _run(context: jinja2.runtime.Context, name: str, terms: tuple, options: dict[str, Any]) -> list:
    if name not in LOOKUPS:
        raise FilterArgumentError(f"lookup {str(name)[:40]!r} is not supported by kob run; it has "
                                  f"{', '.join(LOOKUPS)}")
    words = [w for term in terms for w in (term if isinstance(term, list) else [term])]
    return {"file": _file, "env": _env, "template": _template, "vars": _vars}[name](context, words, options)


def _options(options: dict[str, Any], allowed: tuple[str, ...], name: str) -> dict[str, Any]:
    unknown = sorted(set(options) - set(allowed))
    if unknown:
        raise FilterArgumentError(f"lookup {name!r}: unknown option {unknown[0]!r} (it takes {', '.join(allowed)})")
    return options


def local_file(context: jinja2.runtime.Context, name: str, folder: str) -> Path:
    """A manager file as Ansible's lookups find it: in the task's role (folder/, then the role), beside the
    playbook (folder/, then the playbook's folder), or an absolute path."""
    written = Path(str(name))
    roots = []
    role_path = context.resolve_or_missing("role_path")
    if isinstance(role_path, str):
        roots += [Path(role_path) / folder, Path(role_path)]
    playbook_dir = context.resolve_or_missing("playbook_dir")
    if isinstance(playbook_dir, str):
        roots += [Path(playbook_dir) / folder, Path(playbook_dir)]
    candidates = [written] if written.is_absolute() else [root / written for root in roots]
    for candidate in candidates:
        if candidate.is_file():
            if candidate.stat().st_size > MAX_SIZE:
                raise FilterArgumentError(f"{candidate} is larger than {MAX_SIZE} bytes")
            return candidate
    raise FilterArgumentError(f"could not find {name!r} (looked in {', '.join(str(c) for c in candidates)})")


def _file(context, words: list, options: dict[str, Any]) -> list:
    options = _options(options, ("rstrip", "lstrip"), "file")
    found = []
    for word in words:
        text = local_file(context, word, "files").read_text(errors="replace")
        text = text.rstrip() if options.get("rstrip", True) else text
        found.append(text.lstrip() if options.get("lstrip", False) else text)
    return found


def _env(context, words: list, options: dict[str, Any]) -> list:
    default = _options(options, ("default",), "env").get("default", "")
    return [os.environ.get(str(word), default) for word in words]


def _template(context, words: list, options: dict[str, Any]) -> list:
    from kob.playbook.templating import (  # templating imports this module
        render_file,
        with_values,
    )

    options = _options(options, ("template_vars",), "template")
    variables = with_values(context.parent, dict(options.get("template_vars") or {}))
    return [render_file(local_file(context, word, "templates").read_text(errors="replace"), variables)
            for word in words]


def _vars(context, words: list, options: dict[str, Any]) -> list:
    missing = object()
    default = _options(options, ("default",), "vars").get("default", missing)
    found = []
    for word in words:
        value = context.resolve_or_missing(str(word))
        if value is jinja2.utils.missing or isinstance(value, jinja2.Undefined):
            if default is missing:
                raise jinja2.UndefinedError(f"No variable named {str(word)[:80]!r} was found")
            value = default
        found.append(value)
    return found
