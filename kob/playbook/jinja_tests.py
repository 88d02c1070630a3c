"""Ansible's tests (result, version, regex, set tests) and its regular-expression filters, which share their
bounded matching (pure). A regular expression is at most MAX_PATTERN characters and searches at most
MAX_SIZE characters; catastrophic backtracking is stopped by the sandbox's CPU budget."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from jinja2.exceptions import FilterArgumentError

from kob.jinja_sandbox import MAX_SIZE

MAX_PATTERN = 4096


# -- regular expressions ----------------------------------------------------------------------------


def _regex(pattern: Any, ignorecase: bool = False, multiline: bool = False) -> re.Pattern[str]:
    text = str(pattern)
    if len(text) > MAX_PATTERN:
        raise FilterArgumentError(f"a regular expression of {len(text)} characters is longer than {MAX_PATTERN}")
    try:
        return re.compile(text, (re.IGNORECASE if ignorecase else 0) | (re.MULTILINE if multiline else 0))
    except re.error as error:
        raise FilterArgumentError(f"cannot read the regular expression {text[:80]!r}: {error}") from None


def bounded_subject(value: Any) -> str:
    text = "" if value is None else str(value)
    if len(text) > MAX_SIZE:
        raise FilterArgumentError(f"a regular expression searches at most {MAX_SIZE} characters, got {len(text)}")
    return text


def regex_replace(value: Any = "", pattern: str = "", replacement: str = "", ignorecase: bool = False,
                  multiline: bool = False, count: int = 0, mandatory_count: int = 0) -> str:
    compiled, text, grown = _regex(pattern, ignorecase, multiline), bounded_subject(value), [0]

    def expand(match: re.Match[str]) -> str:
        piece = match.expand(str(replacement))
        grown[0] += len(piece) - (match.end() - match.start())
        if len(text) + grown[0] > MAX_SIZE:
            raise FilterArgumentError(f"regex_replace makes more than {MAX_SIZE} characters")
        return piece

    output, done = compiled.subn(expand, text, count=int(count))
    if mandatory_count and mandatory_count != done:
        raise FilterArgumentError(f"regex_replace: {mandatory_count} substitutions expected, {done} made")
    return output


def regex_search(value: Any, regex: str, *groups: str, ignorecase: bool = False, multiline: bool = False) -> Any:
    """The match, or (given '\\1' or '\\g<name>' arguments) a list of those groups; None without a match."""
    wanted: list[int | str] = []
    for group in groups:
        named = re.fullmatch(r"\\g<(\S+)>", str(group))
        numbered = re.fullmatch(r"\\(\d+)", str(group))
        if not named and not numbered:
            raise FilterArgumentError(f"regex_search: unknown argument {str(group)[:40]!r}; give '\\1' or '\\g<name>'")
        wanted.append(named[1] if named else int(numbered[1]))  # type: ignore[index]
    match = _regex(regex, ignorecase, multiline).search(bounded_subject(value))
    if match is None:
        return None
    return [match.group(g) for g in wanted] if wanted else match.group()


def regex_findall(value: Any, regex: str, multiline: bool = False, ignorecase: bool = False) -> list:
    return _regex(regex, ignorecase, multiline).findall(bounded_subject(value))


def regex_escape(value: Any, re_type: str = "python") -> str:
    if re_type == "posix_basic":
        return re.sub(r"([].[^$*\\])", r"\\\1", str(value))
    if re_type != "python":
        raise FilterArgumentError(f"regex_escape: re_type should be python or posix_basic, got {re_type!r}")
    return re.escape(str(value))


def _regex_test(value: Any, pattern: str, ignorecase: bool = False, multiline: bool = False,
                match_type: str = "search") -> bool:
    if match_type not in ("search", "match", "fullmatch"):
        raise FilterArgumentError(f"match_type should be search, match or fullmatch, got {match_type!r}")
    return getattr(_regex(pattern, ignorecase, multiline), match_type)(bounded_subject(value)) is not None


# -- tests -------------------------------------------------------------------------------------------------------


def _result(value: Any, test: str) -> Mapping:
    if not isinstance(value, Mapping):
        raise FilterArgumentError(f"the {test!r} test takes a registered result (a dictionary), "
                                  f"got {type(value).__name__}")
    return value


def failed(value: Any) -> bool:
    return bool(_result(value, "failed").get("failed", False))


def succeeded(value: Any) -> bool:
    return not bool(_result(value, "succeeded").get("failed", False))


def changed(value: Any) -> bool:
    result = _result(value, "changed")
    if result.get("changed", False):
        return True
    return any(isinstance(r, Mapping) and r.get("changed", False) for r in result.get("results") or ())


def skipped(value: Any) -> bool:
    return bool(_result(value, "skipped").get("skipped", False))


def unreachable(value: Any) -> bool:
    return bool(_result(value, "unreachable").get("unreachable", False))


_OPERATORS: dict[str, Callable[[Any, Any], bool]] = {}
for _names, _compare in ((("==", "=", "eq"), lambda a, b: a == b), (("!=", "<>", "ne"), lambda a, b: a != b),
                         (("<", "lt"), lambda a, b: a < b), (("<=", "le"), lambda a, b: a <= b),
                         ((">", "gt"), lambda a, b: a > b), ((">=", "ge"), lambda a, b: a >= b)):
    _OPERATORS.update(dict.fromkeys(_names, _compare))


def version(value: Any, other: Any, operator: str = "eq", strict: bool = False,
            version_type: str | None = None) -> bool:
    """Ansible's version test: loose comparison (1.10 > 1.9, 1.0rc1 > 1.0), strict or semver when asked."""
    kind = version_type or ("strict" if strict else "loose")
    readers = {"loose": _loose, "strict": _strict, "semver": _semver, "semantic": _semver}
    if kind not in readers:
        raise FilterArgumentError(f"version: version_type should be loose, strict or semver, got {kind!r}")
    if operator not in _OPERATORS:
        raise FilterArgumentError(f"version: unknown operator {operator!r} (use one of {', '.join(_OPERATORS)})")
    try:
        return _OPERATORS[operator](readers[kind](str(value)), readers[kind](str(other)))
    except TypeError:
        raise FilterArgumentError(f"version: cannot compare {value!r} with {other!r} loosely; "
                                  "give version_type='semver' or strict=true") from None


def _loose(text: str) -> list:
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+|[a-z]+|\.)", text.lower())
            if part and part != "."]


def _strict(text: str) -> tuple:
    found = re.fullmatch(r"(\d+)\.(\d+)(?:\.(\d+))?(?:([ab])(\d+))?", text)
    if not found:
        raise FilterArgumentError(f"version: {text!r} is not a strict version such as 1.2.3 or 1.2b1")
    major, minor, patch, letter, number = found.groups()
    release = (int(major), int(minor), int(patch or 0))
    return (release, (1,)) if letter is None else (release, (0, letter, int(number)))


def _semver(text: str) -> tuple:
    found = re.fullmatch(r"(\d+)\.(\d+)\.(\d+)(?:-([0-9A-Za-z.-]+))?(?:\+[0-9A-Za-z.-]+)?", text)
    if not found:
        raise FilterArgumentError(f"version: {text!r} is not a semantic version such as 1.2.3-rc1")
    release = tuple(int(found[i]) for i in (1, 2, 3))
    if found[4] is None:
        return (release, (1,))
    parts = tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in found[4].split("."))
    return (release, (0, parts))


def subset(a: Any, b: Any) -> bool:
    return all(x in b for x in a)


def superset(a: Any, b: Any) -> bool:
    return all(x in a for x in b)


def contains(seq: Any, value: Any) -> bool:
    return value in seq


TESTS: dict[str, Callable[..., bool]] = {
    "failed": failed, "failure": failed, "succeeded": succeeded, "success": succeeded,
    "successful": succeeded, "changed": changed, "change": changed, "skipped": skipped, "skip": skipped,
    "unreachable": unreachable, "reachable": lambda v: not unreachable(v),
    "version": version, "version_compare": version,
    "match": lambda v, p, ignorecase=False, multiline=False: _regex_test(v, p, ignorecase, multiline, "match"),
    "search": lambda v, p, ignorecase=False, multiline=False: _regex_test(v, p, ignorecase, multiline, "search"),
    "regex": _regex_test, "subset": subset, "superset": superset, "contains": contains,
}
"""Ansible's tests, added to Jinja's own (defined, none, string, number ...)."""
