"""What a `kob run` is asked, checked before anything runs: the plays against the inventory, and -e values."""

from __future__ import annotations

import json
import shlex
from typing import Any

from kob.errors import KobError, PatternError
from kob.playbook.loader import Play, load_playbook, walk_tasks
from kob.playbook.values import valid_variable_name
from kob.playbook.modules import IMPLEMENTED
from kob.spec.inventory import Inventory
from kob.spec.patterns import select_hosts


def checked_plays(inventory: Inventory, playbook: str, limit: str | None) -> tuple[Play, ...]:
    """The playbook's plays; every host pattern must match and every module be one kob runs."""
    plays = load_playbook(playbook)
    for number, play in enumerate(plays, 1):
        try:
            select_hosts(inventory, play.hosts)
        except PatternError as error:
            raise KobError(f"{playbook}:{play.line}: play {number} hosts: {error}") from None
        for task in walk_tasks((*play.pre_tasks, *play.tasks, *play.post_tasks, *play.handlers)):
            if task.module not in IMPLEMENTED and task.module not in ("meta", "include_tasks", "include_role", "include_vars"):
                raise KobError(f"{task.file}:{task.line}: module {task.module} is not available in kob run yet "
                               f"(available: {', '.join(IMPLEMENTED)})")
    if limit is not None:
        if not limit.strip():
            raise KobError("--limit '': names no host; leave --limit out to run on every host of the plays")
        select_hosts(inventory, limit)
    return plays


def extra_vars(texts: tuple[str, ...]) -> dict[str, Any]:
    """-e values: key=value words, or one JSON mapping."""
    found: dict[str, Any] = {}
    for number, text in enumerate(texts, 1):
        if text.lstrip().startswith("{"):
            try:
                value = json.loads(text)
            except json.JSONDecodeError as error:
                raise KobError(f"-e #{number} {text[:80]!r}: not a JSON mapping: {error}") from None
            except RecursionError:
                raise KobError(f"-e #{number}: the JSON nests too deeply") from None
            if not isinstance(value, dict):
                raise KobError(f"-e #{number} {text[:80]!r}: not a JSON mapping")
            bad = next((key for key in value if not valid_variable_name(key)), None)
            if bad is not None:
                raise KobError(f"-e #{number}: {bad[:80]!r} is not a variable name (letters, digits and _)")
            found.update(value)
            continue
        try:
            words = shlex.split(text)
        except ValueError as error:  # an unclosed quote
            raise KobError(f"-e #{number} {text[:80]!r}: {error}; write key=value (or a JSON mapping)") from None
        for word in words:
            key, sep, value = word.partition("=")
            if not sep or not valid_variable_name(key):
                raise KobError(f"-e #{number} {word[:80]!r}: write key=value (or a JSON mapping)")
            found[key] = value
    return found
