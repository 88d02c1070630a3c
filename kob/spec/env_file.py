"""Env files: their shape (pure), and reading one on the manager into Secrets that are never shown.

An env file is what docker's --env-file reads; its bytes only ever reach docker on stdin.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

from kob.errors import KobError

MAX_ENV_FILE = 256 << 10
_ENV_LINE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(=|$)")


def bad_env_line(data: bytes) -> int | None:
    """The number of the first line of an env file that is not in docker's --env-file shape, if any.

    Allowed: NAME=value and NAME lines, # comments, blank lines; all UTF-8 (line 1 when it is not).
    """
    try:
        lines = data.decode("utf-8-sig").split("\n")  # docker splits on \n only, and drops a leading BOM
    except UnicodeDecodeError:
        return 1
    for number, line in enumerate(lines, 1):
        line = line.lstrip()
        if "\0" in line or (line.strip() and not line.startswith("#") and not _ENV_LINE.match(line)):
            return number
    return None


@dataclass(frozen=True)
class Secrets:
    """An env file's bytes, read on the manager; only ever sent to docker on stdin."""

    content: bytes = b""

    @property
    def digest(self) -> str:
        return hashlib.sha256(self.content).hexdigest() if self.content else ""

    def __repr__(self) -> str:  # never in logs or tracebacks
        return f"Secrets(<{len(self.content)} bytes>)"


def read_env_file(path: Path | None, owner: str) -> Secrets:
    """The env file at ``path`` (none: empty), checked; errors name ``owner`` and the line, never its text."""
    if path is None:
        return Secrets()
    try:
        with path.open("rb") as file:
            data = file.read(MAX_ENV_FILE + 1)
    except OSError as error:
        raise KobError(f"{owner}: cannot read env_file {path}: {error.strerror}") from None
    if len(data) > MAX_ENV_FILE:
        raise KobError(f"{owner}: env_file {path} is larger than {MAX_ENV_FILE >> 10} KiB; is it the right file?")
    bad = bad_env_line(data)
    if bad is not None:
        raise KobError(f"{owner}: env_file {path} line {bad} is not NAME=value (the line is not shown: it may "
                       "hold a secret)")
    return Secrets(data)
