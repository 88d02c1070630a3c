"""How one Compose service runs: healthcheck, deploy.resources (and cpus:, mem_limit:), restart and
deploy.restart_policy, deploy.placement and deploy.update_config."""

from __future__ import annotations

import re

from kob.spec.compose_model import Constraint, ImportedService
from kob.spec.compose_render import Entry
from kob.spec.compose_values import Values, compose_bytes, compose_duration, kob_duration, kob_size
from kob.spec.yaml_source import Node

class DeployReading:
    """ServiceReader's part for health, resources, restart, placement and update settings."""

    values: Values

    def note(self, node: Node, message: str) -> None: ...

    def _int(self, node: Node, low: int, high: int) -> int:
        text = self.values.text(node, expected="a whole number")
        if not re.fullmatch(r"[0-9]+", text) or not low <= int(text) <= high:
            raise node.error(f"should be a whole number from {low} to {high}, got {text!r}")
        return int(text)

    def _healthcheck(self, service: ImportedService, node: Node | None) -> None:
        if node is None:
            return
        fields = dict(node.entries(expected="a mapping with test:"))
        if "disable" in fields and self.values.text(fields["disable"]).lower() == "true":
            self.note(node, "health check disabled: kob then counts a running replica as healthy")
            return
        test = fields.get("test")
        if test is None:
            self.note(node, "no test: (the image's own HEALTHCHECK applies); kob needs a test, so none is taken")
            return
        words = self._health_test(test)
        if words is None:
            return
        entries = [Entry("command", tuple(words))]
        for key in ("interval", "timeout", "start_period"):
            if key in fields:
                seconds = compose_duration(fields[key], self.values.text(fields[key]))
                if seconds > 0 or key == "start_period":
                    entries.append(Entry(key, kob_duration(seconds)))
        if "retries" in fields:
            entries.append(Entry("retries", max(1, self._int(fields["retries"], 0, 1000))))
        for key in fields:
            if key not in ("test", "interval", "timeout", "start_period", "retries", "disable"):
                self.note(fields[key], "kob has no equivalent; left out")
        service.entries.append(Entry("healthcheck", tuple(entries)))

    def _health_test(self, node: Node) -> list[str] | None:
        if node.kind == "list":
            items = node.as_list()
            if not items:
                raise node.error("an empty test; write [CMD, ...], [CMD-SHELL, script] or [NONE]")
            kind = self.values.text(items[0])
            if kind == "NONE":
                self.note(node, "test NONE disables the image's health check; kob takes no health check")
                return None
            if kind == "CMD":
                words = [self.values.text(item) for item in items[1:]]
            elif kind == "CMD-SHELL":
                words = ["sh", "-c", " ".join(self.values.text(item, quote_for_shell=True) for item in items[1:])]
            else:
                raise items[0].error(f"should be CMD, CMD-SHELL or NONE, got {kind!r}")
        else:
            words = ["sh", "-c", self.values.text(node, quote_for_shell=True, allow_empty=False)]
        if not words or not words[0] or not words[-1]:
            raise node.error("an empty test; give the command to run")
        return words

    def _resources(self, service: ImportedService, node: Node | None, cpus: Node | None, mem: Node | None) -> None:
        fields = dict(node.entries()) if node else {}
        limits = dict(fields["limits"].entries()) if "limits" in fields else {}
        for key, value in fields.items():
            if key != "limits":
                self.note(value, "kob reserves nothing for a service's replicas (only jobs reserve); left out")
        for key, value in limits.items():
            if key not in ("cpus", "memory"):
                self.note(value, "kob limits cpus and memory only; left out")
        entries = []
        cpus = limits.get("cpus") or cpus
        if cpus is not None:
            text = self.values.text(cpus)
            if not re.fullmatch(r"[0-9]*\.?[0-9]+", text) or not 0 < float(text) <= 1024:
                raise cpus.error(f"should be a number of CPUs above 0 such as 0.5, got {text!r}")
            entries.append(Entry("cpus", float(text)))
        memory = limits.get("memory") or mem
        if memory is not None:
            size = compose_bytes(memory, self.values.text(memory))
            if size < 6 << 20:
                raise memory.error(f"{self.values.text(memory)} is below docker's minimum of 6m")
            entries.append(Entry("memory", kob_size(size)))
        if entries:
            service.entries.append(Entry("resources", tuple(entries)))

    def _restart(self, service: ImportedService, restart: Node | None, policy: Node | None) -> None:
        if policy is not None:
            fields = dict(policy.entries())
            condition = self.values.text(fields["condition"]) if "condition" in fields else "any"
            attempts = self._int(fields["max_attempts"], 0, 1000) if "max_attempts" in fields else 0
            value = {"none": "no", "any": "always"}.get(condition, "on-failure")
            if value == "on-failure" and attempts:
                value = f"on-failure:{attempts}"
            for key in fields:
                if key not in ("condition", "max_attempts"):
                    self.note(fields[key], "docker restarts at once; kob has no delay or window; left out")
            service.entries.append(Entry("restart", value, f"deploy.restart_policy {condition}"))
            return
        if restart is not None:
            value = self.values.text(restart)
            if not re.fullmatch(r"no|always|unless-stopped|on-failure(:[1-9][0-9]{0,3})?", value):
                raise restart.error(f"should be no, always, unless-stopped or on-failure[:N], got {value!r}")
            service.entries.append(Entry("restart", value))

    def _placement(self, service: ImportedService, node: Node | None) -> None:
        fields = dict(node.entries()) if node else {}
        for key, value in fields.items():
            if key == "max_replicas_per_node":
                service.max_per_host = self._int(value, 1, 1000)
            elif key != "constraints":
                self.note(value, "kob spreads replicas over hosts by itself (placement.strategy); left out")
        for item in fields["constraints"].as_list() if "constraints" in fields else []:
            text = self.values.text(item)
            host = re.fullmatch(r"\s*node\.hostname\s*(==|!=)\s*(\S+)\s*", text)
            if host is not None:
                service.hostnames.append(Constraint("hostname", host[1] == "==", host[2], item))
                continue
            match = re.fullmatch(r"\s*node\.labels\.([A-Za-z0-9_.-]+)\s*(==|!=)\s*([^=\s]\S*)\s*", text)
            if match is None or match[1] == "role":
                self.note(item, f"{text!r} has no kob equivalent (kob's constraints test host labels: "
                                "node.labels.X==Y); left out")
                continue
            service.constraints.append(Constraint(match[1], match[2] == "==", match[3], item))

    def _update(self, service: ImportedService, node: Node | None) -> None:
        if node is None:
            return
        entries = []
        for key, value in node.entries():
            if key == "parallelism":
                count = self._int(value, 0, 1000)
                if count == 0:
                    self.note(value, "0 (all at once) is written as 1000: kob updates at most that many at a time")
                entries.append(Entry("parallelism", count or 1000))
            elif key == "order":
                entries.append(Entry("order", self._choice(value, ("start-first", "stop-first"))))
            elif key == "failure_action":
                action = self.values.text(value)
                if action == "continue":
                    self.note(value, "kob has no 'continue': a failed replica stops the rollout; written as pause")
                    action = "pause"
                entries.append(Entry("failure_action", self._choice(value, ("rollback", "pause"), action)))
            elif key == "monitor":
                entries.append(Entry("monitor", kob_duration(compose_duration(value, self.values.text(value)))))
            else:
                self.note(value, "kob has no equivalent; left out")
        if entries:
            service.entries.append(Entry("update", tuple(entries)))

    def _choice(self, node: Node, choices: tuple[str, ...], text: str | None = None) -> str:
        text = self.values.text(node) if text is None else text
        if text not in choices:
            raise node.error(f"should be one of {', '.join(choices)}, got {text!r}")
        return text
