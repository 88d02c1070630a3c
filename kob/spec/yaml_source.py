"""Read YAML into nodes that know their file, line and key path.

Every loader in kob.spec (inventory now; services, lb and playbooks later)
reads its file through this module, so every mistake reads the same way:

    inventory.yaml:14: hosts/vm2/port: should be an integer, got 'abc'

Typical use:

    root = load_yaml("inventory.yaml", expected="a mapping with hosts:")
    top = root.record(("ssh", "hosts"), expected="a mapping with hosts:")
    for name, node in top.require("hosts").entries():
        host = node.record(("address", "port"))
        port = host.get_int("port", default=22, min=1, max=65535)

The rules, the same in every kob file:

- Keys are read as written: ``on:`` is the key "on", never True.
- A key given twice in one mapping is an error, reported at the second one.
- Strings: any scalar, taken as written (``version: 1.10`` is "1.10",
  ``zone: no`` is "no").
- Integers: plain decimal digits with an optional sign; 0x1f, 0o17, 1_000
  and 1:30 are refused. A quoted number is a string and is refused too.
- Floats: decimal numbers such as 2, 2.5 or 1e3; .inf and .nan are refused.
- Durations: seconds as a number, or numbers with units: 250ms, 30s, 5m,
  1h, 1m30s. Always returned in seconds.
- Booleans: true or false only (any case). YAML 1.1's yes/no/on/off are
  refused so that nobody is surprised by what they meant.
- An empty value (``key:`` or ``key: ~``) reads as an empty mapping or list
  where one is expected; where a scalar is expected it is an error.
- Merge keys work (``<<: *defaults``); keys written in the mapping itself
  win over merged ones.
- Only YAML's standard tags; a custom tag such as ``!vault`` is refused.
- Key paths join keys with "/" and name list items by index: groups/web[1].
- Bounds, so that no file can take the manager's memory or time: only a
  regular file is read, of at most MAX_BYTES; values nest at most MAX_DEPTH
  deep (counted while composing, before PyYAML's recursion could overflow); with every alias and merge expanded, a document holds at most
  MAX_VALUES values (a "billion laughs" or a merge bomb is refused at once).
"""

from __future__ import annotations

import os
import stat

import yaml
from yaml.nodes import MappingNode, ScalarNode, SequenceNode

from kob.errors import SpecError
from kob.spec.yaml_nodes import _NULL, _STANDARD_TAGS, REQUIRED, Node, Record, _join, _line, did_you_mean

__all__ = ["REQUIRED", "Node", "Record", "did_you_mean", "load_yaml", "parse_yaml"]

_SYNTAX_HINTS = {
    "found character '\\t' that cannot start any token": "indent with spaces, not tabs",
    "mapping values are not allowed here": "is a ':' missing on this or an earlier line, "
    "or does a value containing ': ' need quotes?",
    "expected <block end>": "check the indentation",
    "expected ',' or '}'": "is a closing '}' missing?",
    "expected ',' or ']'": "is a closing ']' missing?",
}
MAX_BYTES = 2 << 20
MAX_DEPTH = 64
MAX_VALUES = 200_000
_SECOND_DOCUMENT = "a second document starts here; a kob file holds one document, so remove the extra '---'"

def load_yaml(path: str | os.PathLike[str], *, expected: str = "a mapping") -> Node:
    """Read and compose one YAML file; errors name the path as the caller gave it."""
    name = os.fspath(path)
    if not name:
        raise SpecError("''", None, "", "an empty path; give the path of a YAML file")
    return parse_yaml(_read_text(name), name, expected=expected)


def parse_yaml(text: str, file: str, *, expected: str = "a mapping") -> Node:
    """Compose YAML text that came from ``file`` into a checked Node tree."""
    try:
        root = yaml.compose(text, Loader=_DepthBoundLoader)
    except _TooDeep as deep:
        raise SpecError(file, deep.line, "", f"values nest more than {MAX_DEPTH} levels deep; kob reads no deeper") \
            from None
    except yaml.MarkedYAMLError as error:
        raise _syntax_error(error, file, text) from None
    except yaml.reader.ReaderError as error:
        line = text[: error.position].count("\n") + 1
        bad = f"U+{error.character:04X}" if isinstance(error.character, int) else repr(error.character)
        raise SpecError(file, line, "", f"invalid YAML: character {bad} is not allowed; remove it") from None
    except yaml.YAMLError as error:
        raise SpecError(file, None, "", f"invalid YAML: {error}") from None
    if root is None or (isinstance(root, ScalarNode) and root.tag == _NULL):
        raise SpecError(file, None, "", f"empty file; expected {expected}")
    node = Node(root, file, "", _line(root))
    _check_expansion(root, file)
    _check_tree(node, set())
    return node


class _TooDeep(Exception):
    """Composing went deeper than MAX_DEPTH (caught in parse_yaml, at the line where it did)."""

    def __init__(self, line: int):
        self.line = line


class _DepthBoundLoader(yaml.SafeLoader):
    """PyYAML's safe loader, refusing collections nested deeper than MAX_DEPTH before its recursion gets there."""

    depth = 0

    def compose_node(self, parent, index):
        event = self.peek_event()
        if not isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
            return super().compose_node(parent, index)
        self.depth += 1
        try:
            if self.depth > MAX_DEPTH:
                raise _TooDeep(event.start_mark.line + 1)
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1


def _check_expansion(root: yaml.Node, file: str) -> None:
    """Refuse a document whose values, with every alias and merge expanded, number more than MAX_VALUES
    or nest deeper than MAX_DEPTH."""
    sizes: dict[int, int] = {}
    depths: dict[int, int] = {}
    open_nodes: set[int] = set()
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, children_done = stack.pop()
        if id(node) in sizes:
            continue
        children = [] if isinstance(node, ScalarNode) else (
            node.value if isinstance(node, SequenceNode) else [part for pair in node.value for part in pair])
        if children_done:
            open_nodes.discard(id(node))
            sizes[id(node)] = 1 + sum(sizes[id(child)] for child in children)
            depths[id(node)] = (0 if isinstance(node, ScalarNode) else 1) + max(
                (depths[id(child)] for child in children), default=0)
            if depths[id(node)] > MAX_DEPTH:
                raise SpecError(file, _line(node), "", f"with its aliases expanded this nests more than {MAX_DEPTH} "
                                                       "levels deep; kob reads no deeper")
            if sizes[id(node)] > MAX_VALUES:
                raise SpecError(file, _line(node), "", f"with its aliases and merges expanded this holds more than "
                                                       f"{MAX_VALUES} values; kob reads no more")
            continue
        if id(node) in open_nodes:
            raise SpecError(file, _line(node), "", "an alias refers to a value that contains it; remove the loop")
        open_nodes.add(id(node))
        stack.append((node, True))
        stack.extend((child, False) for child in children if id(child) not in sizes)


def _read_text(name: str) -> str:
    try:
        data = _read_regular_file(name)
    except FileNotFoundError:
        raise SpecError(name, None, "", "no such file") from None
    except IsADirectoryError:
        raise SpecError(name, None, "", "is a directory; give the path of a YAML file") from None
    except PermissionError:
        raise SpecError(name, None, "", "cannot read: permission denied") from None
    except OSError as error:
        raise SpecError(name, None, "", f"cannot read: {error.strerror or error}") from None
    if isinstance(data, str):
        raise SpecError(name, None, "", data)
    if len(data) > MAX_BYTES:
        raise SpecError(name, None, "", f"is larger than {MAX_BYTES >> 20} MiB, the most kob reads as YAML")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise SpecError(name, line, "", "not UTF-8 text; save the file as UTF-8") from None


def _read_regular_file(name: str) -> bytes | str:
    """At most MAX_BYTES + 1 bytes of a regular file, else why not (opening a FIFO this way does not block)."""
    fd = os.open(name, os.O_RDONLY | os.O_NONBLOCK)
    try:
        mode = os.fstat(fd).st_mode
        if stat.S_ISDIR(mode):
            return "is a directory; give the path of a YAML file"
        if not stat.S_ISREG(mode):
            return "is not a regular file (a device, a pipe or a socket); give the path of a YAML file"
        with os.fdopen(fd, "rb", closefd=False) as file:
            return file.read(MAX_BYTES + 1)
    finally:
        os.close(fd)


def _syntax_error(error: yaml.MarkedYAMLError, file: str, text: str) -> SpecError:
    problem = error.problem or error.context or "cannot parse"
    mark = error.problem_mark or error.context_mark
    if error.context_mark and (error.context or "").startswith("while scanning a quoted scalar"):
        mark, problem = error.context_mark, "a quoted string is not closed"  # found at the file's end otherwise
    if problem == "mapping values are not allowed here" and mark:
        missing = _line_missing_a_colon(text.splitlines(), mark.line)
        if missing is not None:
            return SpecError(file, missing, "", "invalid YAML: is a ':' missing after the key on this line?")
    if problem == "but found another document":
        return SpecError(file, mark.line + 1 if mark else None, "", f"invalid YAML: {_SECOND_DOCUMENT}")
    hint = next((h for text, h in _SYNTAX_HINTS.items() if text in problem), "")
    return SpecError(file, mark.line + 1 if mark else None, "", f"invalid YAML: {problem}" + (f"; {hint}" if hint else ""))


def _line_missing_a_colon(lines: list[str], found: int) -> int | None:
    """The line (1-based) before ``found`` (0-based) whose key lacks its ':', when the error's line is indented
    at least as deep as a line without any ':' (YAML read both as one value and found the ':' one line late)."""
    before = found - 1
    while before >= 0 and not lines[before].strip():
        before -= 1
    if before < 0 or found >= len(lines):
        return None
    previous = lines[before]
    indent = lambda line: len(line) - len(line.lstrip(" "))  # noqa: E731
    if ":" in previous or previous.lstrip().startswith(("-", "#")) or indent(lines[found]) < indent(previous):
        return None
    return before + 1


def _check_tree(node: Node, seen: set[int]) -> None:
    """Refuse duplicate keys and custom tags anywhere in the document."""
    if id(node.yaml) in seen:
        return
    seen.add(id(node.yaml))
    if node.yaml.tag not in _STANDARD_TAGS:
        raise node.error(f"unsupported YAML tag {node.yaml.tag!r}; kob reads plain YAML only")
    if isinstance(node.yaml, SequenceNode):
        for index, item in enumerate(node.yaml.value):
            _check_tree(Node(item, node.file, f"{node.path}[{index}]", _line(item)), seen)
    elif isinstance(node.yaml, MappingNode):
        first: dict[str, int] = {}
        for key, value in node.yaml.value:
            text = key.value if isinstance(key, ScalarNode) else f"<{key.id}>"
            child = Node(value, node.file, _join(node.path, text), _line(key))
            if isinstance(key, ScalarNode) and text in first:
                raise child.error(f"defined twice (first at line {first[text]}); remove or rename one")
            first.setdefault(text, _line(key))
            _check_tree(child, seen)
