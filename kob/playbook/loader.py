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
          listen: web changed         # notify: may name a topic instead
    - hosts: db
      pre_tasks: [...]                # then roles:, tasks:, post_tasks: (handlers flushed after each)
      roles:
        - common                      # roles/common beside the playbook (or ANSIBLE_ROLES_PATH)
        - {role: postgres, port: 5433, when: db_enabled, tags: [db]}   # other keys are parameters
      tasks:
        - block: [...]                # rescue: and always: too; when/tags/vars/become pass on
        - import_tasks: setup.yml     # read now; include_tasks: decided per host (when, loop, vars)
        - include_role: {name: common, tasks_from: extra}
        - meta: flush_handlers

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

import json
import os
import re
import shlex
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Mapping, Union

from kob.errors import SpecError
from kob.playbook.values import (check_expression, check_template, keyword_bool, plain_value, typed_argument,
                                 valid_variable_name, variables)
from kob.playbook.templating import check_syntax
from kob.playbook.module_arguments import extend_tables
from kob.playbook.roles import Role, find_role, role_dependencies, role_variables, role_yaml
from kob.spec.yaml_nodes import usable_path
from kob.spec.yaml_source import Node, did_you_mean, load_yaml

__all__ = ["MODULES", "Block", "Include", "Play", "Task", "included_tasks", "load_playbook", "walk_tasks"]

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
    "meta": ("_raw",),  # flush_handlers or noop
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
extend_tables(MODULES, STATES)  # the modules of kob.playbook.modules beyond these

FREE_FORM = ("command", "shell", "meta")
ALIAS_PREFIXES = ("ansible.builtin.", "ansible.legacy.")
PLAY_KEYS = ("hosts", "name", "vars", "vars_files", "pre_tasks", "roles", "tasks", "post_tasks", "handlers",
             "gather_facts", "serial", "tags", "become", "become_user", "check_mode", "remote_user")
TASK_KEYS = ("name", "when", "loop", "with_items", "register", "notify", "tags", "ignore_errors", "changed_when",
             "failed_when", "vars", "become", "become_user", "args", "check_mode", "run_once", "remote_user")
UNSUPPORTED = (
    "import_playbook", "include", "include_vars", "delegate_to", "local_action",
    "async", "poll", "until", "retries", "delay", "loop_control", "with_dict", "with_fileglob",
    "with_together", "with_sequence", "with_nested", "with_subelements", "environment", "no_log",
    "diff", "connection", "strategy", "vars_prompt", "any_errors_fatal",
    "max_fail_percentage", "module_defaults", "collections", "throttle", "become_method", "raw", "script",
)
"""Ansible keys and modules that kob run refuses by name rather than as unknown."""
INSTEAD = {
    "include_vars": "name the file in the play's vars_files:",
    "with_dict": "write loop: \"{{ mapping | dict2items }}\" and use item.key, item.value",
    "loop_control": "use loop: with item (loop_var, label and pause are not taken)",
    "environment": "set the variables in the command itself (shell: X=1 cmd)",
    "become_method": "kob's become is sudo; leave become_method out",
}
"""What to write instead of an unsupported key, where there is something."""
PLAY_UNSUPPORTED = ("run_once", "ignore_errors")
INCLUDES = ("include_tasks", "import_tasks", "include_role", "import_role")
BLOCK_KEYWORDS = ("when", "tags", "vars", "become", "become_user", "ignore_errors", "check_mode", "remote_user")
"""What a block, an import and a role entry pass on to their tasks."""
INCLUDE_KEYWORDS = ("name", "loop", "with_items", *BLOCK_KEYWORDS)
ROLE_CALL_ARGS = ("name", "tasks_from", "vars_from", "defaults_from")
META = ("flush_handlers", "noop")
"""Keys Ansible takes on a play too, that kob run takes on a task only."""

_USER = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,31}")
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_WRAPPED = re.compile(r"\s*\{\{(.*)\}\}\s*", re.DOTALL)


@dataclass(frozen=True)
class Task:
    """One module call; expressions are Jinja2 without {{ }}, templated by the runner.

    Keywords of the blocks, imports and roles around it are already merged in: ``when`` and ``tags``
    hold theirs too, ``vars`` is role vars < block vars < import vars < its own, ``defaults`` the
    role's defaults, ``params`` role parameters (kob.playbook.run says the whole order)."""

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
    defaults: Mapping[str, Any] = field(default_factory=dict)
    params: Mapping[str, Any] = field(default_factory=dict)
    role: Role | None = None  # its template/copy src are looked for in the role's folders first
    listen: tuple[str, ...] = ()  # a handler's topics
    become: bool | None = None  # None: as the play says
    become_user: str | None = None
    remote_user: str | None = None  # None: as the play says


@dataclass(frozen=True)
class Block:
    """block: its tasks; on a host where one fails, rescue:; then always: on every host that began it."""

    tasks: tuple[Any, ...]
    rescue: tuple[Any, ...] = ()
    always: tuple[Any, ...] = ()
    name: str | None = None
    file: str = ""
    line: int = 0


@dataclass(frozen=True)
class Scope:
    """What the tasks inside a block, an import or a role inherit."""

    base: Path  # where import_tasks/include_tasks file names start
    when: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    vars: Mapping[str, Any] = field(default_factory=dict)
    params: Mapping[str, Any] = field(default_factory=dict)
    defaults: Mapping[str, Any] = field(default_factory=dict)
    role: Role | None = None
    ignore_errors: bool | None = None
    check_mode: bool | None = None
    depth: int = 0
    become: bool | None = None
    become_user: str | None = None
    remote_user: str | None = None


@dataclass(frozen=True)
class Include:
    """include_tasks / include_role: decided per host when reached (its when once, then its loop).

    ``task`` holds its own keywords (name, when, loop, vars, tags) as a Task of module include_tasks
    or include_role; ``static`` the tasks already read when the file's name is not a template."""

    task: Task
    scope: Scope
    static: tuple[Any, ...] | None = None


Item = Union[Task, Block, Include]


@dataclass(frozen=True)
class Play:
    """Tasks for the hosts a pattern selects; vars already merged with its vars_files.

    ``tasks`` are the roles' tasks then the play's own; handlers run after pre_tasks, after tasks,
    after post_tasks, and at meta: flush_handlers."""

    hosts: str
    name: str | None = None
    vars: Mapping[str, Any] = field(default_factory=dict)
    vars_files: tuple[str, ...] = ()  # as written, relative to the playbook's folder
    tasks: tuple[Item, ...] = ()
    handlers: tuple[Task, ...] = ()
    gather_facts: bool = True
    serial: int | None = None
    tags: tuple[str, ...] = ()  # inherited by its tasks (the runner combines them)
    become: bool = False  # commands run through sudo -u become_user on the host (unless already that user)
    check_mode: bool | None = None  # None: as --check says
    line: int = 0
    become_user: str | None = None  # None: root
    remote_user: str | None = None  # None: the inventory's ssh user (or the host's)
    pre_tasks: tuple[Item, ...] = ()
    post_tasks: tuple[Item, ...] = ()
    role_defaults: Mapping[str, Any] = field(default_factory=dict)  # every role's defaults, seen by every task
    role_vars: Mapping[str, Any] = field(default_factory=dict)  # every role's vars, above the play's vars


def load_playbook(path: str | os.PathLike[str]) -> tuple[Play, ...]:
    """Read and check a playbook; vars_files, roles and imported task files are read too."""
    root = load_yaml(path, expected="a list of plays")
    plays = root.as_list(expected="a list of plays, each a mapping with hosts: and tasks:")
    if not plays:
        raise root.error("a playbook needs at least one play, e.g. - hosts: all")
    base = Path(os.path.dirname(os.fspath(path)))
    return tuple(_PlayReader(base).play(node) for node in plays)


def walk_tasks(items: tuple[Item, ...]) -> list[Task]:
    """Every task in ``items``, inside blocks and read includes too (and the include tasks themselves)."""
    found: list[Task] = []
    for item in items:
        if isinstance(item, Task):
            found.append(item)
        elif isinstance(item, Block):
            found += walk_tasks((*item.tasks, *item.rescue, *item.always))
        else:
            found += [item.task, *walk_tasks(item.static or ())]
    return found


def included_tasks(include: Include, name: str, playbook_dir: Path) -> tuple[Item, ...]:
    """The tasks of an include whose file name was a template, read once it is rendered (SpecError if bad)."""
    reader = _PlayReader(playbook_dir, checking_notify=False)
    return reader.task_file(_Place(include.task.file, include.task.line), name, include.scope)


# -- plays -----------------------------------------------------------------------

MAX_TEMPLATE_BYTES = 2 << 20
MAX_NESTING = 32  # blocks, imports and role dependencies inside each other


class _Place:
    """Where to report an error when there is no Node (an include's name rendered at run time)."""

    def __init__(self, file: str, line: int):
        self.file, self.line = file, line

    def error(self, message: str) -> SpecError:
        return SpecError(self.file, self.line, "", message)


class _PlayReader:
    """Reads one play: its roles, task lists, blocks, imports and handlers; checks every notify at the end."""

    def __init__(self, base: Path, checking_notify: bool = True):
        self.base = base
        self.handlers: dict[str, int] = {}  # handler names and listen topics → line
        self.notifies: list[Node] = []
        self.role_handlers: list[Task] = []
        self.roles_run: set[tuple[str, str]] = set()
        self.checking_notify = checking_notify
        self.role_defaults: dict[str, Any] = {}  # as in Ansible, a role's defaults and vars are the play's too
        self.role_vars: dict[str, Any] = {}

    def play(self, node: Node) -> Play:
        _refuse_unsupported(node, "a play: a mapping with hosts: and tasks:")
        for key, value in node.entries():
            if key in PLAY_UNSUPPORTED:
                raise value.error(f"{key} is taken on a task, not on a play, by kob run; set it on the tasks")
        play = node.record(PLAY_KEYS, expected="a play: a mapping with hosts: and tasks:")
        hosts = _hosts(play.require("hosts"))
        files = play.get("vars_files")
        file_nodes = _str_or_list(files) if files is not None else []
        scope = Scope(self.base)
        pre_tasks = self.tasks(play.get("pre_tasks"), scope)
        role_tasks = self.roles(play.get("roles"), scope)
        tasks = self.tasks(play.get("tasks"), scope)
        post_tasks = self.tasks(play.get("post_tasks"), scope)
        own_handlers = self.handler_list(play.get("handlers"), scope)
        self.check_notifies()
        return Play(
            hosts=hosts,
            name=play.get_str("name", default=None),
            vars={**variables(play.get("vars")), **_vars_files(file_nodes, self.base)},
            vars_files=tuple(item.as_str() for item in file_nodes),
            tasks=role_tasks + tasks,
            handlers=tuple(self.role_handlers) + own_handlers,
            gather_facts=bool(_flag(play.get("gather_facts"), True)),
            serial=play.get_int("serial", default=None, min=1),
            tags=_strings(play.get("tags")),
            become=bool(_flag(play.get("become"), False)),
            become_user=_become_user(play.get("become_user"), None),
            remote_user=_become_user(play.get("remote_user"), None),
            check_mode=_flag(play.get("check_mode"), None),
            line=node.line,
            pre_tasks=pre_tasks,
            post_tasks=post_tasks,
            role_defaults=self.role_defaults,
            role_vars=self.role_vars,
        )

    # -- roles ----------------------------------------------------------------------

    def roles(self, node: Node | None, scope: Scope) -> tuple[Item, ...]:
        found: list[Item] = []
        for entry in node.as_list(expected="a list of roles") if node is not None else []:
            found += self.role_entry(entry, scope)
        return tuple(found)

    def role_entry(self, entry: Node, scope: Scope) -> list[Item]:
        """A roles: entry: a name, or {role: name, when:, tags:, vars:, and other keys as parameters}."""
        if entry.kind == "scalar":
            return self.role(entry, entry.as_str(), scope, {})
        fields = dict(entry.entries(expected="a role: its name, or a mapping such as {role: web, port: 80}"))
        named = fields.pop("role", None) or fields.pop("name", None)
        if named is None:
            raise entry.error("a roles: entry needs role: (the role's name)")
        keywords = {key: fields.pop(key) for key in list(fields) if key in BLOCK_KEYWORDS}
        for key, value in fields.items():
            if _canonical(key) in UNSUPPORTED or key in TASK_KEYS:
                raise value.error(f"{key} is not supported on a role by kob run (yet); "
                                  f"it takes {', '.join(BLOCK_KEYWORDS)} and parameters")
            if not valid_variable_name(key):
                raise value.error(f"a role parameter should be a variable name, got {key!r}")
        params = {key: plain_value(value) for key, value in fields.items()}
        return self.role(named, named.as_str(), self.scoped(scope, keywords), params)

    def role(self, where: Node, name: str, scope: Scope, params: dict[str, Any], tasks_from: str = "main",
             vars_from: str = "main", defaults_from: str = "main", again: bool = False) -> list[Item]:
        role = find_role(where, name, self.base)
        key = (str(role.path), json.dumps([params, tasks_from], sort_keys=True, default=str))
        if key in self.roles_run and not again:
            return []  # a role runs once in a play with the same parameters, as in Ansible
        self.roles_run.add(key)
        if scope.depth > MAX_NESTING:
            raise where.error(f"roles depend on each other more than {MAX_NESTING} deep; is there a loop?")
        defaults = role_variables(role, "defaults", defaults_from, where)
        own_vars = role_variables(role, "vars", vars_from, where)
        inner = replace(scope, base=role.path / "tasks", role=role, depth=scope.depth + 1,
                        defaults={**scope.defaults, **defaults}, vars={**scope.vars, **own_vars},
                        params={**scope.params, **params})
        self.role_handler_file(role, inner)  # before its dependencies' handlers, as Ansible orders them
        found: list[Item] = []
        for dependency in role_dependencies(role):
            found += self.role_entry(dependency, replace(scope, depth=scope.depth + 1, params={}))
        self.role_defaults.update(defaults)
        self.role_vars.update(own_vars)
        tasks = role_yaml(role, "tasks", tasks_from, where)
        found += self.tasks(tasks, inner) if tasks is not None else []
        return found

    def role_handler_file(self, role: Role, scope: Scope) -> None:
        if any(h.role == role for h in self.role_handlers):
            return
        node = role_yaml(role, "handlers")
        self.role_handlers += self.handler_list(node, replace(scope, when=(), tags=()), prefix=f"{role.name} : ")

    def role_call(self, value: Node, scope: Scope) -> list[Item]:
        """import_role:/include_role: {name:, tasks_from:, vars_from:, defaults_from:} (runs the role again)."""
        args = dict(value.entries(expected="a mapping such as {name: web, tasks_from: setup}"))
        for key, arg in args.items():
            if key not in ROLE_CALL_ARGS:
                raise arg.error(f"unknown argument{did_you_mean(key, ROLE_CALL_ARGS)} "
                                f"(it takes: {', '.join(ROLE_CALL_ARGS)})")
        if "name" not in args:
            raise value.error("needs name: (the role's name)")
        given = {key: arg.as_str() for key, arg in args.items()}
        return self.role(args["name"], given["name"], scope, {}, given.get("tasks_from", "main"),
                         given.get("vars_from", "main"), given.get("defaults_from", "main"), again=True)

    # -- task lists --------------------------------------------------------------------

    def tasks(self, node: Node | None, scope: Scope) -> tuple[Item, ...]:
        found: list[Item] = []
        for item in node.as_list(expected="a list of tasks") if node is not None else []:
            found += self.item(item, scope)
        return tuple(found)

    def handler_list(self, node: Node | None, scope: Scope, prefix: str = "") -> tuple[Task, ...]:
        handlers: list[Task] = []
        for item in node.as_list(expected="a list of tasks") if node is not None else []:
            fields = dict(item.entries(expected="a task: a mapping such as {name: ..., shell: ...}"))
            if "name" not in fields and "listen" not in fields:
                raise item.error("a handler needs a name: (or listen:) so that notify: can name it")
            if "block" in fields or any(_canonical(k) in INCLUDES for k in fields):
                raise item.error("kob run takes a handler as one task, not a block or an include; "
                                 "write several handlers that listen: to one topic")
            if "name" in fields:
                name = fields["name"].as_str()
                first = self.handlers.get(name)
                if first is not None and not prefix:
                    raise fields["name"].error(f"handler {name!r} is defined twice in this play "
                                               f"(first at line {first}); rename one")
                self.handlers.setdefault(name, fields["name"].line)
                if prefix:
                    self.handlers.setdefault(prefix + name, fields["name"].line)
            task = self.task(item, scope, fields)
            for topic in task.listen:
                self.handlers.setdefault(topic, item.line)
            handlers.append(task)
        return tuple(handlers)

    def item(self, node: Node, scope: Scope) -> list[Item]:
        fields = dict(node.entries(expected="a task: a mapping such as {name: ..., shell: ...}"))
        if scope.depth > MAX_NESTING:
            raise node.error(f"blocks and imports nest more than {MAX_NESTING} deep; does a file import itself?")
        if "block" in fields:
            return [self.block(node, fields, scope)]
        include = next((k for k in fields if _canonical(k) in INCLUDES), None)
        if include is not None:
            return self.include(node, fields, _canonical(include), fields[include], scope)
        for key in ("rescue", "always"):
            if key in fields:
                raise fields[key].error(f"{key}: belongs to a block: next to block:")
        return [self.task(node, scope, fields)]

    def scoped(self, scope: Scope, keywords: dict[str, Node]) -> Scope:
        """``scope`` with the keywords of a block, an import or a role entry added."""
        for key, value in keywords.items():
            if key not in BLOCK_KEYWORDS:
                raise value.error(f"{key} is not taken here by kob run (it takes: {', '.join(BLOCK_KEYWORDS)})")
        return replace(scope, depth=scope.depth + 1, become=_flag(keywords.get("become"), scope.become),
                       become_user=_become_user(keywords.get("become_user"), scope.become_user),
                       remote_user=_become_user(keywords.get("remote_user"), scope.remote_user),
                       when=scope.when + (_conditions(keywords.get("when")) or ()),
                       tags=scope.tags + _strings(keywords.get("tags")),
                       vars={**scope.vars, **variables(keywords.get("vars"))},
                       ignore_errors=_flag(keywords.get("ignore_errors"), scope.ignore_errors),
                       check_mode=_flag(keywords.get("check_mode"), scope.check_mode))

    def block(self, node: Node, fields: dict[str, Node], scope: Scope) -> Block:
        parts = {key: fields.pop(key) for key in ("block", "rescue", "always") if key in fields}
        name = fields.pop("name", None)
        for key, value in fields.items():
            if _canonical(key) in UNSUPPORTED:
                raise value.error(f"{key} is not supported by kob run (yet); remove it or use kob's own commands")
        inner = self.scoped(scope, fields)
        return Block(tasks=self.tasks(parts["block"], inner), rescue=self.tasks(parts.get("rescue"), inner),
                     always=self.tasks(parts.get("always"), inner),
                     name=name.as_str() if name is not None else None, file=node.file, line=node.line)

    def include(self, node: Node, fields: dict[str, Node], kind: str, value: Node, scope: Scope) -> list[Item]:
        rest = {key: v for key, v in fields.items() if _canonical(key) not in INCLUDES}
        for key, v in rest.items():
            if key not in INCLUDE_KEYWORDS:
                raise v.error(f"{kind} takes {', '.join(INCLUDE_KEYWORDS)} in kob run, not {key}")
        looped = rest.get("loop") or rest.get("with_items")
        if kind.startswith("import") and looped is not None:
            raise looped.error(f"{kind} cannot loop (as in Ansible); use {kind.replace('import', 'include')}")
        keywords = {k: v for k, v in rest.items() if k in BLOCK_KEYWORDS}
        if kind == "import_role":
            return self.role_call(value, self.scoped(scope, keywords))
        if kind == "import_tasks":
            target = _file_name(value)
            if "{{" in target:
                raise value.error("import_tasks reads its file when the playbook loads, so its name cannot be a "
                                  "template; use include_tasks")
            return list(self.task_file(value, target, self.scoped(scope, keywords)))
        target = _file_name(value) if kind == "include_tasks" else ""
        own = Task(module=kind, args={"_raw": target}, name=rest["name"].as_str() if "name" in rest else None,
                   when=scope.when + (_conditions(rest.get("when")) or ()), loop=_loop(looped),
                   tags=scope.tags + _strings(rest.get("tags")), vars={**scope.vars, **variables(rest.get("vars"))},
                   ignore_errors=bool(_flag(rest.get("ignore_errors"), scope.ignore_errors)),
                   defaults=scope.defaults, params=scope.params, role=scope.role, file=node.file, line=node.line)
        inner = replace(scope, when=(), depth=scope.depth + 1, vars=own.vars,
                        ignore_errors=own.ignore_errors if "ignore_errors" in rest else scope.ignore_errors)
        if kind == "include_role":
            return [Include(own, inner, tuple(self.role_call(value, inner)))]
        check_template(value, target)
        return [Include(own, inner, None if "{{" in target else self.task_file(value, target, inner))]

    def task_file(self, where: Any, name: str, scope: Scope) -> tuple[Item, ...]:
        written = Path(name)
        candidates = [written] if written.is_absolute() else [scope.base / written, self.base / written]
        if scope.role is not None and not written.is_absolute():
            candidates.insert(1, scope.role.path / "tasks" / written)
        path = next((c for c in candidates if c.is_file()), None)
        if path is None:
            raise where.error(f"tasks file {name} not found (looked in {', '.join(str(c) for c in candidates)})")
        try:
            node = load_yaml(path, expected="a list of tasks")
        except SpecError as error:
            if error.message.startswith("empty file"):
                return ()
            raise
        return self.tasks(node, replace(scope, base=path.parent, depth=scope.depth + 1))

    # -- one task -------------------------------------------------------------------------

    def task(self, node: Node, scope: Scope, fields: dict[str, Node]) -> Task:
        _refuse_unsupported(node, "a task: a mapping such as {name: ..., shell: ...}")
        own: dict[str, Node] = {}
        module: tuple[str, Node] | None = None
        for key, value in fields.items():
            if key in TASK_KEYS or key == "listen":
                own[key] = value
                continue
            name = _module_name(key, value)
            if module is not None:
                raise value.error(f"a task has one module, but {module[0]}: is given too (line {module[1].line}); "
                                  "split it into two tasks")
            module = (name, value)
        if module is None:
            raise node.error("a task needs one module, e.g. shell: or copy:")
        if "loop" in own and "with_items" in own:
            raise own["with_items"].error("give loop: or with_items:, not both")
        get = own.get
        if get("notify") is not None:
            self.notifies += _str_or_list(get("notify"))
        args = _task_args(module, get("args"))
        if module[0] == "template":
            self.check_template_file(module[1], args.get("src"), scope)
        return Task(
            module=module[0],
            args=args,
            name=get("name").as_str() if "name" in own else None,
            when=scope.when + (_conditions(get("when")) or ()),
            loop=_loop(get("loop") or get("with_items")),
            register=get("register").as_str(pattern=_IDENTIFIER, expected="a variable name such as result")
            if "register" in own else None,
            notify=_strings(get("notify")),
            tags=scope.tags + _strings(get("tags")),
            ignore_errors=bool(_flag(get("ignore_errors"), scope.ignore_errors)),
            check_mode=_flag(get("check_mode"), scope.check_mode),
            run_once=bool(_flag(get("run_once"), False)),
            changed_when=_conditions(get("changed_when")),
            failed_when=_conditions(get("failed_when")),
            vars={**scope.vars, **variables(get("vars"))},
            file=node.file,
            line=node.line,
            defaults=scope.defaults,
            params=scope.params,
            role=scope.role,
            listen=_strings(get("listen")),
            become=_flag(get("become"), scope.become),
            become_user=_become_user(get("become_user"), scope.become_user),
            remote_user=_become_user(get("remote_user"), scope.remote_user),
        )

    def check_template_file(self, where: Node, src: Any, scope: Scope) -> None:
        """A template file named literally is read now: its syntax, filters and tests checked at load."""
        if not isinstance(src, str) or "{{" in src:
            return
        roles = (scope.role.path / "templates" / src, scope.role.path / src) if scope.role else ()
        found = next((c for c in (*roles, Path(src), self.base / src, self.base / "templates" / src)
                      if c.is_file()), None)
        if found is None or found.stat().st_size > MAX_TEMPLATE_BYTES:
            return  # the run says it is missing (or too big), at this task
        why = check_syntax(found.read_text(errors="replace"))
        if why is not None:
            raise where.error(f"cannot read the template {found}: {why}")

    def check_notifies(self) -> None:
        for item in self.notifies if self.checking_notify else []:
            name = item.as_str()
            if name not in self.handlers:
                known = f" (handlers: {', '.join(self.handlers)})" if self.handlers else "; add it under handlers:"
                raise item.error(f"no handler named {name!r} in this play{did_you_mean(name, self.handlers)}{known}")


def _file_name(node: Node) -> str:
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


def _refuse_unsupported(node: Node, expected: str) -> None:
    for key, value in node.entries(expected=expected):
        if _canonical(key) in UNSUPPORTED:
            hint = INSTEAD.get(_canonical(key), "remove it or use kob's own commands")
            raise value.error(f"{key} is not supported by kob run (yet); {hint}")


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
    if module == "meta" and not (node.kind == "scalar" and node.as_str() in META):
        raise node.error(f"meta: {node.describe()} is not supported by kob run (yet); it takes {', '.join(META)}")
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


# -- values ----------------------------------------------------------------------


def _flag(node: Node | None, default: bool | None) -> bool | None:
    """A boolean keyword as Ansible reads it (yes/no, on/off, true/false); ``default`` when not given."""
    return default if node is None else keyword_bool(node)


def _become_user(node: Node | None, default: str | None) -> str | None:
    if node is None:
        return default
    return node.as_str(pattern=_USER, expected="a user name such as www-data (not a template, in kob run)")


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
