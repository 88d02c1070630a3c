"""Ansible-style playbooks for ``kob run``: load_playbook() → Plays of Tasks, every mistake found before anything runs.

    - name: web servers               # a playbook is a non-empty list of plays
      hosts: web:!vm3                 # required; a host pattern (a list is joined with ',')
      vars: {port: 8080}
      vars_files: [vars/common.yml]   # relative to the playbook's folder; they win over vars:
      serial: 2                       # >= 1 hosts at a time, or a share such as "30%"
      max_fail_percentage: 30         # or any_errors_fatal: true; environment:, diff: pass on to tasks
      tasks:
        - name: install nginx
          apt: {name: nginx, state: present}
          notify: restart nginx       # a handler's name (str or list)
        - shell: echo {{ port }} > /tmp/port       # free form: {"_raw": "..."}
        - copy: src=a.conf dest=/etc/a.conf mode=0644  # key=value: a dict of strings
          when: ansible_os_family == "Debian"     # str, list (all must hold) or bool
          loop: [1, 2]                # or "{{ items }}"; with_items: flattens, with_dict: gives key/value
          loop_control: {loop_var: n, index_var: i, label: "{{ n }}"}
        - command: probe
          register: out
          until: out.rc == 0          # retries: (3) and delay: (5) as in Ansible
          delegate_to: localhost      # or a host of the inventory; run_once: yes runs it on the first host
          environment: {LANG: C}
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
        - meta: flush_handlers        # or noop, end_host, end_play
        - include_vars: {dir: vars, name: settings}
    - import_playbook: more.yml       # its plays, read now

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
from pathlib import Path
from typing import Any

from kob.playbook.filter_plugins import load_filter_plugins
from kob.playbook.keywords import (
    MODULES,
    PLAY_KEYS,
    PLAY_UNSUPPORTED,
    STRATEGIES,
    TASK_KEYS,
    UNSUPPORTED,
)
from kob.playbook.model import Block, Include, Item, Play, Scope, Task, walk_tasks
from kob.playbook.role_reading import MAX_NESTING, RoleReading
from kob.playbook.task_fields import (
    Place,
    canonical,
    flag,
    host_pattern,
    refuse_unsupported,
    serial_value,
    str_or_list,
    strings,
    user_name,
    vars_files_values,
)
from kob.playbook.task_reading import TaskReading
from kob.playbook.values import variables
from kob.spec.yaml_source import Node, load_yaml

__all__ = ["MODULES", "PLAY_KEYS", "TASK_KEYS", "UNSUPPORTED", "Block", "Include", "Play", "Task", "included_tasks",
           "load_playbook", "walk_tasks"]


def load_playbook(path: str | os.PathLike[str]) -> tuple[Play, ...]:
    """Read and check a playbook; vars_files, roles and imported task files are read too."""
    return _playbook(Path(path), ())


def _playbook(path: Path, importing: tuple[Path, ...]) -> tuple[Play, ...]:
    root = load_yaml(path, expected="a list of plays")
    nodes = root.as_list(expected="a list of plays, each a mapping with hosts: and tasks:")
    if not nodes:
        raise root.error("a playbook needs at least one play, e.g. - hosts: all")
    base = Path(os.path.dirname(os.fspath(path)))
    load_filter_plugins(base / "filter_plugins")
    plays: list[Play] = []
    for node in nodes:
        imported = _imported_playbook(node, base)
        if imported is None:
            plays.append(_PlayReader(base).play(node))
        elif imported.resolve() in importing or len(importing) >= MAX_NESTING:
            raise node.error(f"import_playbook: {imported} imports itself (through {len(importing)} playbooks)")
        else:
            plays += _playbook(imported, (*importing, path.resolve()))
    return tuple(plays)


def _imported_playbook(node: Node, base: Path) -> Path | None:
    """The file an ``- import_playbook: other.yml`` entry names (None for a play); refused keys at its line."""
    fields = dict(node.entries(expected="a play: a mapping with hosts: and tasks:"))
    key = next((k for k in fields if canonical(k) == "import_playbook"), None)
    if key is None:
        return None
    for other, value in fields.items():
        if other not in (key, "name"):
            raise value.error(f"kob run takes import_playbook: with name: only, not {other}; put {other} on the "
                              "imported playbook's plays")
    written = fields[key].as_str(expected="a playbook file such as other.yml")
    if "{{" in written:
        raise fields[key].error("import_playbook reads its file when the playbook loads; write its name, "
                                "not a template")
    target = Path(written) if Path(written).is_absolute() else base / written
    if not target.is_file():
        raise fields[key].error(f"playbook {written} not found (looked in {target})")
    return target


def included_tasks(include: Include, name: str, playbook_dir: Path) -> tuple[Item, ...]:
    """The tasks of an include whose file name was a template, read once it is rendered (SpecError if bad)."""
    reader = _PlayReader(playbook_dir, checking_notify=False)
    return reader.task_file(Place(include.task.file, include.task.line), name, include.scope)


class _PlayReader(TaskReading, RoleReading):
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
        refuse_unsupported(node, "a play: a mapping with hosts: and tasks:")
        for key, value in node.entries():
            if key in PLAY_UNSUPPORTED:
                raise value.error(f"{key} is taken on a task, not on a play, by kob run; set it on the tasks")
        play = node.record(PLAY_KEYS, expected="a play: a mapping with hosts: and tasks:")
        hosts = host_pattern(play.require("hosts"))
        files = play.get("vars_files")
        file_nodes = str_or_list(files) if files is not None else []
        inherited = {key: play.get(key) for key in ("environment", "diff", "any_errors_fatal") if play.get(key)}
        scope = self.scoped(Scope(self.base), inherited)
        strategy = play.get("strategy")
        if strategy is not None and strategy.as_str() not in STRATEGIES:
            raise strategy.error(f"kob run runs plays as Ansible's linear strategy does, not {strategy.as_str()!r}; "
                                 "leave strategy: out (serial: runs hosts in batches)")
        serial, serial_percent = serial_value(play.get("serial"))
        pre_tasks = self.tasks(play.get("pre_tasks"), scope)
        role_tasks = self.roles(play.get("roles"), scope)
        tasks = self.tasks(play.get("tasks"), scope)
        post_tasks = self.tasks(play.get("post_tasks"), scope)
        own_handlers = self.handler_list(play.get("handlers"), scope)
        self.check_notifies()
        return Play(
            hosts=hosts,
            name=play.get_str("name", default=None),
            vars={**variables(play.get("vars")), **vars_files_values(file_nodes, self.base)},
            vars_files=tuple(item.as_str() for item in file_nodes),
            tasks=role_tasks + tasks,
            handlers=tuple(self.role_handlers) + own_handlers,
            gather_facts=bool(flag(play.get("gather_facts"), True)),
            serial=serial,
            serial_percent=serial_percent,
            max_fail_percentage=play.get_float("max_fail_percentage", default=None, min=0, max=100),
            tags=strings(play.get("tags")),
            become=bool(flag(play.get("become"), False)),
            become_user=user_name(play.get("become_user"), None),
            remote_user=user_name(play.get("remote_user"), None),
            check_mode=flag(play.get("check_mode"), None),
            line=node.line,
            pre_tasks=pre_tasks,
            post_tasks=post_tasks,
            role_defaults=self.role_defaults,
            role_vars=self.role_vars,
            base=self.base,
        )

    # -- roles ----------------------------------------------------------------------
