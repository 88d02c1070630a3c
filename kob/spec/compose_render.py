"""Writing the imported inventory's YAML (pure): entries with comments, every string quoted where YAML
or kob's reader could take it for something else."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import yaml

from kob.errors import one_line

COMMENT_COLUMN = 40
_PLAIN = re.compile(r"[A-Za-z0-9_./+-][A-Za-z0-9_./:@%+=-]*(?<!:)")


@dataclass(frozen=True)
class Entry:
    """``key: value  # comment``; a value of Entries is a block mapping, a tuple of scalars a flow list.

    ``off`` writes the entry commented out (a value kob cannot use yet, shown for the user to finish)."""

    key: str
    value: Any
    comment: str = ""
    off: bool = False


def scalar(value: Any) -> str:
    """One YAML scalar that kob reads back as exactly ``value``."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return f"{value:g}" if isinstance(value, float) else str(value)
    text = str(value)
    if _PLAIN.fullmatch(text) and _reads_as(text) == text:
        return text
    return yaml.safe_dump(text, default_style='"', allow_unicode=True, width=1 << 20).rstrip("\n")


def _reads_as(text: str) -> object:
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError:
        return None


def flow(values: tuple[Any, ...]) -> str:
    """A flow list of scalars, or of flat mappings (lb routes)."""
    def one(value: Any) -> str:
        if isinstance(value, dict):
            return "{" + ", ".join(f"{key}: {scalar(item)}" for key, item in value.items()) + "}"
        return scalar(value)
    return "[" + ", ".join(one(v) for v in values) + "]"


def render(entries: list[Entry] | tuple[Entry, ...], indent: int = 0, off: bool = False) -> list[str]:
    """The entries as YAML lines, ``indent`` levels of two spaces deep."""
    lines = []
    for entry in entries:
        hidden = off or entry.off
        head = "  " * indent + ("# " if hidden else "") + entry.key + ":"
        if isinstance(entry.value, tuple) and entry.value and isinstance(entry.value[0], Entry):
            lines.append(commented(head, entry.comment))
            lines += render(entry.value, indent + 1, hidden)
        else:
            value = flow(entry.value) if isinstance(entry.value, tuple) else scalar(entry.value)
            lines.append(commented(f"{head} {value}", entry.comment))
    return lines


def commented(line: str, comment: str) -> str:
    """``line`` with ``comment`` after it, lined up; the comment on one line whatever it holds."""
    if not comment:
        return line
    return f"{line.ljust(COMMENT_COLUMN - 2)}  # {one_line(comment)}"
