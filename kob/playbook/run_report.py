"""What kob run prints and keeps of a task (pure): per-host tallies, the lines of one result, and the
registered value of a task that ran once or looped."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from kob.playbook.model import Task
from kob.playbook.modules import Outcome

WIDTH = 72
CENSORED = {"censored": "the output has been hidden due to the fact that 'no_log: true' was specified for this result"}


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
class Attempt:
    """One run of a task on a host: the loop item (None without a loop), how it went, what the output shows."""

    item: Any
    outcome: Outcome
    label: Any = None
    index: int | None = None


def result_lines(task: Task, host: str, attempt: Attempt) -> list[str]:
    """``ok: [vm1] => (item=a)``, ``fatal: [vm1]: FAILED! => {...}`` and the like, and a diff if there is one."""
    outcome, item = attempt.outcome, attempt.item
    label = attempt.label if attempt.label is not None else item
    if outcome.status == "failed":
        shown = CENSORED if task.no_log else brief(outcome.result)
        where = f"failed: [{host}] (item={label})" if item is not None else f"fatal: [{host}]: FAILED!"
        lines = [f"{where} => {json.dumps(shown, default=str)}"]
    else:
        status = "skipping" if outcome.status == "skipped" else outcome.status
        labelled = f" => (item={label})" if item is not None else ""
        detail = ""
        if task.module == "debug" or (task.no_log and outcome.status != "skipped"):
            detail = " => " + json.dumps(CENSORED if task.no_log else outcome.result, default=str)
        lines = [f"{status}: [{host}]{labelled}{detail}"]
    if outcome.diff and not task.no_log:
        lines.append(outcome.diff.rstrip("\n"))
    return lines


def registered(task: Task, done: list[Attempt], status: str) -> dict[str, Any]:
    """What ``register:`` keeps: the result (and flags), or for a loop each item's result under results."""
    flags = {"changed": status == "changed", "failed": status == "failed", "skipped": status == "skipped"}
    if len(done) == 1 and done[0].item is None and task.loop is None:
        return {**done[0].outcome.result, **flags}
    results = []
    for attempt in done:
        outcome = attempt.outcome
        index = {task.index_var: attempt.index} if task.index_var else {}
        results.append({**outcome.result, task.loop_var: attempt.item, "ansible_loop_var": task.loop_var, **index,
                        "changed": outcome.status == "changed", "failed": outcome.status == "failed",
                        "skipped": outcome.status == "skipped"})
    return {"results": results, **flags}


def brief(result: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in result.items() if k in ("msg", "rc", "stdout", "stderr", "cmd", "assertion", "attempts")}


def header(title: str) -> str:
    return f"\n{title} {'*' * max(3, WIDTH - len(title))}"


def recap_lines(tally: dict[str, Tally]) -> list[str]:
    return [f"{host:<14}: ok={t.ok:<4} changed={t.changed:<4} unreachable={t.unreachable:<4} failed={t.failed:<4} "
            f"skipped={t.skipped:<4} rescued={t.rescued:<4} ignored={t.ignored}" for host, t in tally.items()]
