"""A loaded playbook as frozen dataclasses: Plays of Tasks, Blocks and Includes (pure)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kob.playbook.roles import Role


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
    until: tuple[str, ...] | None = None  # retried until these hold (or, with retries: alone, until it succeeds)
    retries: int | None = None  # None: 3 with until:, none without (Ansible's attempts are retries + 1)
    delay: int = 5  # seconds between attempts
    loop_var: str = "item"  # loop_control
    index_var: str | None = None
    label: str | None = None  # what the output shows of an item (a template)
    loop_pause: float = 0.0
    loop_dict: bool = False  # with_dict: the loop's mapping becomes key/value items
    loop_flatten: bool = False  # with_items: lists in the list are flattened one level
    delegate_to: str | None = None  # a host of the inventory, or localhost (the manager); may be a template
    environment: Mapping[str, Any] = field(default_factory=dict)  # the play's, blocks' and its own, merged
    diff: bool | None = None  # None: as the play (and --diff) say
    any_errors_fatal: bool | None = None  # None: as the play says
    no_log: bool = False  # its results are not shown


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
    environment: Mapping[str, Any] = field(default_factory=dict)
    diff: bool | None = None
    any_errors_fatal: bool | None = None
    delegate_to: str | None = None


@dataclass(frozen=True)
class Include:
    """include_tasks / include_role: decided per host when reached (its when once, then its loop).

    ``task`` holds its own keywords (name, when, loop, vars, tags) as a Task of module include_tasks
    or include_role; ``static`` the tasks already read when the file's name is not a template."""

    task: Task
    scope: Scope
    static: tuple[Any, ...] | None = None


Item = Task | Block | Include


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
    max_fail_percentage: float | None = None  # the play ends once more than this share of a batch failed
    serial_percent: float | None = None  # serial: "30%" (serial holds a count)
    base: Path | None = None  # the folder of the playbook file it came from (import_playbook)


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
