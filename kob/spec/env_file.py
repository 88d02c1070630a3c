"""The shape of an env file (pure): what docker's --env-file reads, checked before any of it is used."""

from __future__ import annotations

import re

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
