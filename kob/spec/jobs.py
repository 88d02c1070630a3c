"""The inventory's jobs: templates of batch jobs, each run to completion on one host.

    jobs:                           # optional; job name -> template, kept in file order
      report:                       # like a service name: lowercase letters, digits, '-'
        image: kob-demo/web:1       # required; as services' image:
        command: [sh, -c, "echo hi"]    # a list, or one string split like a shell would;
                                    # absent: the image's own command
        cpus: 1                     # > 0; reserved on the host (its cpus:) and docker --cpus
        memory: 256m                # a size as services' resources.memory; reserved and docker --memory
        retries: 2                  # >= 0: how often a failed or lost run is tried again; default 0
        timeout: 10m                # a duration > 0; default none
        backoff: 5s                 # a duration >= 0 before the first retry, doubling each retry
        priority: 10                # an integer; higher runs first; default 0
        constraints: [zone==a]      # as services' placement.constraints
        env: {REPORT_DAY: monday}   # NAME: value, as services' env:, on one line each
        env_file: secrets/job.env   # as services' env_file: relative to this file's folder

A job's environment never enters the store: its record keeps the names of env: and the
path of env_file:. Both are read on the manager when an attempt starts (env: from this
template as the inventory then says) and reach docker on stdin, never in its command line.
"""

from __future__ import annotations

from kob.spec.inventory_model import Inventory, JobTemplate, frozen_mapping
from kob.spec.services import (check_fits_a_host, check_service_name, command_words, env_variables, image_reference,
                               placement_constraints)
from kob.spec.sizes import MAX_CPUS, memory_size
from kob.spec.yaml_source import Node

JOB_KEYS = ("image", "command", "cpus", "memory", "retries", "timeout", "backoff", "priority", "constraints", "env",
            "env_file")


def read_jobs(node: Node | None, inventory: Inventory) -> tuple[JobTemplate, ...]:
    """The jobs: section, in file order; ``inventory`` already holds the hosts (for constraints)."""
    if node is None:
        return ()
    entries = node.entries(expected="a mapping of job names to their settings")
    return tuple(_read_job(name, value, inventory) for name, value in entries)


def _read_job(name: str, node: Node, inventory: Inventory) -> JobTemplate:
    check_service_name(node, name, "job")
    job = node.record(JOB_KEYS)
    default = JobTemplate(name=name, image="")
    cpus = job.get_float("cpus", default=None, above=0, max=MAX_CPUS, expected="a positive number")
    memory = memory_size(job.get("memory"))
    check_fits_a_host(job.get("cpus"), cpus, job.get("memory"), memory, inventory)
    return JobTemplate(
        name=name,
        image=image_reference(job.require("image")),
        command=command_words(job.get("command"), "leave command: out to run the image's own command") or (),
        cpus=cpus,
        memory=memory,
        retries=job.get_int("retries", default=default.retries, min=0),
        timeout=job.get_duration("timeout", default=None, above=0),
        backoff=job.get_duration("backoff", default=default.backoff, min=0),
        priority=job.get_int("priority", default=default.priority),
        constraints=placement_constraints(job.get("constraints"), inventory),
        env=frozen_mapping(_env(job.get("env"))),
        env_file=job.get_path("env_file", inventory.path.parent, default=None, what="env file"),
        line=node.line,
    )


def _env(node: Node | None) -> dict[str, str]:
    """As services' env:, but each value on one line: a job's env reaches docker as lines of an env file."""
    env = env_variables(node)
    for key, value in node.entries() if node else []:
        if any(c in env[key] for c in "\n\r\0"):
            raise value.error("a job's env value must fit on one line (it reaches docker as a line of an env file); "
                              "put a multi-line value in a file the job reads")
    return env
