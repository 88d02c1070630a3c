"""Run plays the way Ansible's linear strategy does: each task on every host at once, then the next.

A host that fails (without ignore_errors) or cannot be reached stops; the others go on.
Handlers run at the end of a play on the hosts where a task that notified them changed
something. Variables, lowest first: host facts and inventory data, play vars, vars_files,
registered values and set_fact, task vars, then -e extra vars.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable

from kob.errors import KobError, SpecError, TransportError
from kob.facts.host_facts import host_facts_fact
from kob.playbook.modules import HostContext, Outcome, run_module
from kob.playbook.templating import OMIT, TemplateError, Variables, drop_omitted, holds, render, with_values
from kob.spec.inventory import Host, Inventory
from kob.spec.patterns import select_hosts
from kob.playbook.loader import Block, Include, Play, Task, included_tasks
from kob.transport.base import Transport
from kob.transport.gather import gather
from kob.transport.targets import ssh_target

WIDTH = 72


@dataclass
class Tally:
    ok: int = 0
    changed: int = 0
    unreachable: int = 0
    failed: int = 0
    skipped: int = 0
    ignored: int = 0
    rescued: int = 0


@dataclass
class RunOptions:
    check: bool = False
    diff: bool = False
    limit: str | None = None
    tags: tuple[str, ...] = ()
    extra_vars: dict[str, Any] = field(default_factory=dict)


class PlaybookRun:
    def __init__(self, inventory: Inventory, plays: tuple[Play, ...], playbook: Path, pool: Transport,
                 options: RunOptions, say: Callable[[str], None] = print):
        self.inventory, self.plays, self.pool, self.options, self.say = inventory, plays, pool, options, say
        self.playbook_dir = playbook.resolve().parent
        self.tally: dict[str, Tally] = {}
        self.base_vars: dict[str, dict[str, Any]] = {}  # inventory data and gathered facts
        self.host_vars: dict[str, dict[str, Any]] = {}  # set_fact and registered results
        self.stopped: set[str] = set()  # failed or unreachable: no more tasks
        self.unreachable: set[str] = set()

    async def run(self) -> dict[str, Tally]:
        for play in self.plays:
            await self._play(play)
        self._recap()
        return self.tally

    async def _play(self, play: Play) -> None:
        self._playing = play
        hosts = self._hosts(play)
        self._header(f"PLAY [{play.name or play.hosts}]")
        if not hosts:
            self.say("skipping: no hosts matched")
            return
        for first in range(0, len(hosts), play.serial or len(hosts)):
            batch = hosts[first:first + (play.serial or len(hosts))]
            if play.gather_facts:
                await self._gather(batch)
            notified: dict[str, set[str]] = {h.name: set() for h in batch}
            for section in (play.pre_tasks, play.tasks, play.post_tasks):
                await self._items(section, play, batch, notified)
                await self._flush(play, batch, notified)

    async def _items(self, items: tuple, play: Play, hosts: list[Host], notified: dict[str, set[str]]) -> None:
        for item in items:
            if isinstance(item, Block):
                await self._block(item, play, hosts, notified)
            elif isinstance(item, Include):
                await self._include(item, play, hosts, notified)
            elif item.module == "meta":
                if item.args.get("_raw") == "flush_handlers" and self._selected(item, play):
                    await self._flush(play, hosts, notified)
            elif self._selected(item, play):
                await self._task(item, play, hosts, notified)

    async def _flush(self, play: Play, hosts: list[Host], notified: dict[str, set[str]]) -> None:
        """Run the notified handlers in the order they are defined; a handler may notify a later one."""
        used: dict[str, set[str]] = {h.name: set() for h in hosts}
        for handler in play.handlers:
            keys = {handler.name, *handler.listen} - {None}
            if handler.role is not None and handler.name:
                keys.add(f"{handler.role.name} : {handler.name}")  # notify: "role : handler" names it too
            targets = [h for h in self._live(hosts) if keys & notified.get(h.name, set())]
            for host in targets:
                used[host.name] |= keys & notified[host.name]
            if targets:
                await self._task(handler, play, targets, notified, heading="RUNNING HANDLER")
        for host in hosts:
            notified.get(host.name, set()).difference_update(used.get(host.name, set()))

    async def _block(self, block: Block, play: Play, hosts: list[Host], notified: dict[str, set[str]]) -> None:
        """block:, then rescue: on the hosts that failed in it, then always: on every host that began it."""
        began = self._live(hosts)
        await self._items(block.tasks, play, began, notified)
        failed = [h for h in began if h.name in self.stopped and h.name not in self.unreachable]
        if failed and block.rescue:
            for host in failed:  # as in Ansible: a failure rescued is not counted as failed
                self.stopped.discard(host.name)
                self.tally[host.name].failed -= 1
                self.tally[host.name].rescued += 1
            await self._items(block.rescue, play, failed, notified)
        if block.always:
            still = {h.name for h in began if h.name in self.stopped and h.name not in self.unreachable}
            self.stopped -= still
            await self._items(block.always, play, began, notified)
            self.stopped |= still

    async def _include(self, include: Include, play: Play, hosts: list[Host], notified: dict[str, set[str]]) -> None:
        """include_tasks/include_role: each host decides (when, loop, the file); hosts that include the same
        file with the same item run its tasks together."""
        if not self._selected(include.task, play):
            return
        groups: dict[str, tuple[tuple, list[Host]]] = {}
        if self._live(hosts):
            self._header(f"TASK [{include.task.name or include.task.module}]")
        for host in self._live(hosts):
            for items, params, name in self._included(include, play, host):
                key = json.dumps([params, name], sort_keys=True, default=str)  # the same file: run together
                groups.setdefault(key, (tuple(_with_params(items, params)), []))[1].append(host)
        for items, group in groups.values():
            await self._items(items, play, group, notified)

    def _included(self, include: Include, play: Play, host: Host) -> list[tuple[tuple, dict[str, Any], str]]:
        """What ``host`` includes: (the tasks, the loop item, the file's name) for each loop item, or nothing."""
        task = include.task
        variables = self._variables(task, play, host)
        try:
            items = render(task.loop, variables) if task.loop is not None else None
            if items is not None and not isinstance(items, list):
                raise TemplateError(f"loop should give a list, got {type(items).__name__}")
            found = []
            for item in [None] if items is None else items:
                seen = variables if item is None else with_values(variables, {"item": item})
                if task.when and not holds(task.when, seen):
                    continue
                name = str(render(task.args["_raw"], seen)) if task.module == "include_tasks" else task.name
                tasks = include.static if include.static is not None else _read_include(include, name,
                                                                                        self.playbook_dir)
                found.append((tasks, {"item": item} if item is not None else {}, name))
        except (TemplateError, SpecError) as error:
            msg = str(error) if isinstance(error, SpecError) else f"{task.file}:{task.line}: {error}"
            lines, _ = self._settle(task, host, [(None, Outcome("failed", {"msg": msg}))], {})
            for line in lines:
                self.say(line)
            return []
        for tasks, params, name in found:  # as in Ansible, each file included counts as ok
            self._count(host.name, "ok")
            self.say(f"included: {name or task.module} for {host.name}" + (f" => (item={params['item']})"
                                                                           if params else ""))
        if not found:
            self._count(host.name, "skipped")
            self.say(f"skipping: [{host.name}]")
        return found

    def _hosts(self, play: Play) -> list[Host]:
        hosts = select_hosts(self.inventory, play.hosts)
        if self.options.limit:
            allowed = {h.name for h in select_hosts(self.inventory, self.options.limit)}
            hosts = [h for h in hosts if h.name in allowed]
        for host in hosts:
            self.tally.setdefault(host.name, Tally())
            self.host_vars.setdefault(host.name, {})
            self.base_vars.setdefault(host.name, {"inventory_hostname": host.name, "ansible_host": host.address,
                                                  "group_names": sorted(host.roles), "labels": dict(host.labels)})
        return hosts

    def _selected(self, task: Task, play: Play) -> bool:
        tags = set(task.tags) | set(play.tags)
        if "never" in tags and "never" not in self.options.tags:
            return False
        return not self.options.tags or bool(tags & (set(self.options.tags) | {"always"}))

    async def _gather(self, hosts: list[Host]) -> None:
        self._header("TASK [Gathering Facts]")
        live = self._live(hosts)
        found = await gather(self.pool, self.inventory, host_facts_fact(), live)
        for host in live:
            facts = found.hosts.get(host.name)
            if facts is None:
                self._unreachable(host.name, found.unreachable[host.name])
                continue
            self.base_vars[host.name].update(facts, ansible_facts=facts)
            self._count(host.name, "ok")
            self.say(f"ok: [{host.name}]")

    async def _task(self, task: Task, play: Play, hosts: list[Host], notified: dict[str, set[str]],
                    heading: str = "TASK") -> None:
        live = self._live(hosts)
        if not live:
            return
        self._header(f"{heading} [{task.name or task.module}]")
        shared: dict[str, Any] = {}  # what the task's hosts share (a kob_deploy runs once)
        running = live[:1] if task.run_once else live
        reports = await asyncio.gather(*(self._on_host(task, play, h, shared) for h in running))
        for host, (lines, status) in zip(running, reports):
            for line in lines:
                self.say(line)
            if status == "changed" and host.name in notified:
                notified[host.name].update(task.notify)
        if task.run_once:  # as in Ansible: what the first host registered and set, every host of the batch has
            first = self.host_vars[running[0].name]
            kept = {**shared.get("facts", {}), **({task.register: first[task.register]} if task.register else {})}
            for host in live[1:]:
                self.host_vars[host.name].update(kept)

    async def _on_host(self, task: Task, play: Play, host: Host, shared: dict[str, Any]) -> tuple[list[str], str]:
        """Run the task (each loop item) on one host; the lines to print and how it went."""
        variables = self._variables(task, play, host)
        try:
            items = render(task.loop, variables) if task.loop is not None else None
            if items is not None and not isinstance(items, list):
                raise TemplateError(f"loop should give a list, got {type(items).__name__}")
            runs = [(None, variables)] if items is None else [(i, with_values(variables, {"item": i})) for i in items]
            check = next(c for c in (task.check_mode, play.check_mode, self.options.check) if c is not None)
            done = [(item, await self._once(task, host, item_vars, shared, check)) for item, item_vars in runs]
        except TransportError as error:
            self._count(host.name, "unreachable")
            self.stopped.add(host.name)
            self.unreachable.add(host.name)
            return [f"fatal: [{host.name}]: UNREACHABLE! => {json.dumps({'msg': str(error)})}"], "unreachable"
        except TemplateError as error:
            done = [(None, Outcome("failed", {"msg": f"{task.file}:{task.line}: {error}"}))]
        return self._settle(task, host, done, shared)

    async def _once(self, task: Task, host: Host, variables: dict[str, Any], shared: dict[str, Any],
                    check: bool) -> Outcome:
        if task.when and not holds(task.when, variables):
            return Outcome("skipped", {"skipped": True, "msg": "Conditional result was False"})
        args = drop_omitted(render(dict(task.args), variables))
        context = HostContext(host.name, self._runner(host, self._become(task), task.remote_user
                                                      or self._playing.remote_user), check, self.options.diff,
                              self.playbook_dir, self.inventory, self.pool, shared,
                              role_path=task.role.path if task.role else None)
        try:
            outcome = await run_module(task.module, args, context, variables)
        except TransportError:
            raise  # the host is unreachable: _on_host says so
        except (KeyError, ValueError, FileNotFoundError, KobError) as error:
            outcome = Outcome("failed", {"msg": f"{task.file}:{task.line}: {task.module}: {error}"})
        return self._judged(task, outcome, variables)

    def _judged(self, task: Task, outcome: Outcome, variables: dict[str, Any]) -> Outcome:
        """changed_when / failed_when, evaluated with the result under the register name."""
        if outcome.status == "skipped":
            return outcome
        seen = with_values(variables, {task.register: outcome.result} if task.register else {})
        if task.changed_when is not None and outcome.status != "failed":
            outcome.status = "changed" if holds(task.changed_when, seen) else "ok"
        if task.failed_when is not None:
            failed = holds(task.failed_when, seen)
            outcome.status = "failed" if failed else ("ok" if outcome.status == "failed" else outcome.status)
        return outcome

    def _settle(self, task: Task, host: Host, done: list[tuple[Any, Outcome]],
                shared: dict[str, Any]) -> tuple[list[str], str]:
        """Count, register, set facts, and say what happened."""
        lines, statuses = [], [o.status for _, o in done]
        for item, outcome in done:
            self.host_vars[host.name].update(outcome.facts)
            if task.run_once:
                shared.setdefault("facts", {}).update(outcome.facts)
            lines += self._lines(task, host.name, item, outcome)
        status = ("failed" if "failed" in statuses else "changed" if "changed" in statuses
                  else "ok" if "ok" in statuses else "skipped")
        if task.register:
            self.host_vars[host.name][task.register] = self._registered(done, status)
        if status == "failed" and task.ignore_errors:
            self._count(host.name, "ignored")
            lines.append("...ignoring")
        elif status == "failed":
            self._count(host.name, "failed")
            self.stopped.add(host.name)
        else:
            self._count(host.name, status)
        return lines, status

    def _lines(self, task: Task, host: str, item: Any, outcome: Outcome) -> list[str]:
        if outcome.status == "failed":
            where = f"failed: [{host}] (item={item})" if item is not None else f"fatal: [{host}]: FAILED!"
            lines = [f"{where} => {json.dumps(_brief(outcome.result))}"]
        else:
            shown = "skipping" if outcome.status == "skipped" else outcome.status
            label = f" => (item={item})" if item is not None else ""
            detail = " => " + json.dumps(outcome.result) if task.module == "debug" else ""
            lines = [f"{shown}: [{host}]{label}{detail}"]
        if outcome.diff:
            lines.append(outcome.diff.rstrip("\n"))
        return lines

    @staticmethod
    def _registered(done: list[tuple[Any, Outcome]], status: str) -> dict[str, Any]:
        flags = {"changed": status == "changed", "failed": status == "failed", "skipped": status == "skipped"}
        if len(done) == 1 and done[0][0] is None:
            return {**done[0][1].result, **flags}
        return {"results": [{**o.result, "item": i, "changed": o.status == "changed", "failed": o.status == "failed",
                             "skipped": o.status == "skipped"} for i, o in done], **flags}

    def _variables(self, task: Task, play: Play, host: Host) -> Variables:
        """Ansible's precedence, lowest first: role defaults (every role's, then the task's own role chain),
        inventory data and facts, play vars and vars_files, role vars (every role's; then the task's own role <
        block < task vars, merged in task.vars), set_fact and registered results, role and include parameters, -e."""
        role = {"role_name": task.role.name, "role_path": str(task.role.path)} if task.role else {}
        return Variables([({"omit": OMIT, "playbook_dir": str(self.playbook_dir), **role}, False),
                          ({**play.role_defaults, **task.defaults}, True), (self.base_vars[host.name], False),
                          ({**play.vars, **play.role_vars, **task.vars}, True), (self.host_vars[host.name], False),
                          (task.params, True), (self.options.extra_vars, False)])

    def _become(self, task: Task) -> str | None:
        """The user a task's commands run as through sudo, or None (no become)."""
        play = self._playing
        become = task.become if task.become is not None else play.become
        return (task.become_user or play.become_user or "root") if become else None

    def _runner(self, host: Host, become: str | None = None, remote_user: str | None = None):
        target = ssh_target(self.inventory, host)
        target = replace(target, user=remote_user) if remote_user else target  # its own connection
        prefix = ["sudo", "-n", "-H", "-u", become, "--"] if become and become != target.user else []

        async def run(argv, input: bytes | None = None, timeout: float | None = None):
            return await self.pool.run(target, [*prefix, *argv], input=input, timeout=timeout)

        return run

    def _live(self, hosts: list[Host]) -> list[Host]:
        return [h for h in hosts if h.name not in self.stopped]

    def _unreachable(self, host: str, why: str) -> None:
        self._count(host, "unreachable")
        self.stopped.add(host)
        self.unreachable.add(host)
        self.say(f"fatal: [{host}]: UNREACHABLE! => {json.dumps({'msg': why})}")

    def _count(self, host: str, status: str) -> None:
        tally = self.tally[host]
        setattr(tally, status, getattr(tally, status) + 1)
        if status == "changed":
            tally.ok += 1  # Ansible counts a changed task in ok= too

    def _header(self, title: str) -> None:
        self.say(f"\n{title} {'*' * max(3, WIDTH - len(title))}")

    def _recap(self) -> None:
        self._header("PLAY RECAP")
        for host, t in self.tally.items():
            self.say(f"{host:<14}: ok={t.ok:<4} changed={t.changed:<4} unreachable={t.unreachable:<4} "
                     f"failed={t.failed:<4} skipped={t.skipped:<4} rescued={t.rescued:<4} ignored={t.ignored}")


def _with_params(items: tuple, params: dict[str, Any]) -> list:
    """The included tasks with the include's loop item as a parameter (above their own vars, as in Ansible)."""
    if not params:
        return list(items)
    found: list = []
    for item in items:
        if isinstance(item, Task):
            found.append(replace(item, params={**item.params, **params}))
        elif isinstance(item, Block):
            found.append(replace(item, tasks=tuple(_with_params(item.tasks, params)),
                                 rescue=tuple(_with_params(item.rescue, params)),
                                 always=tuple(_with_params(item.always, params))))
        else:
            found.append(replace(item, task=replace(item.task, params={**item.task.params, **params}),
                                 static=None if item.static is None else tuple(_with_params(item.static, params))))
    return found


def _read_include(include: Include, name: str, playbook_dir: Path) -> tuple:
    return included_tasks(include, name, playbook_dir)


def _brief(result: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in result.items() if k in ("msg", "rc", "stdout", "stderr", "cmd", "assertion")}
