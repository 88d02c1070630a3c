"""Run plays the way Ansible's linear strategy does: each task on every host at once, then the next.

A host that fails (without ignore_errors) or cannot be reached stops; the others go on, unless the play
ends: any_errors_fatal, more failed hosts than max_fail_percentage, or meta: end_play. Handlers run at
the end of each section of a play on the hosts where a task that notified them changed something.
Variables, lowest first: role defaults, host facts and inventory data, play vars, vars_files, role and
task vars, include_vars, registered values and set_fact, role and include parameters, then -e extra vars.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kob.errors import KobError, TransportError
from kob.facts.ansible_facts import ansible_facts_fact, fact_variables
from kob.playbook.command_runner import LOCAL_NAMES, Runner, host_runner, local_runner
from kob.playbook.include_vars import include_vars
from kob.playbook.model import Block, Include, Play, Task
from kob.playbook.modules import HostContext, Outcome, run_module
from kob.playbook.run_endings import PlayEndings
from kob.playbook.run_includes import IncludeRunning, item_values, loop_items
from kob.playbook.run_report import (
    Attempt,
    Tally,
    header,
    recap_lines,
    registered,
    result_lines,
)
from kob.playbook.templating import (
    OMIT,
    TemplateError,
    Variables,
    drop_omitted,
    holds,
    render,
    with_values,
)
from kob.spec.inventory import Host, Inventory
from kob.spec.patterns import select_hosts
from kob.transport.base import Transport
from kob.transport.gather import gather

__all__ = ["PlaybookRun", "RunOptions", "Tally"]


@dataclass
class RunOptions:
    check: bool = False
    diff: bool = False
    limit: str | None = None
    tags: tuple[str, ...] = ()
    extra_vars: dict[str, Any] = field(default_factory=dict)


class PlaybookRun(IncludeRunning, PlayEndings):
    def __init__(self, inventory: Inventory, plays: tuple[Play, ...], playbook: Path, pool: Transport,
                 options: RunOptions, say: Callable[[str], None] = print):
        self.inventory, self.plays, self.pool, self.options, self.say = inventory, plays, pool, options, say
        self.playbook_dir = playbook.resolve().parent
        self.tally: dict[str, Tally] = {}
        self.base_vars: dict[str, dict[str, Any]] = {}  # inventory data and gathered facts
        self.host_vars: dict[str, dict[str, Any]] = {}  # set_fact and registered results
        self.stopped: set[str] = set()  # failed or unreachable: no more tasks
        self.failures: dict[str, dict[str, Any]] = {}  # host -> its last failure, as rescue: sees it
        self.unreachable: set[str] = set()
        self.included_vars: dict[str, dict[str, Any]] = {}  # include_vars, per host
        self.ended: set[str] = set()  # meta: end_host, for the play that runs
        self.play_over = False  # any_errors_fatal, max_fail_percentage or meta: end_play
        self.failed_before: set[str] = set()  # hosts stopped before the play began
        self.batch: list[Host] = []  # the hosts of the play's batch that runs (serial:)
        self.play_dir = self.playbook_dir

    async def run(self) -> dict[str, Tally]:
        for play in self.plays:
            await self._play(play)
        self._recap()
        return self.tally

    async def _play(self, play: Play) -> None:
        self._playing = play
        self.play_dir = (play.base or self.playbook_dir).resolve()  # an imported playbook's own folder
        self.ended, self.play_over, self.failed_before = set(), False, set(self.stopped)
        hosts = self._hosts(play)
        self._header(f"PLAY [{play.name or play.hosts}]")
        if not hosts:
            self.say("skipping: no hosts matched")
            return
        size = play.serial or (max(1, int(len(hosts) * play.serial_percent / 100)) if play.serial_percent
                               else len(hosts))
        for first in range(0, len(hosts), size):
            batch = self.batch = hosts[first:first + size]
            if play.gather_facts:
                await self._gather(batch)
            notified: dict[str, set[str]] = {h.name: set() for h in batch}
            for section in (play.pre_tasks, play.tasks, play.post_tasks):
                await self._items(section, play, batch, notified)
                await self._flush(play, batch, notified)
            if self.play_over:
                break

    async def _items(self, items: tuple, play: Play, hosts: list[Host], notified: dict[str, set[str]]) -> None:
        for item in items:
            if isinstance(item, Block):
                await self._block(item, play, hosts, notified)
            elif isinstance(item, Include):
                await self._include(item, play, hosts, notified)
            elif item.module == "meta":
                if self._selected(item, play):
                    await self._meta(item, play, hosts, notified)
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
                self.host_vars[host.name].update(self.failures.get(host.name, {}))
                self.stopped.discard(host.name)
                self.tally[host.name].failed -= 1
                self.tally[host.name].rescued += 1
            await self._items(block.rescue, play, failed, notified)
        if block.always:
            still = {h.name for h in began if h.name in self.stopped and h.name not in self.unreachable}
            self.stopped -= still
            await self._items(block.always, play, began, notified)
            self.stopped |= still

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
        found = await gather(self.pool, self.inventory, ansible_facts_fact(), live)
        for host in live:
            facts = found.hosts.get(host.name)
            if facts is None:
                self._unreachable(host.name, found.unreachable[host.name])
                continue
            self.base_vars[host.name].update(fact_variables(facts))
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
        self._end_play_on_failures(task, play, [status for _, status in reports])

    async def _on_host(self, task: Task, play: Play, host: Host, shared: dict[str, Any]) -> tuple[list[str], str]:
        """Run the task (each loop item) on one host; the lines to print and how it went."""
        variables = self._variables(task, play, host)
        try:
            items = loop_items(task, variables)
            check = next(c for c in (task.check_mode, play.check_mode, self.options.check) if c is not None)
            done: list[Attempt] = []
            for index, item in enumerate([None] if items is None else items):
                if index and task.loop_pause:
                    await asyncio.sleep(task.loop_pause)
                seen = variables if items is None else with_values(variables, item_values(task, item, index))
                label = render(task.label, seen) if task.label and items is not None else None
                outcome = await self._attempts(task, host, seen, shared, check)
                done.append(Attempt(item, outcome, label, index))
        except TransportError as error:
            self._count(host.name, "unreachable")
            self.stopped.add(host.name)
            self.unreachable.add(host.name)
            return [f"fatal: [{host.name}]: UNREACHABLE! => {json.dumps({'msg': str(error)})}"], "unreachable"
        except TemplateError as error:
            done = [Attempt(None, Outcome("failed", {"msg": f"{task.file}:{task.line}: {error}"}))]
        return self._settle(task, host, done, shared)

    async def _attempts(self, task: Task, host: Host, variables: Any, shared: dict[str, Any],
                        check: bool) -> Outcome:
        """The task once, or (until:/retries:) again after delay: seconds until it holds, retries + 1 times at most."""
        attempts = 1 + (task.retries if task.retries is not None else 3 if task.until else 0)
        for attempt in range(1, attempts + 1):
            outcome = await self._once(task, host, variables, shared, check)
            if attempts == 1 or outcome.status == "skipped":
                return outcome
            outcome.result["attempts"] = attempt
            seen = with_values(variables, {task.register: outcome.result} if task.register else {})
            if holds(task.until, seen) if task.until else outcome.status != "failed":
                return outcome
            if attempt < attempts:
                self.say(f"FAILED - RETRYING: [{host.name}]: {task.name or task.module} "
                         f"({attempts - attempt} retries left).")
                await asyncio.sleep(task.delay)
        outcome.status = "failed"  # and attempts is one less than made, as ansible-core 2.19 registers it
        outcome.result.update(attempts=attempts - 1, msg=outcome.result.get("msg") or f"not done after {attempts} "
                              "attempts")
        return outcome

    async def _once(self, task: Task, host: Host, variables: Any, shared: dict[str, Any], check: bool) -> Outcome:
        if task.when and not holds(task.when, variables):
            return Outcome("skipped", {"skipped": True, "msg": "Conditional result was False"})
        args = drop_omitted(render(dict(task.args), variables))
        folder = self.play_dir
        if task.module == "include_vars":
            found = include_vars(args, task.file, task.line, task.role.path if task.role else None, folder)
            return self._judged(task, found, variables)
        runner = self._runner(task, host, variables)
        if isinstance(runner, Outcome):
            return runner
        diff = task.diff if task.diff is not None else self.options.diff
        context = HostContext(host.name, runner, check, diff, folder, self.inventory, self.pool, shared,
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

    def _settle(self, task: Task, host: Host, done: list[Attempt], shared: dict[str, Any]) -> tuple[list[str], str]:
        """Count, register, set facts, and say what happened."""
        lines, statuses = [], [a.outcome.status for a in done]
        for attempt in done:
            if task.module == "include_vars" and attempt.outcome.status == "ok":
                self.included_vars.setdefault(host.name, {}).update(attempt.outcome.result["ansible_facts"])
            self.host_vars[host.name].update(attempt.outcome.facts)
            if task.run_once:
                shared.setdefault("facts", {}).update(attempt.outcome.facts)
            lines += result_lines(task, host.name, attempt)
        status = ("failed" if "failed" in statuses else "changed" if "changed" in statuses
                  else "ok" if "ok" in statuses else "skipped")
        if task.register:
            self.host_vars[host.name][task.register] = registered(task, done, status)
        if status == "failed" and task.ignore_errors:
            self._count(host.name, "ignored")
            lines.append("...ignoring")
        elif status == "failed":
            self._count(host.name, "failed")
            self.stopped.add(host.name)
            self.failures[host.name] = {"ansible_failed_result": registered(task, done, status),
                                        "ansible_failed_task": {"name": task.name, "action": task.module}}
        else:
            self._count(host.name, status)
        return lines, status

    def _variables(self, task: Task, play: Play, host: Host) -> Variables:
        """Ansible's precedence, lowest first: role defaults (every role's, then the task's own role chain),
        inventory data and facts, play vars and vars_files, role vars (every role's; then the task's own role <
        block < task vars, merged in task.vars), include_vars, set_fact and registered results, role and include
        parameters, -e."""
        role = {"role_name": task.role.name, "role_path": str(task.role.path)} if task.role else {}
        return Variables([({"omit": OMIT, "playbook_dir": str(self.playbook_dir), **role}, False),
                          ({**play.role_defaults, **task.defaults}, True), (self.base_vars[host.name], False),
                          ({**play.vars, **play.role_vars, **task.vars}, True),
                          (self.included_vars.get(host.name, {}), True), (self.host_vars[host.name], False),
                          (task.params, True), (self.options.extra_vars, False)])

    def _become(self, task: Task) -> str | None:
        """The user a task's commands run as through sudo, or None (no become)."""
        play = self._playing
        become = task.become if task.become is not None else play.become
        return (task.become_user or play.become_user or "root") if become else None

    def _runner(self, task: Task, host: Host, variables: Any) -> Runner | Outcome:
        """How the task's commands run: on the host, on the host delegate_to names, or on the manager for
        localhost; a failed Outcome when delegate_to names no host."""
        become = self._become(task)
        environment = {key: str(value) for key, value in render(dict(task.environment), variables).items()}
        target = host
        if task.delegate_to:
            name = str(render(task.delegate_to, variables))
            known = {h.name: h for h in self.inventory.hosts}
            if name in LOCAL_NAMES and name not in known:
                return local_runner(become, environment)
            if name not in known:
                return Outcome("failed", {"msg": f"{task.file}:{task.line}: delegate_to: {name[:80]!r} is no host "
                                                 "of the inventory (localhost runs on the manager)"})
            target = known[name]
        return host_runner(self.pool, self.inventory, target, become, task.remote_user or self._playing.remote_user,
                           environment)

    def _live(self, hosts: list[Host]) -> list[Host]:
        if self.play_over:
            return []
        return [h for h in hosts if h.name not in self.stopped and h.name not in self.ended]

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
        self.say(header(title))

    def _recap(self) -> None:
        self._header("PLAY RECAP")
        for line in recap_lines(self.tally):
            self.say(line)


