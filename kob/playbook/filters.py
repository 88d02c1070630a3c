"""The filters of Ansible that roles use most, for kob's playbook sandbox (pure).

Each one gives what Ansible's documentation says it gives (tests/unit/test_playbook_templating.py
compares a table of them, and of kob.playbook.jinja_tests', with the outputs of ansible-core 2.19).
They take and return plain data only: none reaches an object's attributes, a file, the environment or the network.
Sizes stay bounded: what regex_replace, to_json/to_yaml, b64encode and comment build
is at most MAX_SIZE characters; from_yaml reads as kob reads a YAML file (its depth and its
aliases bounded). Catastrophic backtracking is stopped by the sandbox's CPU budget, which
runs around every evaluation, filters included. A refusal is a jinja2 error, which the
caller turns into kob's TemplateError.
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import json
import os.path
import shlex
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import jinja2
import yaml
from jinja2.exceptions import FilterArgumentError

from kob.errors import SpecError
from kob.jinja_sandbox import MAX_SIZE
from kob.playbook.jinja_tests import (
    bounded_subject,
    regex_escape,
    regex_findall,
    regex_replace,
    regex_search,
)

HASHES = ("md5", "sha1", "sha224", "sha256", "sha384", "sha512", "blake2b", "blake2s")


# -- booleans, choices, mandatory ----------------------------------------------------------------


def to_bool(value: Any) -> Any:
    """Ansible's bool: yes/on/1/true (any case) and 1 are true, booleans as they are, the rest (None too) false."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        value = value.lower()
    return value in ("yes", "on", "1", "true", 1)


def ternary(value: Any, true_value: Any, false_value: Any, none_value: Any = None) -> Any:
    if value is None and none_value is not None:
        return none_value
    return true_value if bool(value) else false_value


def mandatory(value: Any, msg: str | None = None) -> Any:
    if isinstance(value, jinja2.Undefined):
        name = getattr(value, "_undefined_name", None)
        raise jinja2.UndefinedError(msg or f"Mandatory variable {name!r} not defined.")
    return value


# -- data formats ----------------------------------------------------------------------------------------


def _bounded(text: str, what: str) -> str:
    if len(text) > MAX_SIZE:
        raise FilterArgumentError(f"{what} makes more than {MAX_SIZE} characters")
    return text


def to_json(value: Any, **options: Any) -> str:
    return _bounded(json.dumps(value, **_options(options, ("indent", "sort_keys", "separators", "ensure_ascii"))),
                    "to_json")


def to_nice_json(value: Any, indent: int = 4, sort_keys: bool = True, **options: Any) -> str:
    return to_json(value, indent=min(int(indent), 64), sort_keys=sort_keys, separators=(",", ": "), **options)


def from_json(text: Any) -> Any:
    return json.loads(bounded_subject(text))


def to_yaml(value: Any, **options: Any) -> str:
    kept = {"default_flow_style": None, **_options(options, ("indent", "width", "default_flow_style", "sort_keys",
                                                              "explicit_start"))}
    try:
        text = yaml.dump(value, Dumper=yaml.SafeDumper, allow_unicode=True, **kept)
    except yaml.YAMLError as error:
        raise FilterArgumentError(f"to_yaml: {error}") from None
    return _bounded(text[:-4] if text.endswith("\n...\n") else text, "to_yaml")


def to_nice_yaml(value: Any, indent: int = 4, **options: Any) -> str:
    return to_yaml(value, **{**options, "indent": min(int(indent), 64), "default_flow_style": False})


def from_yaml(text: Any) -> Any:
    if not isinstance(text, str):
        return text
    from kob.spec.yaml_source import (
        parse_yaml,  # its bounds: depth, aliases expanded, size
    )

    try:
        parse_yaml(bounded_subject(text), "from_yaml")
    except SpecError as error:
        if "empty file" in error.message:
            return None
        raise FilterArgumentError(f"from_yaml: {error.message}") from None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise FilterArgumentError(f"from_yaml: {str(error)[:200]}") from None


def _options(given: dict[str, Any], allowed: tuple[str, ...]) -> dict[str, Any]:
    unknown = sorted(set(given) - set(allowed))
    if unknown:
        raise FilterArgumentError(f"unknown option {unknown[0]!r} (options: {', '.join(allowed)})")
    return given


def b64encode(value: Any, encoding: str = "utf-8") -> str:
    return _bounded(base64.b64encode(str(value).encode(encoding)).decode("ascii"), "b64encode")


def b64decode(value: Any, encoding: str = "utf-8") -> str:
    return base64.b64decode(str(value)).decode(encoding)


def comment(text: Any, style: str = "plain", decoration: str | None = None) -> str:
    """The text as a comment: each line decorated, between a first and a last decoration-only line."""
    styles = {"plain": ("", "# ", ""), "erlang": ("", "% ", ""), "c": ("", "// ", ""),
              "cblock": ("/*", " * ", " */"), "xml": ("<!--", " - ", "-->")}
    if style not in styles:
        raise FilterArgumentError(f"comment: style should be one of {', '.join(styles)}, got {style!r}")
    begin, mark, end = styles[style]
    mark = mark if decoration is None else str(decoration)
    lines = [begin] if begin else []
    lines += [mark.rstrip(), *(mark + line if line else mark.rstrip() for line in str(text).split("\n")),
              mark.rstrip()]
    lines += [end] if end else []
    return _bounded("\n".join(lines), "comment")


# -- dictionaries and lists -----------------------------------------------------------------------------


def combine(*terms: Any, recursive: bool = False, list_merge: str = "replace") -> dict:
    merges = ("replace", "keep", "append", "prepend", "append_rp", "prepend_rp")
    if list_merge not in merges:
        raise FilterArgumentError(f"combine: list_merge should be one of {', '.join(merges)}, got {list_merge!r}")
    dictionaries = flatten(list(terms), levels=1)
    if not all(isinstance(d, Mapping) for d in dictionaries):
        raise FilterArgumentError("combine takes dictionaries (or lists of them)")
    merged: dict = {}
    for dictionary in dictionaries:
        merged = _merged(merged, dict(dictionary), recursive, list_merge)
    return merged


def _merged(old: dict, new: dict, recursive: bool, list_merge: str) -> dict:
    result = dict(old)
    for key, value in new.items():
        before = result.get(key)
        if isinstance(before, Mapping) and isinstance(value, Mapping) and recursive:
            result[key] = _merged(dict(before), dict(value), recursive, list_merge)
        elif isinstance(before, list) and isinstance(value, list) and key in result:
            result[key] = {"replace": value, "keep": before, "append": before + value, "prepend": value + before,
                           "append_rp": [v for v in before if v not in value] + value,
                           "prepend_rp": value + [v for v in before if v not in value]}[list_merge]
        else:
            result[key] = value
    return result


def dict2items(value: Any, key_name: str = "key", value_name: str = "value") -> list[dict]:
    if not isinstance(value, Mapping):
        raise FilterArgumentError(f"dict2items takes a dictionary, got {type(value).__name__}")
    return [{key_name: k, value_name: v} for k, v in value.items()]


def items2dict(value: Any, key_name: str = "key", value_name: str = "value") -> dict:
    if not isinstance(value, Sequence) or isinstance(value, str):
        raise FilterArgumentError(f"items2dict takes a list of dictionaries, got {type(value).__name__}")
    try:
        return {item[key_name]: item[value_name] for item in value}
    except (KeyError, TypeError):
        raise FilterArgumentError(f"items2dict: every item needs the keys {key_name!r} and {value_name!r}") from None


def flatten(value: Any, levels: int | None = None, skip_nulls: bool = True) -> list:
    result: list = []
    for element in value:
        if skip_nulls and element in (None, "None", "null"):
            continue
        if isinstance(element, (list, tuple)) and (levels is None or int(levels) >= 1):
            result.extend(flatten(element, None if levels is None else int(levels) - 1, skip_nulls))
        else:
            result.append(element)
    return result


def _unique(value: Any) -> list:
    """Each item once, in the order first seen, case-sensitive (the filter unique stays Jinja's, as in Ansible)."""
    kept: list = []
    for item in value:
        if item not in kept:
            kept.append(item)
    return kept


@jinja2.pass_environment
def unique(environment: jinja2.Environment, value: Any, case_sensitive: bool = False,
           attribute: str | int | None = None) -> list:
    """Jinja's unique as a list, as Ansible's is: Jinja's own is a generator, which to_yaml cannot write."""
    return list(jinja2.filters.do_unique(environment, value, case_sensitive, attribute))


def union(a: Any, b: Any) -> list:
    return _unique(list(a) + list(b))


def intersect(a: Any, b: Any) -> list:
    return _unique([x for x in a if x in b])


def difference(a: Any, b: Any) -> list:
    return _unique([x for x in a if x not in b])


def symmetric_difference(a: Any, b: Any) -> list:
    both = intersect(a, b)
    return [x for x in union(a, b) if x not in both]


def zip_lists(*lists: Any) -> list:
    return [list(t) for t in zip(*lists)]


def zip_longest(*lists: Any, fillvalue: Any = None) -> list:
    return [list(t) for t in itertools.zip_longest(*lists, fillvalue=fillvalue)]


def product(*lists: Any, repeat: int = 1) -> list:
    total = 1
    for items in lists:
        total *= len(items)
    if total ** int(repeat) > MAX_SIZE:
        raise FilterArgumentError(f"product makes more than {MAX_SIZE} items")
    return [list(t) for t in itertools.product(*lists, repeat=int(repeat))]


# -- text, paths, hashes ----------------------------------------------------------------------------------


def quote(value: Any) -> str:
    return shlex.quote("" if value is None else str(value))


def split(value: Any, separator: str | None = None, maxsplit: int = -1) -> list[str]:
    return str(value).split(separator, int(maxsplit))


def splitext(value: Any) -> list[str]:
    return list(os.path.splitext(str(value)))


def path_join(paths: Any) -> str:
    return os.path.join(paths) if isinstance(paths, str) else os.path.join(*[str(p) for p in paths])


def hash_of(value: Any, hashtype: str = "sha1") -> str:
    if hashtype not in HASHES:
        raise FilterArgumentError(f"hash: hashtype should be one of {', '.join(HASHES)}, got {str(hashtype)[:40]!r}")
    data = value if isinstance(value, bytes) else str(value).encode()
    return hashlib.new(hashtype, data).hexdigest()


def type_debug(value: Any) -> str:
    return type(value).__name__


FILTERS: dict[str, Callable[..., Any]] = {
    "bool": to_bool, "ternary": ternary, "mandatory": mandatory,
    "regex_replace": regex_replace, "regex_search": regex_search, "regex_findall": regex_findall,
    "regex_escape": regex_escape,
    "to_json": to_json, "to_nice_json": to_nice_json, "from_json": from_json,
    "to_yaml": to_yaml, "to_nice_yaml": to_nice_yaml, "from_yaml": from_yaml,
    "b64encode": b64encode, "b64decode": b64decode, "comment": comment,
    "combine": combine, "dict2items": dict2items, "items2dict": items2dict, "flatten": flatten,
    "unique": unique, "union": union, "intersect": intersect, "difference": difference,
    "symmetric_difference": symmetric_difference, "zip": zip_lists, "zip_longest": zip_longest, "product": product,
    "basename": lambda p: os.path.basename(str(p)), "dirname": lambda p: os.path.dirname(str(p)),
    "splitext": splitext, "path_join": path_join, "quote": quote, "split": split,
    "hash": hash_of, "checksum": lambda v: hash_of(v, "sha1"), "sha1": lambda v: hash_of(v, "sha1"),
    "md5": lambda v: hash_of(v, "md5"), "type_debug": type_debug,
}
"""Ansible's filters, added to Jinja's own (default/d, join, map, select ... stay Jinja's)."""
