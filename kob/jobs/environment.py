"""A job's environment, put together on the manager when an attempt starts, never kept.

The job record names its env: variables and its env_file's path only. Here the file is read
(checked as services' env files are) and the values of env: come from the template the job
was submitted from, as the inventory says now. The result goes to docker on stdin.
"""

from __future__ import annotations

from pathlib import Path

from kob.errors import KobError
from kob.jobs.model import Job
from kob.spec.env_file import Secrets, read_env_file
from kob.spec.inventory import Inventory


def job_environment(job: Job, inventory: Inventory) -> Secrets:
    """The env file's lines, then env:'s (which win, as services' -e do over their env file)."""
    owner = f"job {job.id} ({job.name})"
    parts = []
    if job.env_file:
        content = read_env_file(Path(job.env_file), owner).content
        parts.append(content if not content or content.endswith(b"\n") else content + b"\n")
    if job.env_names:
        template = next((t for t in inventory.jobs if t.name == job.template), None)
        gone = [name for name in job.env_names if template is None or name not in template.env]
        if gone:
            where = f"template {job.template!r}" if template else f"template {job.template!r} (gone from the inventory)"
            raise KobError(f"{owner}: {where} no longer has env {', '.join(gone)}; its values are read from the "
                           "inventory when an attempt starts: put them back or submit the job again")
        parts.append("".join(f"{name}={template.env[name]}\n" for name in job.env_names).encode())
    return Secrets(b"".join(parts))
