"""YAML nodes that know their file, line and key path, and read themselves into typed values.

The reading rules are listed in kob.spec.yaml_source, which builds these nodes.
"""

from __future__ import annotations

import difflib
import math
import os
import re
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

import yaml
from yaml.nodes import MappingNode, ScalarNode, SequenceNode

from kob.errors import SpecError

__all__ = ["REQUIRED", "Node", "Record", "did_you_mean"]

_TAG = "tag:yaml.org,2002:"
_MERGE = _TAG + "merge"
_NULL = _TAG + "null"
_STANDARD_TAGS = {_TAG + t for t in ("str", "int", "float", "bool", "null", "map", "seq", "merge", "timestamp")}

_INT = re.compile(r"[-+]?[0-9]+")
_DECIMAL = re.compile(r"[-+]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][-+]?[0-9]+)?")
_DURATION = re.compile(r"(?:[0-9]+(?:\.[0-9]+)?(?:ms|s|m|h))+")
_DURATION_PART = re.compile(r"([0-9]+(?:\.[0-9]+)?)(ms|s|m|h)")
_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}

# Bounds every number read from a kob file keeps unless its reader gives a lower max:
MAX_INT = 1_000_000
MAX_NUMBER = 1_000_000.0
MAX_DURATION = 30 * 24 * 3600.0  # 30 days

class _Required:
    def __repr__(self) -> str:
        return "REQUIRED"


REQUIRED: Any = _Required()
"""Default of the Record.get_* readers meaning "the key must be present"."""


def did_you_mean(word: str, options: Iterable[str]) -> str:
    """'; did you mean 'x'?' for the closest option (the first of equals), or '' when none is close."""
    best, best_score = None, 0.0
    for option in options:
        score = difflib.SequenceMatcher(None, word, option).ratio()
        if score >= 0.6 and score > best_score:
            best, best_score = option, score
    return f"; did you mean {best!r}?" if best is not None else ""


def _line(node: yaml.Node) -> int:
    return node.start_mark.line + 1


def _join(path: str, key: str) -> str:
    return f"{path}/{key}" if path else key


MAX_PATH = 4096  # Linux's PATH_MAX
MAX_PATH_PART = 255  # and NAME_MAX


def usable_path(text: str) -> Path:
    """``text`` as a path, ~ expanded; ValueError (written for the user) for one no system call would take."""
    if "\0" in text:
        raise ValueError("a path cannot hold a NUL character")
    if len(text) > MAX_PATH or any(len(part) > MAX_PATH_PART for part in text.split("/")):
        raise ValueError(f"the path is longer than Linux allows ({MAX_PATH} characters, {MAX_PATH_PART} a name)")
    try:
        return Path(text).expanduser()
    except RuntimeError:  # ~user of an unknown user
        raise ValueError(f"cannot expand {text.split('/')[0]!r}: no such user") from None


class Node:
    """One YAML value with its file, key path and line (1-based).

    ``line`` is where the value was introduced: the line of its key inside a
    mapping, else the line where the value starts.
    """

    __slots__ = ("yaml", "file", "path", "line")

    def __init__(self, node: yaml.Node, file: str, path: str, line: int):
        self.yaml, self.file, self.path, self.line = node, file, path, line

    def __repr__(self) -> str:
        return f"<Node {self.file}:{self.line} {self.path or '/'} {self.kind}>"

    @property
    def kind(self) -> str:
        """'mapping', 'list', 'null' or 'scalar'."""
        if isinstance(self.yaml, MappingNode):
            return "mapping"
        if isinstance(self.yaml, SequenceNode):
            return "list"
        return "null" if self.yaml.tag == _NULL else "scalar"

    @property
    def raw(self) -> str | None:
        """The scalar's text as written (unquoted), None for anything else."""
        return self.yaml.value if self.kind == "scalar" else None

    @property
    def quoted(self) -> bool:
        return isinstance(self.yaml, ScalarNode) and self.yaml.style in ("'", '"')

    def error(self, message: str) -> SpecError:
        """A SpecError at this node's file, line and key path (to raise)."""
        return SpecError(self.file, self.line, self.path, message)

    def describe(self) -> str:
        """How the value reads in a 'got ...' phrase."""
        if self.kind != "scalar":
            return {"mapping": "a mapping", "list": "a list", "null": "nothing"}[self.kind]
        text = self.yaml.value
        return repr(text if len(text) <= 40 else text[:37] + "...")

    def type_error(self, expected: str, *, unquote: bool = False) -> SpecError:
        """'should be <expected>, got <what>'; with unquote, tell how to fix a quoted value."""
        if unquote and self.quoted:
            return self.error(f"should be {expected}, got the string {self.describe()}; remove the quotes")
        return self.error(f"should be {expected}, got {self.describe()}")

    # -- collections ---------------------------------------------------------

    def entries(self, *, expected: str = "a mapping") -> list[tuple[str, Node]]:
        """The (key, value) pairs of a mapping whose keys the user chooses (hosts, labels)."""
        if self.kind == "null":
            return []
        if self.kind != "mapping":
            raise self.type_error(expected)
        result = []
        for key, value in self._pairs(self.yaml, set()):
            if not isinstance(key, ScalarNode) or key.tag == _NULL or not key.value:
                raise Node(key, self.file, self.path, _line(key)).error("every key should be a non-empty string")
            result.append((key.value, Node(value, self.file, _join(self.path, key.value), _line(key))))
        return result

    def record(self, allowed: Sequence[str], *, expected: str = "a mapping") -> Record:
        """A mapping whose keys must be among ``allowed`` (listed in that order in errors)."""
        fields = {}
        for key, value in self.entries(expected=expected):
            if key not in allowed:
                hint = did_you_mean(key, allowed)
                raise value.error(f"unknown key{hint} (allowed: {', '.join(allowed)})")
            fields[key] = value
        return Record(self, fields)

    def as_list(self, *, expected: str = "a list") -> list[Node]:
        if self.kind == "null":
            return []
        if self.kind != "list":
            error = self.type_error(expected)
            if self.kind == "scalar" and "\n" not in self.yaml.value and len(self.yaml.value) <= 40:
                error = self.error(f"{error.message}; write [{self.yaml.value}] for a single item")
            raise error
        return [Node(item, self.file, f"{self.path}[{i}]", _line(item)) for i, item in enumerate(self.yaml.value)]

    def as_str_list(self, **str_options: Any) -> tuple[str, ...]:
        """A list of strings; ``str_options`` go to as_str for every item."""
        return tuple(item.as_str(**str_options) for item in self.as_list(expected="a list of strings"))

    def as_str_map(self, **str_options: Any) -> dict[str, str]:
        """A mapping of strings to strings, in file order; values must be scalars."""
        return {key: value.as_str(**str_options) for key, value in self.entries(expected="a mapping of strings")}

    # -- scalars ---------------------------------------------------------------

    def as_str(
        self,
        *,
        choices: Sequence[str] | None = None,
        pattern: re.Pattern[str] | None = None,
        expected: str = "a string",
        allow_empty: bool = False,
    ) -> str:
        """The scalar's text as written; ``pattern`` must match all of it."""
        if self.kind != "scalar":
            raise self.type_error(expected)
        text = self.yaml.value
        if not text and not allow_empty:
            raise self.error("should not be empty")
        if choices is not None and text not in choices:
            raise self.error(f"should be one of {', '.join(choices)}, got {text!r}{did_you_mean(text, choices)}")
        if pattern is not None and not pattern.fullmatch(text):
            raise self.type_error(expected)
        return text

    def as_int(self, *, min: int | None = None, max: int | None = None, expected: str = "an integer") -> int:
        if not self._plain(_INT) or self.yaml.tag != _TAG + "int":  # !!str 9 is a string, !!float 9 a float
            raise self.type_error(expected, unquote=bool(_INT.fullmatch(self.raw or "")))
        return self._capped(self._in_range(int(self.yaml.value), min, max, None), max, MAX_INT)

    def as_float(
        self, *, min: float | None = None, max: float | None = None, above: float | None = None, expected: str = "a number"
    ) -> float:
        """A decimal number; ``above`` is an exclusive lower bound."""
        if not self._plain(_DECIMAL):
            raise self.type_error(expected, unquote=bool(_DECIMAL.fullmatch(self.raw or "")))
        return self._capped(self._in_range(float(self.yaml.value), min, max, above), max, MAX_NUMBER)

    def as_duration(self, *, min: float | None = None, max: float | None = None, above: float | None = None) -> float:
        """Seconds: a plain number, or numbers with units ms, s, m, h (e.g. 1m30s)."""
        expected = "a duration such as 30, 30s, 5m or 1h"
        if self._plain(_DECIMAL):
            seconds = float(self.yaml.value)
        elif self.kind == "scalar" and _DURATION.fullmatch(self.yaml.value):
            seconds = sum(float(n) * _SECONDS[unit] for n, unit in _DURATION_PART.findall(self.yaml.value))
        else:
            raise self.type_error(expected)
        return self._capped(self._in_range(seconds, min, max, above), max, MAX_DURATION, "30 days")

    def as_bool(self) -> bool:
        """true or false, any case; yes/no/on/off are refused."""
        text = (self.raw or "").lower()
        if not self._plain(None) or text not in ("true", "false"):
            raise self.type_error("true or false", unquote=text in ("true", "false"))
        return text == "true"

    def as_path(self, base: Path, *, what: str = "file", must_exist: bool = True) -> Path:
        """A file path; relative ones start at ``base`` (the folder of the YAML file).

        Returned absolute. With must_exist, it must be an existing regular file.
        """
        try:
            written = usable_path(self.as_str())
        except ValueError as error:
            raise self.error(f"{what}: {error}") from None
        shown = written if written.is_absolute() else base / written
        if must_exist and shown.is_dir():
            raise self.error(f"{what} {shown} is a directory; give the path of a file")
        if must_exist and not shown.is_file():
            where = "" if written.is_absolute() else " (relative paths start at the folder of this file)"
            raise self.error(f"{what} {shown} not found{where}")
        return Path(os.path.abspath(shown))

    def _plain(self, pattern: re.Pattern[str] | None) -> bool:
        if self.kind != "scalar" or self.yaml.style is not None:
            return False
        return pattern is None or bool(pattern.fullmatch(self.yaml.value))

    def _capped(self, value: Any, max: Any, cap: float, shown: str | None = None) -> Any:
        """``value``, unless it is not finite or, where the reader gave no max, above ``cap``."""
        if isinstance(value, float) and not math.isfinite(value):
            raise self.error(f"should be a finite number, got {self.yaml.value}")
        if max is None and value > cap:
            raise self.error(f"should be at most {shown or f'{cap:g}'}, got {self.yaml.value}")
        return value

    def _in_range(self, value: Any, min: Any, max: Any, above: Any) -> Any:
        got = self.yaml.value
        if min is not None and max is not None and not min <= value <= max:
            raise self.error(f"should be between {min} and {max}, got {got}")
        if min is not None and value < min:
            raise self.error(f"should be at least {min}, got {got}")
        if max is not None and value > max:
            raise self.error(f"should be at most {max}, got {got}")
        if above is not None and value <= above:
            raise self.error(f"should be more than {above}, got {got}")
        return value

    # -- merge keys ------------------------------------------------------------

    def _pairs(self, mapping: MappingNode, busy: set[int]) -> list[tuple[yaml.Node, yaml.Node]]:
        """The mapping's pairs in order, with ``<<`` merges expanded in place."""
        if id(mapping) in busy:
            raise Node(mapping, self.file, self.path, _line(mapping)).error("a '<<' merge includes itself")
        busy = busy | {id(mapping)}
        written = {k.value for k, _ in mapping.value if isinstance(k, ScalarNode) and k.tag != _MERGE}
        result, taken = [], set()
        for key, value in mapping.value:
            if not (isinstance(key, ScalarNode) and key.tag == _MERGE):
                result.append((key, value))
                continue
            for source in self._merge_sources(key, value):
                for mkey, mvalue in self._pairs(source, busy):
                    text = mkey.value if isinstance(mkey, ScalarNode) else None
                    if text not in written and text not in taken:
                        result.append((mkey, mvalue))
                        taken.add(text)
        return result

    def _merge_sources(self, key: ScalarNode, value: yaml.Node) -> list[MappingNode]:
        if isinstance(value, MappingNode):
            return [value]
        if isinstance(value, SequenceNode) and all(isinstance(v, MappingNode) for v in value.value):
            return list(value.value)
        where = Node(value, self.file, _join(self.path, "<<"), _line(key))
        raise where.error("should be a mapping or a list of mappings, e.g. <<: *defaults")


class Record:
    """A mapping with a fixed set of allowed keys, made by Node.record().

    The get_* readers take ``default``; leaving it as REQUIRED makes the key
    mandatory. Other keyword arguments go to the matching Node.as_* reader.
    """

    __slots__ = ("node", "fields")

    def __init__(self, node: Node, fields: dict[str, Node]):
        self.node, self.fields = node, fields

    def __contains__(self, key: str) -> bool:
        return key in self.fields

    def get(self, key: str) -> Node | None:
        return self.fields.get(key)

    def require(self, key: str) -> Node:
        if key not in self.fields:
            raise self.node.error(f"missing required key {key!r}")
        return self.fields[key]

    def _read(self, key: str, default: Any, reader: Callable[..., Any], options: dict[str, Any]) -> Any:
        if key not in self.fields and default is not REQUIRED:
            return default
        return reader(self.require(key), **options)

    def get_str(self, key: str, default: Any = REQUIRED, **options: Any) -> Any:
        return self._read(key, default, Node.as_str, options)

    def get_int(self, key: str, default: Any = REQUIRED, **options: Any) -> Any:
        return self._read(key, default, Node.as_int, options)

    def get_float(self, key: str, default: Any = REQUIRED, **options: Any) -> Any:
        return self._read(key, default, Node.as_float, options)

    def get_duration(self, key: str, default: Any = REQUIRED, **options: Any) -> Any:
        return self._read(key, default, Node.as_duration, options)

    def get_bool(self, key: str, default: Any = REQUIRED) -> Any:
        return self._read(key, default, Node.as_bool, {})

    def get_str_map(self, key: str, default: Any = REQUIRED, **options: Any) -> Any:
        return self._read(key, default, Node.as_str_map, options)

    def get_path(self, key: str, base: Path, default: Any = REQUIRED, **options: Any) -> Any:
        return self._read(key, default, Node.as_path, {"base": base, **options})
