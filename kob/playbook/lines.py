"""lineinfile's edit (pure): a line present once (replacing what a regexp matched) or absent."""

from __future__ import annotations

import re


def edit_lines(text: str, line: str | None, regexp: str | None, state: str) -> str:
    """The file's new text; equal to ``text`` when nothing needs changing."""
    lines = text.splitlines()
    matches = (lambda candidate: re.search(regexp, candidate) is not None) if regexp else (lambda c: c == line)
    if state == "absent":
        kept = [candidate for candidate in lines if not matches(candidate)]
        return text if len(kept) == len(lines) else _joined(kept)
    found = [i for i, candidate in enumerate(lines) if matches(candidate)]
    if found:
        if lines[found[-1]] == line:
            return text
        lines[found[-1]] = line
        return _joined(lines)
    if line in lines:
        return text
    return _joined([*lines, line])


def _joined(lines: list[str]) -> str:
    return "\n".join(lines) + "\n" if lines else ""
