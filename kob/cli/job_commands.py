"""`kob job submit | ls | show | logs | cancel | dispatch`: batch jobs, run to completion."""

from __future__ import annotations

import asyncio
import json
import time

import click
import yaml

from kob.view.overview import job_row
from kob.identity import namespace, operator
from kob.deploy.events import EventLog
from kob.errors import KobError, LockHeld
from kob.jobs.book import JobBook
from kob.jobs.dispatch import Dispatcher
from kob.jobs.model import ACTIVE, Job
from kob.jobs.rooms import constraint_text
from kob.spec.inventory import Inventory, load_inventory
from kob.spec.jobs import JobTemplate, read_jobs
from kob.spec.yaml_source import parse_yaml
from kob.store import open_store
from kob.transport.ssh import SshPool

INVENTORY = click.argument("inventory", type=click.Path())
JOB_ID = click.argument("job_id", type=int)
LOCK_WAIT = 30.0  # seconds a command waits for a dispatch pass to finish


@click.group("job")
def job() -> None:
    """Batch jobs: queued in the store, placed on the host with the most room, followed until they end."""


@job.command("submit", context_settings={"ignore_unknown_options": False})
@INVENTORY
@click.option("-t", "--template", help="A job of the inventory's jobs: section; options below override it.")
@click.option("--image", help="The image (required without --template).")
@click.option("--name", help="A name to recognise it by (default: the template's, else 'job').")
@click.option("--cpus", type=float, help="CPUs reserved on the host and given to docker --cpus (default: 1 reserved).")
@click.option("--memory", help="Memory reserved and given to docker --memory: 256m, 1g.")
@click.option("--retries", type=int, help="How often a failed or lost job is tried again.")
@click.option("--timeout", help="Stop and fail it after this long: 90s, 10m.")
@click.option("--backoff", help="Wait before the first retry (doubling each retry): 5s.")
@click.option("--priority", type=int, help="Higher runs first (default 0).")
@click.option("--constraint", "constraints", multiple=True, help="LABEL==VALUE or LABEL!=VALUE, as services.")
@click.option("--count", type=click.IntRange(min=1), default=1, show_default=True, help="Queue this many alike.")
@click.argument("command", nargs=-1)
def submit_command(inventory: str, template: str | None, name: str | None, command: tuple[str, ...], count: int,
                   **options: str | None) -> None:
    """Queue a job: kob job submit INVENTORY --image IMG [--cpus N] ... -- CMD ARGS..."""
    inv = load_inventory(inventory)
    spec = job_spec(inv, template, name, command, options)
    job = Job(0, spec.name, spec.image, spec.command, time.time(), operator(), spec.cpus, spec.memory,
              spec.retries, spec.timeout, spec.backoff, spec.priority,
              tuple(constraint_text(c) for c in spec.constraints))

    async def run():
        async with open_store(inv.state_url) as store:
            book, events, queued = JobBook(store, namespace(inv)), EventLog(store, namespace(inv)), []
            for _ in range(count):
                queued.append(await book.submit(job))
                await events.add("job", f"job {queued[-1].id} ({job.name}): submitted", job=queued[-1].id)
            return queued

    queued = asyncio.run(run())
    ids = f"job {queued[0].id}" if count == 1 else f"jobs {queued[0].id}-{queued[-1].id}"
    click.echo(f"{ids} queued; `kob job dispatch {inventory}` (or kob serve, or cron) starts {'it' if count == 1 else 'them'}")


def job_spec(inv: Inventory, template: str | None, name: str | None, command: tuple[str, ...],
             options: dict[str, str | None]) -> JobTemplate:
    """The template (if any) with the command line's values over it, checked like the inventory's jobs:."""
    fields: dict = _template_fields(inv.job(template)) if template else {}
    fields.update({key: _number_or_text(value) for key, value in options.items() if value not in (None, ())})
    if options.get("constraints"):
        fields["constraints"] = list(options["constraints"])
    if command:
        fields["command"] = list(command)
    if "image" not in fields:
        raise KobError("kob job submit: give --image IMAGE, or --template NAME of the inventory's jobs:")
    label = name or template or "job"
    return read_jobs(parse_yaml(yaml.safe_dump({label: fields}), "command line"), inv)[0]


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
    optional = {"command": list(spec.command), "cpus": spec.cpus, "memory": spec.memory, "timeout": spec.timeout}
    return {**fields, **{key: value for key, value in optional.items() if value}}


@job.command("ls")
@INVENTORY
@click.option("-a", "--all", "show_all", is_flag=True, help="Also the jobs that ended (default: the last 20).")
@click.option("--json", "as_json", is_flag=True, help="One JSON document.")
def ls_command(inventory: str, show_all: bool, as_json: bool) -> None:
    """The jobs: queued and running ones, then those that ended."""
    jobs = _jobs(load_inventory(inventory))
    shown = jobs if show_all else [j for j in jobs if j.state in ACTIVE] + [j for j in jobs if j.state not in ACTIVE][-20:]
    if as_json:
        click.echo(json.dumps([job_row(j) for j in shown]))
        return
    click.echo(f"{'ID':>5}  {'NAME':<14} {'STATE':<10} {'HOST':<8} {'TRIES':>5} {'EXIT':>4}  {'SUBMITTED':<19}  COMMAND")
    for j in shown:
        host = j.attempts[-1].host if j.attempts else "-"
        exit_code = "-" if j.exit_code is None else j.exit_code
        click.echo(f"{j.id:>5}  {j.name:<14} {j.state:<10} {host:<8} {len(j.attempts):>5} {exit_code:>4}  "
                   f"{_when(j.submitted)}  {' '.join(j.command) or '(image default)'}")


@job.command("show")
@INVENTORY
@JOB_ID
def show_command(inventory: str, job_id: int) -> None:
    """One job: what it runs, its state, and every attempt."""
    job = _job(load_inventory(inventory), job_id)
    click.echo(f"job {job.id} ({job.name}): {job.state}")
    click.echo(f"  image {job.image}, command {' '.join(job.command) or '(image default)'}")
    click.echo(f"  cpus {job.cpus or '1 reserved'}, memory {job.memory or '-'}, retries {job.retries}, "
               f"timeout {job.timeout or '-'}, priority {job.priority}"
               + (f", constraints {', '.join(job.constraints)}" if job.constraints else ""))
    click.echo(f"  submitted {_when(job.submitted)} by {job.who}")
    for a in job.attempts:
        end = f"{_when(a.ended)} {a.outcome} ({a.reason})" if a.ended else "running"
        click.echo(f"  attempt {a.number} on {a.host} ({a.container}): {_when(a.started)} → {end}")
    if job.state == "queued" and job.not_before > time.time():
        click.echo(f"  next attempt not before {_when(job.not_before)}")


@job.command("logs")
@INVENTORY
@JOB_ID
@click.option("-f", "--follow", is_flag=True, help="While it runs, keep printing its output.")
@click.option("--attempt", type=int, help="Which attempt (default: the last).")
def logs_command(inventory: str, job_id: int, follow: bool, attempt: int | None) -> None:
    """A job's output: kept in the store once it ended, read from its host while it runs."""
    inv = load_inventory(inventory)

    async def run():
        async with open_store(inv.state_url) as store, SshPool() as pool:
            job = await JobBook(store, namespace(inv)).get(job_id)
            number = attempt or len(job.attempts)
            current = job.current
            if current and current.number == number:
                await Dispatcher(inv, store, pool).follow_output(current, click.echo, follow)
                return
            kept = await JobBook(store, namespace(inv)).log(job_id, number) if number else None
            if kept is None:
                raise KobError(f"job {job_id} has no output kept for attempt {number or 1} (state {job.state})")
            click.echo(kept, nl=False)

    try:
        asyncio.run(run())
    except KeyboardInterrupt:
        pass


@job.command("cancel")
@INVENTORY
@JOB_ID
def cancel_command(inventory: str, job_id: int) -> None:
    """Cancel a queued job, or stop a running one on its host."""
    inv = load_inventory(inventory)

    async def run():
        async with open_store(inv.state_url) as store, SshPool() as pool:
            book = JobBook(store, namespace(inv))
            async with book.lock(operator(), wait=LOCK_WAIT):
                job = await book.get(job_id)
                if job.state not in ACTIVE:
                    raise KobError(f"job {job_id} already ended: {job.state}")
                return await Dispatcher(inv, store, pool, say=click.echo).cancel(job)

    job = asyncio.run(run())
    click.echo(f"job {job.id}: {job.state}" + ("" if job.state == "cancelled" else " (cancelled when its host answers)"))


@job.command("dispatch")
@INVENTORY
@click.option("--until-done", is_flag=True, help="Keep dispatching until no job is queued or running.")
@click.option("--every", type=click.FloatRange(min=0.2), default=2.0, show_default=True, metavar="S",
              help="Seconds between passes with --until-done.")
def dispatch_command(inventory: str, until_done: bool, every: float) -> None:
    """One pass (cron-friendly): follow running jobs, start queued ones where there is room."""
    inv = load_inventory(inventory)

    async def run():
        async with open_store(inv.state_url) as store, SshPool() as pool:
            dispatcher = Dispatcher(inv, store, pool, say=click.echo)
            while True:
                try:
                    async with dispatcher.book.lock(operator()):
                        report = await dispatcher.dispatch()
                except LockHeld as held:
                    click.echo(f"{held}; this pass is skipped")
                    report = None
                if not until_done or (report is not None and not report.active):
                    return report
                await asyncio.sleep(every)

    report = asyncio.run(run())
    if report is not None:
        for line in report.waiting:
            click.echo(line)
        click.echo(report.summary())


def _jobs(inv: Inventory) -> list[Job]:
    async def run():
        async with open_store(inv.state_url) as store:
            return await JobBook(store, namespace(inv)).all()

    return asyncio.run(run())


def _job(inv: Inventory, job_id: int) -> Job:
    async def run():
        async with open_store(inv.state_url) as store:
            return await JobBook(store, namespace(inv)).get(job_id)

    return asyncio.run(run())


def _when(t: float | None) -> str:
    return "-" if t is None else time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(t))
