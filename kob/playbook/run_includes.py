"""include_tasks / include_role as the runner carries them out (a part of PlaybookRun), and the loop items
of a task: loop:, with_items: (flattened one level) and with_dict: (key/value items), as Ansible gives them."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

from kob.errors import SpecError
from kob.playbook.filters import dict2items, flatten
from kob.playbook.loader import included_tasks
from kob.playbook.model import Block, Include, Play, Task
from kob.playbook.modules import Outcome
from kob.playbook.run_report import Attempt
from kob.playbook.templating import TemplateError, holds, render, with_values
from kob.spec.inventory import Host


def loop_items(task: Task, variables: Any) -> list | None:
    """The task's loop items on one host (None when it has no loop); TemplateError when they are no list."""
    if task.loop is None:
        return None
    items = render(task.loop, variables)
    if task.loop_dict:
        if not isinstance(items, dict):
            raise TemplateError(f"with_dict should give a mapping, got {type(items).__name__}")
        return dict2items(items)
    if not isinstance(items, list):
        raise TemplateError(f"loop should give a list, got {type(items).__name__}")
    return flatten(items, levels=1, skip_nulls=False) if task.loop_flatten else items


def item_values(task: Task, item: Any, index: int) -> dict[str, Any]:
    """The variables a loop item adds: loop_var (item), index_var, ansible_loop_var."""
    return {task.loop_var: item, "ansible_loop_var": task.loop_var, **({task.index_var: index} if task.index_var
                                                                       else {})}


class IncludeRunning:
    """Each host decides an include (its when per item, its loop, its file); hosts that include the same file with
    the same item run its tasks together. Mixed into PlaybookRun, whose methods it uses."""

    async def _include(self, include: Include, play: Play, hosts: list[Host], notified: dict[str, set[str]]) -> None:
        if not self._selected(include.task, play):
            return
        groups: dict[str, tuple[tuple, list[Host]]] = {}
        if self._live(hosts):
            self._header(f"TASK [{include.task.name or include.task.module}]")
        for host in self._live(hosts):
            for items, params, name in self._included(include, play, host):
                key = json.dumps([params, name], sort_keys=True, default=str)  # the same file: run together
                groups.setdefault(key, (tuple(with_params(items, params)), []))[1].append(host)
        for items, group in groups.values():
            await self._items(items, play, group, notified)

    def _included(self, include: Include, play: Play, host: Host) -> list[tuple[tuple, dict[str, Any], str]]:
        """What ``host`` includes: (the tasks, the loop item's variables, the file's name) per item, or nothing."""
        task = include.task
        variables = self._variables(task, play, host)
        try:
            items = loop_items(task, variables)
            found = []
            for index, item in enumerate([None] if items is None else items):
                params = {} if items is None else item_values(task, item, index)
                seen = with_values(variables, params)
                if task.when and not holds(task.when, seen):
                    continue
                name = str(render(task.args["_raw"], seen)) if task.module == "include_tasks" else task.name
                tasks = include.static if include.static is not None else included_tasks(include, name,
                                                                                          self.playbook_dir)
                found.append((tasks, params, name))
        except (TemplateError, SpecError) as error:
            msg = str(error) if isinstance(error, SpecError) else f"{task.file}:{task.line}: {error}"
            lines, _ = self._settle(task, host, [Attempt(None, Outcome("failed", {"msg": msg}))], {})
            for line in lines:
                self.say(line)
            return []
        for tasks, params, name in found:  # as in Ansible, each file included counts as ok
            self._count(host.name, "ok")
            shown = render(task.label, with_values(variables, params)) if task.label and params else \
                params.get(task.loop_var)
            self.say(f"included: {name or task.module} for {host.name}" + (f" => (item={shown})" if params else ""))
        if not found:
            self._count(host.name, "skipped")
            self.say(f"skipping: [{host.name}]")
        return found


def with_params(items: tuple, params: dict[str, Any]) -> list:
    """The included tasks with the include's loop item as a parameter (above their own vars, as in Ansible)."""
    if not params:
        return list(items)
    found: list = []
    for item in items:
        if isinstance(item, Task):
            found.append(replace(item, params={**item.params, **params}))
        elif isinstance(item, Block):
            found.append(replace(item, tasks=tuple(with_params(item.tasks, params)),
                                 rescue=tuple(with_params(item.rescue, params)),
                                 always=tuple(with_params(item.always, params))))
        else:
            found.append(replace(item, task=replace(item.task, params={**item.task.params, **params}),
                                 static=None if item.static is None else tuple(with_params(item.static, params))))
    return found


