"""What `kob run` gathers of a host before a play, as Ansible's variables (pure)."""

from __future__ import annotations

from typing import Any

from kob.commands.tasks import facts_argv
from kob.errors import ObservationError
from kob.facts.base import Fact


def host_facts_fact() -> Fact[dict[str, Any]]:
    """The host's name, distribution, CPUs, memory and Docker version."""
    return Fact("gathering facts", tuple(facts_argv()), parse_host_facts)


def parse_host_facts(host: str, output: str) -> dict[str, Any]:
    """The facts script's six lines as ``ansible_*`` variables (and ``kob_docker_version``)."""
    name, distribution, version, cpus, mem_kb, docker = (output.splitlines() + [""] * 6)[:6]
    if not (cpus or "0").isdigit() or not (mem_kb or "0").isdigit():
        raise ObservationError(f"{host}: cannot read its CPU count and memory from {output[:200]!r}")
    return {"ansible_hostname": name, "ansible_distribution": distribution.capitalize(),
            "ansible_distribution_version": version, "ansible_processor_vcpus": int(cpus or 0),
            "ansible_memtotal_mb": int(mem_kb or 0) // 1024, "kob_docker_version": docker}
