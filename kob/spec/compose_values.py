"""Reading Compose values (pure): ${VAR} interpolation, durations, byte sizes, and the notes an import prints.

Interpolation is resolved, the way `docker compose config` does, from the environment `kob import` runs
in over the .env file beside the Compose file (kob.spec.compose.project_environment), because an
inventory is plain YAML that kob never interpolates:

    $$              a literal $
    $VAR ${VAR}     VAR's value; unset: empty, with a note
    ${VAR:-text}    text when VAR is unset or empty      ${VAR-text}  when unset
    ${VAR:+text}    text when VAR is set and not empty   ${VAR+text}  when set
    ${VAR:?why}     refused in one line when unset or empty   ${VAR?why}  when unset

Where the value becomes part of a shell script (a CMD-SHELL health check), what is substituted is
quoted with shlex.quote unless it is made of characters a shell leaves alone, so that no text from
the environment ever runs as shell code; a note says so.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from typing import Mapping

from kob.spec.yaml_source import Node


@dataclass(frozen=True)
class Note:
    """Something of the Compose file kob does not take as written: ``file:line: path: message``."""

    file: str
    line: int
    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.path}: {self.message}" if self.path else \
            f"{self.file}:{self.line}: {self.message}"


_REFERENCE = re.compile(r"\$(?:(?P<dollar>\$)|\{(?P<braced>[^}]*)\}|(?P<named>[A-Za-z_][A-Za-z0-9_]*))")
_BRACED = re.compile(r"(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:-|-|:\+|\+|:\?|\?)(?P<arg>.*))?", re.DOTALL)


class Values:
    """Reads scalars of one Compose file, interpolated, collecting notes."""

    def __init__(self, environ: Mapping[str, str], notes: list[Note]):
        self.environ, self.notes = environ, notes

    def note(self, node: Node, message: str) -> None:
        self.notes.append(Note(node.file, node.line, node.path, message))

    def text(self, node: Node, *, expected: str = "a string", quote_for_shell: bool = False, allow_empty: bool = True) -> str:
        """The scalar's text with ${...} resolved; a mapping or list where a scalar belongs is an error."""
        if node.kind != "scalar":
            if node.kind == "null" and allow_empty:
                return ""
            raise node.type_error(expected)
        written = node.raw or ""
        if "$" not in written:
            return written
        quoted: list[str] = []
        resolved = _REFERENCE.sub(lambda match: self._substitute(node, match, quote_for_shell, quoted), written)
        if quoted:
            self.note(node, f"{', '.join(quoted)} substituted quoted for the shell (shlex.quote), so that their "
                            "values cannot run as shell code; check the check still does what it should")
        return resolved

    def _substitute(self, node: Node, match: re.Match[str], quote_for_shell: bool, quoted: list[str]) -> str:
        if match["dollar"]:
            return "$"
        name, op, arg = match["named"], None, ""
        if name is None:
            parts = _BRACED.fullmatch(match["braced"])
            if parts is None or "$" in (parts["arg"] or ""):
                raise node.error(f"cannot read {match[0]!r}: write ${{NAME}}, ${{NAME:-default}}, ${{NAME:?message}} "
                                 "(nested variables are not supported), or $$ for a literal $")
            name, op, arg = parts["name"], parts["op"], parts["arg"] or ""
        value = self.environ.get(name)
        empty = not value
        if op in (":?", "?") and (value is None or (op == ":?" and empty)):
            raise node.error(f"${{{name}}} is {'unset' if value is None else 'empty'} in kob's environment: "
                             f"{arg or 'the Compose file requires it'}; set it and import again")
        if op in (":-", "-"):
            value = arg if value is None or (op == ":-" and empty) else value
        elif op in (":+", "+"):
            value = arg if value is not None and not (op == ":+" and empty) else ""
        elif value is None:
            self.note(node, f"${{{name}}} is not set in kob's environment; it was replaced by an empty string, as "
                            "Compose does (set it and import again, or write the value)")
            value = ""
        if quote_for_shell and shlex.quote(value) != value:
            quoted.append(f"${{{name}}}")
            return shlex.quote(value)
        return value


_DURATION = re.compile(r"(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:ns|us|µs|ms|s|m|h)")
_DURATION_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}
_DURATION_PARTS = re.compile(r"((?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+))(ns|us|µs|ms|s|m|h)")


def compose_duration(node: Node, text: str) -> float:
    """Seconds of a Compose (Go) duration such as 30s, 1m30s, 1.5s or 500ms."""
    if not text or not re.fullmatch(f"(?:{_DURATION.pattern})+", text):
        raise node.error(f"should be a duration such as 30s, 1m30s or 500ms (Compose's syntax), got {text!r}")
    seconds = sum(float(number) * _DURATION_UNITS[unit] for number, unit in _DURATION_PARTS.findall(text))
    if seconds > 30 * 86400:
        raise node.error(f"{text} is more than 30 days, the longest duration kob reads")
    return seconds


def kob_duration(seconds: float) -> str:
    """Seconds as kob writes a duration: 30s, 1.5s or 250ms (never below a millisecond unless 0)."""
    milliseconds = round(seconds * 1000)
    if milliseconds % 1000 == 0:
        return f"{milliseconds // 1000}s"
    return f"{milliseconds}ms"


_SIZE = re.compile(r"([0-9]+(?:\.[0-9]+)?)\s*([kmgt]?)b?", re.IGNORECASE)
_SIZE_UNITS = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40}


def compose_bytes(node: Node, text: str) -> int:
    """Bytes of a Compose size such as 512m, 512M, 1gb, 1.5g or 2048 (1024-based, as Docker reads them)."""
    match = _SIZE.fullmatch(text.strip())
    if not match:
        raise node.error(f"should be a size such as 512m or 1g, got {text!r}")
    size = int(float(match[1]) * _SIZE_UNITS[match[2].lower()])
    if size > 1 << 40:
        raise node.error(f"{text} is more than 1 TiB; no host has that much")
    return size


def kob_size(size: int) -> str:
    """Bytes as kob's memory: the largest of g, m, k that divides them, else bytes."""
    for unit, factor in (("g", 1 << 30), ("m", 1 << 20), ("k", 1 << 10)):
        if size % factor == 0:
            return f"{size // factor}{unit}"
    return str(size)
