"""One playbook node at a time, read as Ansible reads it (pure but for vars files): a module's arguments,
key=value words, conditions, loops, boolean keywords, host patterns and user names."""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import Any

from kob.errors import SpecError
from kob.playbook.keywords import (
    ALIAS_PREFIXES,
    FREE_FORM,
    INSTEAD,
    LOOKUP_LOOP,
    LOOP_CONTROL,
    META,
    MODULES,
    STATES,
    TASK_KEYS,
    UNSUPPORTED,
)
from kob.playbook.values import (
    check_expression,
    check_template,
    keyword_bool,
    mapping_value,
    plain_value,
    typed_argument,
    valid_variable_name,
    variables,
)
from kob.spec.yaml_nodes import usable_path
from kob.spec.yaml_source import Node, did_you_mean, load_yaml

USER = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,31}")
IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
WRAPPED = re.compile(r"\s*\{\{(.*)\}\}\s*", re.DOTALL)


class Place:
    """Where to report an error when there is no Node (an include's name rendered at run time)."""

    def __init__(self, file: str, line: int):
        self.file, self.line = file, line

    def error(self, message: str) -> SpecError:
        return SpecError(self.file, self.line, "", message)


def file_name(node: Node) -> str:
    """include_tasks/import_tasks: a file name, or {file: name}."""
    if node.kind == "scalar":
        return node.as_str(expected="a file of tasks")
    fields = dict(node.entries(expected="a file of tasks, or {file: tasks.yml}"))
    for key, value in fields.items():
        if key == "apply":
            raise value.error("apply: is not supported by kob run (yet); put the keywords on the include itself")
        if key != "file":
            raise value.error(f"unknown argument {key}; include_tasks/import_tasks take a file name, or {{file: name}}")
    if "file" not in fields:
        raise node.error("needs file: (the tasks file's name)")
    return fields["file"].as_str()


def host_pattern(node: Node) -> str:
    if node.kind == "list":
        return ",".join(node.as_str_list())
    return node.as_str(expected="a host pattern such as all, web or web:!vm3")


def vars_files_values(nodes: list[Node], base: Path) -> dict[str, Any]:
    """The vars files' mappings merged in order (later files win)."""
    merged: dict[str, Any] = {}
    for item in nodes:
        item.as_path(base, what="vars file")  # a usable path to a regular file
        written = usable_path(item.as_str())
        source = load_yaml(written if written.is_absolute() else base / written, expected="a mapping of variables")
        if source.kind != "mapping":  # not shown: a file given here by mistake may hold anything
            raise SpecError(source.file, source.line, "", f"should be a mapping of variables, got a {source.kind}")
        merged.update(variables(source))
    return merged


# -- tasks -----------------------------------------------------------------------


def refuse_unsupported(node: Node, expected: str) -> None:
    """Ansible's keys that kob run does not take, each with what to write instead; any with_NAME loop but
    with_items and with_dict among them."""
    for key, value in node.entries(expected=expected):
        name = canonical(key)
        if name in UNSUPPORTED or (name.startswith("with_") and name not in TASK_KEYS):
            fallback = LOOKUP_LOOP.format(name=name[len("with_"):]) if name.startswith("with_") else \
                "remove it or use kob's own commands"
            raise value.error(f"{key} is not supported by kob run (yet); {INSTEAD.get(name, fallback)}")


def canonical(key: str) -> str:
    prefix = next((p for p in ALIAS_PREFIXES if key.startswith(p)), "")
    return key[len(prefix):]


def module_name(key: str, value: Node) -> str:
    name = canonical(key)
    if name in MODULES:
        return name
    prefix = key[: len(key) - len(name)]
    hint = did_you_mean(key, [prefix + m for m in MODULES] + ([] if prefix else list(TASK_KEYS)))
    listed = "" if hint else f" (modules: {', '.join(MODULES)})"
    raise value.error(f"unknown module or task key{hint}{listed}")


def task_args(module: tuple[str, Node], extra: Node | None) -> dict[str, Any]:
    """The module's own arguments, and those of an args: mapping (which win, as in Ansible)."""
    args = module_args(*module)
    if extra is None:
        return args
    if extra.kind != "mapping":
        raise extra.error(f"args should be a mapping of {module[0]}'s arguments, e.g. {{creates: /path}}")
    return {**args, **module_args(module[0], extra)}


def module_args(module: str, node: Node) -> dict[str, Any]:
    if node.kind == "scalar":
        check_template(node, node.as_str())
    if module == "meta" and not (node.kind == "scalar" and node.as_str() in META):
        raise node.error(f"meta: {node.describe()} is not supported by kob run (yet); it takes {', '.join(META)}")
    if node.kind == "scalar" and module in FREE_FORM:
        return {"_raw": node.as_str()}
    if node.kind == "scalar":
        args = key_values(module, node)
    else:
        args = {key: (value, plain_value(value)) for key, value in node.entries(expected=f"{module}'s arguments")}
    allowed = [a for a in MODULES[module] if a != "_raw"]
    for key, (where, value) in args.items():
        if module == "set_fact" and not valid_variable_name(key):
            raise where.error(f"set_fact: {key!r} is not a variable name (letters, digits and _)")
        if module != "set_fact" and key not in allowed:
            raise where.error(f"unknown argument of {module}{did_you_mean(key, allowed)} "
                              f"({module} takes: {', '.join(allowed) or 'no arguments'})")
        if key == "state" and module in STATES and not (isinstance(value, str) and "{{" in value):
            choices = STATES[module]
            if value not in choices:
                shown = str(value)
                raise where.error(f"state should be one of {', '.join(choices)}, got {shown!r}"
                                  f"{did_you_mean(shown, choices)}")
    return {key: typed_argument(module, key, where, value) for key, (where, value) in args.items()}


def key_values(module: str, node: Node) -> dict[str, tuple[Node, Any]]:
    """'key=value key2="a b"' split like a shell; every value a string."""
    text = node.as_str()
    try:
        words = shlex.split(text)
    except ValueError as error:
        raise node.error(f"cannot split {text!r} into key=value pairs ({error}); fix the quoting") from None
    pairs: dict[str, tuple[Node, Any]] = {}
    for word in words:
        key, equals, value = word.partition("=")
        if not equals or not key:
            raise node.error(f"{word!r} is not key=value; write {module}'s arguments as key=value pairs or a mapping")
        if key in pairs:
            raise node.error(f"{key}= is given twice; remove one")
        pairs[key] = (node, value)
    return pairs


# -- values ----------------------------------------------------------------------


def flag(node: Node | None, default: bool | None) -> bool | None:
    """A boolean keyword as Ansible reads it (yes/no, on/off, true/false); ``default`` when not given."""
    return default if node is None else keyword_bool(node)


def user_name(node: Node | None, default: str | None) -> str | None:
    if node is None:
        return default
    return node.as_str(pattern=USER, expected="a user name such as www-data (not a template, in kob run)")


def str_or_list(node: Node) -> list[Node]:
    return [node] if node.kind == "scalar" else node.as_list(expected="a string or a list of strings")


def strings(node: Node | None) -> tuple[str, ...]:
    return () if node is None else tuple(item.as_str() for item in str_or_list(node))


def conditions(node: Node | None) -> tuple[str, ...] | None:
    """when:-like keys: an expression, a list of them (all must hold) or a bool."""
    if node is None:
        return None
    return tuple(condition(item) for item in str_or_list(node))


def condition(node: Node) -> str:
    value = plain_value(node)
    if isinstance(value, bool):
        return str(value)
    text = node.as_str(expected="a condition such as result.rc == 0")
    wrapped = WRAPPED.fullmatch(text)
    expression = wrapped.group(1).strip() if wrapped else text
    check_expression(node, expression)
    return expression


def loop_value(node: Node | None, mapping: bool = False) -> Any:
    """loop: a list or a template; with_dict: (``mapping``) a mapping too."""
    if node is None:
        return None
    if mapping and node.kind == "mapping":
        return mapping_value(node)
    if node.kind == "scalar":
        text = node.as_str()
        if "{{" not in text:
            raise node.error(f"should be a list, or an expression such as '{{{{ items }}}}', got {node.describe()}")
        check_template(node, text)
        return text
    return [plain_value(item) for item in node.as_list(expected="a list or a string such as '{{ items }}'")]


def serial_value(node: Node | None) -> tuple[int | None, float | None]:
    """serial: a count of hosts per batch, or a share of them such as "30%" (a batch is at least one host)."""
    if node is None:
        return None, None
    text = node.as_str(expected="a number of hosts such as 2, or a share such as 30%")
    share = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*%\s*", text)
    if share and 0 < float(share[1]) <= 100:
        return None, float(share[1])
    if share is None and re.fullmatch(r"\d+", text) and int(text) >= 1:
        return int(text), None
    raise node.error(f"serial should be a number of hosts >= 1 or a share such as 30%, got {text[:40]!r}; "
                     "kob run does not take a list of batch sizes")


def loop_control(node: Node | None) -> dict[str, Any]:
    """loop_control: {loop_var, index_var, label, pause} as Task fields."""
    if node is None:
        return {}
    found: dict[str, Any] = {}
    for key, value in node.entries(expected="a mapping such as {loop_var: user, label: '{{ user.name }}'}"):
        if key not in LOOP_CONTROL:
            raise value.error(f"loop_control: {key} is not taken by kob run{did_you_mean(key, LOOP_CONTROL)} "
                              f"(it takes {', '.join(LOOP_CONTROL)})")
        if key in ("loop_var", "index_var"):
            found[key] = value.as_str(pattern=IDENTIFIER, expected="a variable name such as user")
        elif key == "label":
            found["label"] = value.as_str()
            check_template(value, found["label"])
        else:
            found["loop_pause"] = value.as_float(min=0, max=3600)
    return found


def environment_value(node: Node | None) -> dict[str, Any]:
    """environment: a mapping of variable names to values (templated when the task runs)."""
    if node is None:
        return {}
    if node.kind != "mapping":
        raise node.error("environment should be a mapping such as {PATH: /opt/bin:/usr/bin}; "
                         "kob run does not take a template or a list here")
    found = {}
    for key, value in node.entries():
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", key):
            raise value.error("an environment variable's name should be letters, digits and _")
        found[key] = plain_value(value)
    return found


def retry_count(node: Node | None, what: str, maximum: int) -> int | None:
    """retries: / delay: as a whole number (not a template, in kob run)."""
    if node is None:
        return None
    return node.as_int(min=0, max=maximum, expected=f"a whole number of {what}")


def delegate_name(node: Node | None, default: str | None) -> str | None:
    """delegate_to: a host's name or a template that names one."""
    if node is None:
        return default
    text = node.as_str(expected="a host of the inventory, or localhost")
    check_template(node, text)
    return text
