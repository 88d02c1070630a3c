"""Ansible-style playbooks for ``kob run``: load_playbook() → Plays of Tasks, every mistake found before anything runs.

    - name: web servers               # a playbook is a non-empty list of plays
      hosts: web:!vm3                 # required; a host pattern (a list is joined with ',')
      vars: {port: 8080}
      vars_files: [vars/common.yml]   # relative to the playbook's folder; they win over vars:
      serial: 2                       # >= 1 hosts at a time
      tasks:
        - name: install nginx
          apt: {name: nginx, state: present}
          notify: restart nginx       # a handler's name (str or list)
        - shell: echo {{ port }} > /tmp/port       # free form: {"_raw": "..."}
        - copy: src=a.conf dest=/etc/a.conf mode=0644  # key=value: a dict of strings
          when: ansible_os_family == "Debian"     # str, list (all must hold) or bool
          loop: [1, 2]                # or "{{ items }}"; with_items: is the same
      handlers:
        - name: restart nginx         # names are unique within a play
          service: {name: nginx, state: restarted}

Values are read as Ansible reads them where it matters, else by the rules of
kob.spec.yaml_source: a plain scalar is a bool when YAML 1.1 makes it one
(true/false, yes/no, on/off, in lower, Title or UPPER case; not y/n), and a
keyword Ansible takes as a boolean (become, gather_facts, ignore_errors,
check_mode, run_once, a module's boolean argument) also takes the quoted or
key=value words yes/no, on/off, true/false, 1/0; an int when written as decimal digits
without a leading zero (so ``mode: 0644`` stays the string "0644"), a float
when written as a decimal number with '.' or an exponent, else a string.
"""

from __future__ import annotations

import os
import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from kob.errors import SpecError
from kob.playbook.values import (check_expression, check_template, keyword_bool, plain_value, typed_argument,
                                 valid_variable_name, variables)
from kob.spec.yaml_nodes import usable_path
from kob.spec.yaml_source import Node, did_you_mean, load_yaml

__all__ = ["MODULES", "Play", "Task", "load_playbook"]

MODULES: dict[str, tuple[str, ...]] = {
    "command": ("_raw", "cmd", "argv", "chdir", "creates", "removes", "stdin"),
    "shell": ("_raw", "cmd", "chdir", "creates", "removes", "stdin"),
    "copy": ("content", "src", "dest", "mode", "owner", "group"),
    "template": ("src", "dest", "mode", "owner", "group", "trim_blocks", "lstrip_blocks"),
    "file": ("path", "state", "mode", "owner", "group"),
    "lineinfile": ("path", "line", "regexp", "state", "create", "mode", "owner", "group"),
    "apt": ("name", "state", "update_cache"),
    "service": ("name", "state", "enabled"),
    "systemd": ("name", "state", "enabled"),
    "docker_container": ("name", "image", "state", "command", "ports", "env", "restart_policy"),
    "docker_image": ("name", "state", "source"),
    "kob_deploy": ("service", "inventory"),
    "wait_for": ("port", "host", "path", "state", "timeout", "delay"),
    "debug": ("msg", "var"),
    "set_fact": (),  # any keys: every key is a fact
    "fail": ("msg",),
    "assert": ("that", "fail_msg", "success_msg"),
}
"""Module name -> the argument names it accepts ("_raw" is a free-form command line)."""

STATES: dict[str, tuple[str, ...]] = {
    "file": ("directory", "absent", "touch", "file"),
    "lineinfile": ("present", "absent"),
    "apt": ("present", "absent", "latest"),
    "service": ("started", "stopped", "restarted", "reloaded"),
    "systemd": ("started", "stopped", "restarted", "reloaded"),
    "docker_container": ("started", "absent", "stopped"),
    "docker_image": ("present", "absent"),
    "wait_for": ("started", "stopped", "present", "absent"),
}
"""The state: values each module accepts (a templated "{{ ... }}" state is checked at run time)."""

FREE_FORM = ("command", "shell")
ALIAS_PREFIXES = ("ansible.builtin.", "ansible.legacy.")
PLAY_KEYS = ("hosts", "name", "vars", "vars_files", "tasks", "handlers", "gather_facts", "serial", "tags", "become",
             "become_user", "check_mode")
TASK_KEYS = ("name", "when", "loop", "with_items", "register", "notify", "tags", "ignore_errors", "changed_when",
             "failed_when", "vars", "become", "become_user", "args", "check_mode", "run_once")
UNSUPPORTED = (
    "import_playbook", "import_tasks", "include_tasks", "include", "import_role", "include_role", "include_vars",
    "roles", "pre_tasks", "post_tasks", "block", "rescue", "always", "listen", "delegate_to", "local_action",
    "async", "poll", "until", "retries", "delay", "loop_control", "with_dict", "with_fileglob",
    "with_together", "with_sequence", "with_nested", "with_subelements", "environment", "no_log",
    "diff", "connection", "remote_user", "strategy", "vars_prompt", "any_errors_fatal",
    "max_fail_percentage", "module_defaults", "collections", "throttle", "become_method", "raw", "script",
)
"""Ansible keys and modules that kob run refuses by name rather than as unknown."""
PLAY_UNSUPPORTED = ("run_once", "ignore_errors")
"""Keys Ansible takes on a play too, that kob run takes on a task only."""

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_WRAPPED = re.compile(r"\s*\{\{(.*)\}\}\s*", re.DOTALL)


@dataclass(frozen=True)
class Task:
    """One module call; expressions are Jinja2 without {{ }}, templated by the runner."""

    module: str  # canonical name (alias resolved)
    args: Mapping[str, Any]
    name: str | None = None
    when: tuple[str, ...] = ()  # all must hold
    loop: Any = None  # a list, or a string such as "{{ items }}"
    register: str | None = None
    notify: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    ignore_errors: bool = False
    check_mode: bool | None = None  # None: as the play (and --check) say
    run_once: bool = False
    changed_when: tuple[str, ...] | None = None
    failed_when: tuple[str, ...] | None = None
    vars: Mapping[str, Any] = field(default_factory=dict)
    file: str = ""  # for messages at run time
    line: int = 0


@dataclass(frozen=True)
class Play:
    """Tasks for the hosts a pattern selects; vars already merged with its vars_files."""

    hosts: str
    name: str | None = None
    vars: Mapping[str, Any] = field(default_factory=dict)
    vars_files: tuple[str, ...] = ()  # as written, relative to the playbook's folder
    tasks: tuple[Task, ...] = ()
    handlers: tuple[Task, ...] = ()
    gather_facts: bool = True
    serial: int | None = None
    tags: tuple[str, ...] = ()  # inherited by its tasks (the runner combines them)
    become: bool = False  # accepted; kob runs as the inventory's user
    check_mode: bool | None = None  # None: as --check says
    line: int = 0


def load_playbook(path: str | os.PathLike[str]) -> tuple[Play, ...]:
    """Read and check a playbook; vars_files are read too, relative to its folder."""
    root = load_yaml(path, expected="a list of plays")
    plays = root.as_list(expected="a list of plays, each a mapping with hosts: and tasks:")
    if not plays:
        raise root.error("a playbook needs at least one play, e.g. - hosts: all")
    base = Path(os.path.dirname(os.fspath(path)))
    return tuple(_read_play(node, base) for node in plays)


# -- plays -----------------------------------------------------------------------


def _read_play(node: Node, base: Path) -> Play:
    _refuse_unsupported(node, "a play: a mapping with hosts: and tasks:")
    for key, value in node.entries():
        if key in PLAY_UNSUPPORTED:
            raise value.error(f"{key} is taken on a task, not on a play, by kob run; set it on the tasks")
    play = node.record(PLAY_KEYS, expected="a play: a mapping with hosts: and tasks:")
    hosts = _hosts(play.require("hosts"))
    if "become_user" in play:
        play.get_str("become_user")
    names = _handler_names(play.get("handlers"))
    tasks = _read_tasks(play.get("tasks"), names)
    handlers = _read_tasks(play.get("handlers"), names)
    files = play.get("vars_files")
    file_nodes = _str_or_list(files) if files is not None else []
    return Play(
        hosts=hosts,
        name=play.get_str("name", default=None),
        vars={**variables(play.get("vars")), **_vars_files(file_nodes, base)},
        vars_files=tuple(item.as_str() for item in file_nodes),
        tasks=tasks,
        handlers=handlers,
        gather_facts=_flag(play.get("gather_facts"), True),
        serial=play.get_int("serial", default=None, min=1),
        tags=_strings(play.get("tags")),
        become=_flag(play.get("become"), False),
        check_mode=_flag(play.get("check_mode"), None),
        line=node.line,
    )


def _hosts(node: Node) -> str:
    if node.kind == "list":
        return ",".join(node.as_str_list())
    return node.as_str(expected="a host pattern such as all, web or web:!vm3")


def _vars_files(nodes: list[Node], base: Path) -> dict[str, Any]:
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


def _read_tasks(node: Node | None, handlers: dict[str, int]) -> tuple[Task, ...]:
    """Tasks (or handlers); ``handlers`` are the play's handler names that notify: may name."""
    if node is None:
        return ()
    return tuple(_read_task(item, handlers) for item in node.as_list(expected="a list of tasks"))


def _read_task(node: Node, handlers: dict[str, int]) -> Task:
    expected = "a task: a mapping such as {name: ..., shell: ...}"
    _refuse_unsupported(node, expected)
    fields: dict[str, Node] = {}
    module: tuple[str, Node] | None = None
    for key, value in node.entries(expected=expected):
        if key in TASK_KEYS:
            fields[key] = value
            continue
        name = _module_name(key, value)
        if module is not None:
            raise value.error(f"a task has one module, but {module[0]}: is given too (line {module[1].line}); "
                              "split it into two tasks")
        module = (name, value)
    if module is None:
        raise node.error("a task needs one module, e.g. shell: or copy:")
    if "loop" in fields and "with_items" in fields:
        raise fields["with_items"].error("give loop: or with_items:, not both")
    if "become" in fields:
        keyword_bool(fields["become"])
    if "become_user" in fields:
        fields["become_user"].as_str()
    get = fields.get
    return Task(
        module=module[0],
        args=_task_args(module, get("args")),
        name=get("name").as_str() if "name" in fields else None,
        when=_conditions(get("when")) or (),
        loop=_loop(get("loop") or get("with_items")),
        register=get("register").as_str(pattern=_IDENTIFIER, expected="a variable name such as result")
        if "register" in fields else None,
        notify=_notify(get("notify"), handlers),
        tags=_strings(get("tags")),
        ignore_errors=_flag(get("ignore_errors"), False),
        check_mode=_flag(get("check_mode"), None),
        run_once=_flag(get("run_once"), False),
        changed_when=_conditions(get("changed_when")),
        failed_when=_conditions(get("failed_when")),
        vars=variables(get("vars")),
        file=node.file,
        line=node.line,
    )


def _refuse_unsupported(node: Node, expected: str) -> None:
    for key, value in node.entries(expected=expected):
        if _canonical(key) in UNSUPPORTED:
            raise value.error(f"{key} is not supported by kob run (yet); remove it or use kob's own commands")


def _canonical(key: str) -> str:
    prefix = next((p for p in ALIAS_PREFIXES if key.startswith(p)), "")
    return key[len(prefix):]


def _module_name(key: str, value: Node) -> str:
    name = _canonical(key)
    if name in MODULES:
        return name
    prefix = key[: len(key) - len(name)]
    hint = did_you_mean(key, [prefix + m for m in MODULES] + ([] if prefix else list(TASK_KEYS)))
    listed = "" if hint else f" (modules: {', '.join(MODULES)})"
    raise value.error(f"unknown module or task key{hint}{listed}")


def _task_args(module: tuple[str, Node], extra: Node | None) -> dict[str, Any]:
    """The module's own arguments, and those of an args: mapping (which win, as in Ansible)."""
    args = _module_args(*module)
    if extra is None:
        return args
    if extra.kind != "mapping":
        raise extra.error(f"args should be a mapping of {module[0]}'s arguments, e.g. {{creates: /path}}")
    return {**args, **_module_args(module[0], extra)}


def _module_args(module: str, node: Node) -> dict[str, Any]:
    if node.kind == "scalar":
        check_template(node, node.as_str())
    if node.kind == "scalar" and module in FREE_FORM:
        return {"_raw": node.as_str()}
    if node.kind == "scalar":
        args = _key_values(module, node)
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


def _key_values(module: str, node: Node) -> dict[str, tuple[Node, Any]]:
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


def _handler_names(node: Node | None) -> dict[str, int]:
    """Each handler's name and line; names are unique within a play."""
    names: dict[str, int] = {}
    for item in node.as_list(expected="a list of tasks") if node is not None else []:
        found = dict(item.entries(expected="a task: a mapping such as {name: ..., shell: ...}")).get("name")
        if found is None:
            raise item.error("a handler needs a name: so that notify: can name it")
        name = found.as_str()
        if name in names:
            raise found.error(f"handler {name!r} is defined twice in this play (first at line {names[name]}); "
                              "rename one")
        names[name] = found.line
    return names


def _notify(node: Node | None, handlers: dict[str, int]) -> tuple[str, ...]:
    items = [] if node is None else _str_or_list(node)
    for item in items:
        name = item.as_str()
        if name not in handlers:
            known = f" (handlers: {', '.join(handlers)})" if handlers else "; add it under handlers:"
            raise item.error(f"no handler named {name!r} in this play{did_you_mean(name, handlers)}{known}")
    return tuple(item.as_str() for item in items)


# -- values ----------------------------------------------------------------------


def _flag(node: Node | None, default: bool | None) -> bool | None:
    """A boolean keyword as Ansible reads it (yes/no, on/off, true/false); ``default`` when not given."""
    return default if node is None else keyword_bool(node)


def _str_or_list(node: Node) -> list[Node]:
    return [node] if node.kind == "scalar" else node.as_list(expected="a string or a list of strings")


def _strings(node: Node | None) -> tuple[str, ...]:
    return () if node is None else tuple(item.as_str() for item in _str_or_list(node))


def _conditions(node: Node | None) -> tuple[str, ...] | None:
    """when:-like keys: an expression, a list of them (all must hold) or a bool."""
    if node is None:
        return None
    return tuple(_condition(item) for item in _str_or_list(node))


def _condition(node: Node) -> str:
    value = plain_value(node)
    if isinstance(value, bool):
        return str(value)
    text = node.as_str(expected="a condition such as result.rc == 0")
    wrapped = _WRAPPED.fullmatch(text)
    expression = wrapped.group(1).strip() if wrapped else text
    check_expression(node, expression)
    return expression


def _loop(node: Node | None) -> Any:
    if node is None:
        return None
    if node.kind == "scalar":
        text = node.as_str()
        if "{{" not in text:
            raise node.error(f"should be a list, or an expression such as '{{{{ items }}}}', got {node.describe()}")
        check_template(node, text)
        return text
    return [plain_value(item) for item in node.as_list(expected="a list or a string such as '{{ items }}'")]
