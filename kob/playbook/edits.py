"""The text edits of replace, blockinfile and sysctl (pure): the file's new text from its old one.

Each returns the text unchanged when nothing needs changing, so equality says ok or changed.
"""

from __future__ import annotations

import re

BLOCK_MARKER = "# {mark} ANSIBLE MANAGED BLOCK"


def replace_text(text: str, regexp: str, replacement: str, after: str | None = None,
                 before: str | None = None) -> tuple[str | None, int]:
    """Every match of ``regexp`` (multi-line) replaced, within the part after ``after`` and before ``before``
    when given; the new text and the number of replacements (None, 0 when after/before match nothing)."""
    start, end = 0, len(text)
    if after or before:
        pattern = f"{after or ''}(?P<subsection>.*{'?' if after and before else ''}){before or ''}"
        found = re.search(pattern, text, re.DOTALL)
        if found is None:
            return None, 0
        start, end = found.start("subsection"), found.end("subsection")
    section, count = re.subn(re.compile(regexp, re.MULTILINE), replacement, text[start:end])
    return text[:start] + section + text[end:], count


def block_text(text: str | None, block: str, marker: str = BLOCK_MARKER, begin: str = "BEGIN", end: str = "END",
               insertafter: str | None = None, insertbefore: str | None = None, present: bool = True) -> str:
    """The block between its two marker lines: put in place of the old one, else after the last line matching
    insertafter (EOF: at the end, the default) or before the last one matching insertbefore (BOF: at the start);
    taken out when absent or empty."""
    first, last = marker.replace("{mark}", begin), marker.replace("{mark}", end)
    lines = (text or "").splitlines()
    wanted = [first, *block.splitlines(), last] if present and block else []
    at_first = [i for i, line in enumerate(lines) if line == first]
    at_last = [i for i, line in enumerate(lines) if line == last]
    if at_first and at_last:
        low, high = sorted((at_first[-1], at_last[-1]))
        del lines[low:high + 1]
        place = low
    else:
        place = _insert_place(lines, insertafter, insertbefore)
    lines[place:place] = wanted
    if not lines:
        return ""
    return "\n".join(lines) + ("\n" if not text or text.endswith("\n") else "")


def _insert_place(lines: list[str], insertafter: str | None, insertbefore: str | None) -> int:
    if insertbefore == "BOF":
        return 0
    if insertbefore:
        found = [i for i, line in enumerate(lines) if re.search(insertbefore, line)]
        return found[-1] if found else len(lines)
    if insertafter and insertafter != "EOF":
        found = [i for i, line in enumerate(lines) if re.search(insertafter, line)]
        return found[-1] + 1 if found else len(lines)
    return len(lines)


def sysctl_values(text: str) -> dict[str, str]:
    """key -> value of a sysctl file (its first setting of each key, spaces around = ignored)."""
    found: dict[str, str] = {}
    for line in text.splitlines():
        key, value = _setting(line)
        if key is not None:
            found.setdefault(key, value)
    return found


def sysctl_text(text: str, name: str, value: str | None) -> str:
    """The file with ``name`` set to ``value`` (None: taken out), written as key=value like Ansible's sysctl
    writes every setting of the file; comments and blank lines stay."""
    lines, seen = [], set()
    for line in text.splitlines():
        key, current = _setting(line)
        if key is None:
            lines.append(line)
        elif key not in seen:
            seen.add(key)
            if key != name:
                lines.append(f"{key}={current}")
            elif value is not None:
                lines.append(f"{key}={value}")
    if name not in seen and value is not None:
        lines.append(f"{name}={value}")
    return "".join(line + "\n" for line in lines)


def _setting(line: str) -> tuple[str | None, str]:
    stripped = line.strip()
    if not stripped or stripped.startswith(("#", ";")) or "=" not in stripped:
        return None, ""
    key, value = stripped.split("=", 1)
    return key.strip(), value.strip()


def sysctl_value(value: str) -> str:
    """A value as sysctl compares it: words separated by one space (sysctl -n prints tabs between them)."""
    return " ".join(str(value).split())
