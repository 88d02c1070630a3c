"""lineinfile's edit (pure), in Ansible's semantics: a line present once (replacing what regexp or
search_string matched, else put where insertafter or insertbefore say) or absent.

Lines keep their endings while they are matched (as Ansible reads them); a line written gets a newline.
Where the line goes when nothing matched: after the last line insertafter matches (the first with firstmatch),
before the last line insertbefore matches, at the start for BOF, at the end for EOF or when the insert
pattern matches nothing. A line already there exactly is left where it is.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class LineWish:
    line: str | None
    regexp: str | None = None
    state: str = "present"
    insertafter: str | None = None
    insertbefore: str | None = None
    firstmatch: bool = False
    search_string: str | None = None
    backrefs: bool = False


def edit_lines(text: str, line: str | None, regexp: str | None, state: str, **more) -> str:
    """The file's new text; equal to ``text`` when nothing needs changing (``more``: LineWish's other fields).
    ``line`` is given with state present (the lineinfile module fails without it, as Ansible's does)."""
    wish = LineWish(line, regexp, state, **more)
    lines = split_lines(text)
    if wish.state == "absent":
        kept = [candidate for candidate in lines if not _matches(wish, candidate)]
        return text if len(kept) == len(lines) else "".join(kept)
    return "".join(_present(wish, lines))


def split_lines(text: str) -> list[str]:
    """The lines of ``text`` with their endings, split at newlines only (as a file's readlines())."""
    return [part for part in re.split(r"(?<=\n)", text) if part]


def _matches(wish: LineWish, candidate: str) -> bool:
    if wish.regexp is not None:
        return re.search(wish.regexp, candidate) is not None
    if wish.search_string is not None:
        return wish.search_string in candidate
    return candidate.rstrip("\r\n") == wish.line


def _present(wish: LineWish, lines: list[str]) -> list[str]:
    line = str(wish.line)
    found, match = _searched(wish, lines)
    insert_at = -1
    if found == -1:
        found, insert_at = _placed(wish, lines)
    if found != -1:
        new = match.expand(line) if wish.backrefs and isinstance(match, re.Match) else line
        lines[found] = new if new.endswith("\n") else new + "\n"
        return lines
    if wish.backrefs:  # nothing to fill the backreferences from: left as it is
        return lines
    after, before = _insert_patterns(wish)
    if "BOF" in (after, before):
        return [line + "\n", *lines]
    if after == "EOF" or insert_at == -1:
        if lines and not lines[-1].endswith(("\n", "\r")):
            lines.append("\n")
        return [*lines, line + "\n"]
    if after:
        neighbour = lines[insert_at] if insert_at < len(lines) else lines[insert_at - 1]
        if neighbour.rstrip("\r\n") == line:
            return lines
    lines.insert(insert_at, line + "\n")
    return lines


def _searched(wish: LineWish, lines: list[str]) -> tuple[int, re.Match | bool | None]:
    """The index of the last (first with firstmatch) line regexp or search_string matches, and the match."""
    found, match = -1, None
    if wish.regexp is None and wish.search_string is None:
        return found, match
    for number, candidate in enumerate(lines):
        hit = (re.search(wish.regexp, candidate) if wish.regexp is not None
               else wish.search_string in candidate)  # type: ignore[operator]
        if hit:
            found, match = number, hit
            if wish.firstmatch:
                break
    return found, match


def _placed(wish: LineWish, lines: list[str]) -> tuple[int, int]:
    """When nothing was matched: (the index of the line if it is already there exactly, where to insert it)."""
    after, before = _insert_patterns(wish)
    pattern = after if after not in (None, "BOF", "EOF") else before if before not in (None, "BOF") else None
    found, insert_at = -1, -1
    for number, candidate in enumerate(lines):
        if candidate.rstrip("\r\n") == wish.line:
            found = number
        elif pattern is not None and (after or before) and re.search(pattern, candidate):
            insert_at = number + 1 if after else number
            if wish.firstmatch:
                break
    return found, insert_at


def _insert_patterns(wish: LineWish) -> tuple[str | None, str | None]:
    """insertafter and insertbefore, insertafter being EOF when neither is given."""
    if wish.insertafter is None and wish.insertbefore is None:
        return "EOF", None
    return wish.insertafter, wish.insertbefore
