"""How a play ends early, as Ansible ends it (a part of PlaybookRun): meta: end_host and end_play,
any_errors_fatal and max_fail_percentage; meta: flush_handlers runs the notified handlers there."""

from __future__ import annotations

from kob.playbook.model import Play, Task
from kob.playbook.modules import Outcome
from kob.playbook.run_report import Attempt, header
from kob.playbook.templating import TemplateError, holds
from kob.spec.inventory import Host


class PlayEndings:
    """Mixed into PlaybookRun, whose state (stopped, ended, play_over, batch) and methods it uses."""

    async def _meta(self, task: Task, play: Play, hosts: list[Host], notified: dict[str, set[str]]) -> None:
        """meta: flush_handlers, noop, end_host (the hosts where its when holds), end_play (when it holds on one)."""
        action = task.args.get("_raw")
        if action == "flush_handlers":
            await self._flush(play, hosts, notified)
            return
        if action not in ("end_host", "end_play"):
            return
        chosen = []
        for host in self._live(hosts):
            try:
                if not task.when or holds(task.when, self._variables(task, play, host)):
                    chosen.append(host)
            except TemplateError as error:
                failed = Attempt(None, Outcome("failed", {"msg": f"{task.file}:{task.line}: {error}"}))
                for line in [header(f"TASK [meta: {action}]"), *self._settle(task, host, [failed], {})[0]]:
                    self.say(line)
        if chosen and action == "end_play":
            self.play_over = True
            self.say(f"\nmeta: end_play on {chosen[0].name}: the play ends for every host")
        for host in chosen if action == "end_host" else []:
            self.ended.add(host.name)
            self.say(f"\nmeta: end_host: the play ends for {host.name}")

    def _end_play_on_failures(self, task: Task, play: Play, statuses: list[str]) -> None:
        """any_errors_fatal: one failed host ends the play; max_fail_percentage: more than that share of the batch
        has failed (or become unreachable) in this play."""
        hosts = self.batch
        if task.any_errors_fatal and "failed" in statuses and not task.ignore_errors:
            self.play_over = True
            self.say("\nNO MORE HOSTS LEFT (any_errors_fatal) " + "*" * 34)
        if play.max_fail_percentage is not None and hosts and not self.play_over:
            failed = [h for h in hosts if h.name in self.stopped and h.name not in self.failed_before]
            if len(failed) * 100 / len(hosts) > play.max_fail_percentage:
                self.play_over = True
                self.say(f"\nNO MORE HOSTS LEFT ({len(failed)} of {len(hosts)} failed, more than "
                         f"max_fail_percentage {play.max_fail_percentage:g}%) " + "*" * 10)
