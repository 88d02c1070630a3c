"""`kob job submit`: the command line's options as a job spec, then jobs queued in the store.

``job_spec`` is pure: the named template of the inventory's ``jobs:`` (if any) with the
options over it, read by the same reader as that section, so a mistake reads the same way
(``command line:3: job/memory: should be a size ...``). ``submit_jobs`` writes the queue
and the event log.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from typing import Any

import yaml

from kob.deploy.events import EventLog
from kob.errors import KobError
from kob.identity import namespace, operator
from kob.jobs.book import JobBook
from kob.jobs.model import Job
from kob.jobs.rooms import constraint_text
from kob.spec.inventory import Inventory
from kob.spec.jobs import JobTemplate, read_jobs
from kob.spec.yaml_source import parse_yaml
from kob.store.base import Store

MAX_SUBMITTED = 1000  # jobs one submit queues: each costs a few store writes


def job_spec(inv: Inventory, template: str | None, name: str | None, command: tuple[str, ...],
             options: Mapping[str, Any]) -> JobTemplate:
    """The template (if any) with the command line's values over it, checked like the inventory's jobs:.

    ``options``: the job keys (image, cpus, memory, retries, timeout, backoff, priority, env_file) as given, None
    where not; ``constraints`` a tuple of LABEL==VALUE texts; ``command`` the words after ``--``. An env_file
    given on the command line is relative to the current folder.
    """
    fields: dict = _template_fields(inv.job(template)) if template else {}
    fields.update({key: _number_or_text(value) for key, value in options.items() if value not in (None, ())})
    if options.get("env_file"):
        fields["env_file"] = os.path.abspath(os.path.expanduser(options["env_file"]))
    if options.get("constraints"):
        fields["constraints"] = list(options["constraints"])
    if command:
        fields["command"] = list(command)
    if "image" not in fields:
        raise KobError("kob job submit: give --image IMAGE, or --template NAME of the inventory's jobs:")
    label = name or template or "job"
    return read_jobs(parse_yaml(yaml.safe_dump({label: fields}), "command line"), inv)[0]


def queued_job(spec: JobTemplate, who: str, submitted: float, template: str | None = None) -> Job:
    """A job to queue from its spec (the book gives it its number); env: names only, env_file: its path."""
    return Job(0, spec.name, spec.image, spec.command, submitted, who, spec.cpus, spec.memory, spec.retries,
               spec.timeout, spec.backoff, spec.priority, tuple(constraint_text(c) for c in spec.constraints),
               template=template, env_names=tuple(spec.env),
               env_file=str(spec.env_file) if spec.env_file else None)


async def submit_jobs(store: Store, inventory: Inventory, spec: JobTemplate, count: int = 1,
                      template: str | None = None) -> list[Job]:
    """Queue ``count`` jobs alike, each noted in the event log; the jobs as queued, numbered.

    ``template``: the inventory's job template ``spec`` was made from, whose env: the attempts read."""
    if not 1 <= count <= MAX_SUBMITTED:
        raise KobError(f"--count {count}: queue between 1 and {MAX_SUBMITTED} jobs at once")
    job = queued_job(spec, operator(), time.time(), template)
    book, events = JobBook(store, namespace(inventory)), EventLog(store, namespace(inventory))
    queued = []
    for _ in range(count):
        queued.append(await book.submit(job))
        await events.add("job", f"job {queued[-1].id} ({job.name}): submitted", job=queued[-1].id)
    return queued


def _number_or_text(value):
    """A bare number given for a duration or size is that number (seconds, bytes), as in YAML."""
    if isinstance(value, str):
        try:
            return float(value) if "." in value else int(value)
        except ValueError:
            return value
    return value


def _template_fields(spec: JobTemplate) -> dict:
    fields = {"image": spec.image, "retries": spec.retries, "backoff": spec.backoff, "priority": spec.priority,
              "constraints": [constraint_text(c) for c in spec.constraints]}
    optional = {"command": list(spec.command), "cpus": spec.cpus, "memory": spec.memory, "timeout": spec.timeout,
                "env": dict(spec.env), "env_file": str(spec.env_file) if spec.env_file else None}
    return {**fields, **{key: value for key, value in optional.items() if value}}
