"""`kob job submit | ls | show | logs | cancel | dispatch`: batch jobs, run to completion."""

from __future__ import annotations

import json
import time

import click

from kob.cli.options import DAY, INVENTORY, JSON, Seconds
from kob.cli.runner import run_with

JOB_ID = click.argument("job_id", type=int)


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
@click.option("--env-file", help="NAME=value lines for the job's environment, read on this machine when each attempt "
                                 "starts; only its path is kept.")
@click.option("--count", type=click.IntRange(min=1), default=1, show_default=True, help="Queue this many alike.")
@click.argument("command", nargs=-1)
def submit_command(inventory: str, template: str | None, name: str | None, command: tuple[str, ...], count: int,
                   **options: str | None) -> None:
    """Queue a job: kob job submit INVENTORY --image IMG [--cpus N] ... -- CMD ARGS..."""
    from kob.jobs.submit import job_spec, submit_jobs
    from kob.spec.inventory import load_inventory

    inv = load_inventory(inventory)
    spec = job_spec(inv, template, name, command, options)
    queued = run_with(inv, lambda store, _: submit_jobs(store, inv, spec, count, template), transport=False)
    ids = f"job {queued[0].id}" if count == 1 else f"jobs {queued[0].id}-{queued[-1].id}"
    click.echo(f"{ids} queued; `kob job dispatch {inventory}` (or kob serve, or cron) starts {'it' if count == 1 else 'them'}")


@job.command("ls")
@INVENTORY
@click.option("-a", "--all", "show_all", is_flag=True, help="Also the jobs that ended (default: the last 20).")
@JSON
def ls_command(inventory: str, show_all: bool, as_json: bool) -> None:
    """The jobs: queued and running ones, then those that ended."""
    from kob.jobs.model import ACTIVE

    jobs = _read_book(inventory, lambda book: book.all() if show_all else book.active_and_recent(20))
    shown = jobs if show_all else [j for j in jobs if j.state in ACTIVE] + [j for j in jobs if j.state not in ACTIVE]
    if as_json:
        from kob.view.overview import job_row

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
@JSON
def show_command(inventory: str, job_id: int, as_json: bool) -> None:
    """One job: what it runs, its state, and every attempt."""
    job = _read_book(inventory, lambda book: book.get(job_id))
    if as_json:  # job ls --json's keys, and the rest of what it was asked to run with
        from kob.view.overview import job_row

        click.echo(json.dumps({**job_row(job), "timeout": job.timeout, "backoff": job.backoff,
                               "constraints": list(job.constraints)}))
        return
    click.echo(f"job {job.id} ({job.name}): {job.state}")
    click.echo(f"  image {job.image}, command {' '.join(job.command) or '(image default)'}")
    click.echo(f"  cpus {job.cpus or '1 reserved'}, memory {job.memory or '-'}, retries {job.retries}, "
               f"timeout {job.timeout or '-'}, priority {job.priority}"
               + (f", constraints {', '.join(job.constraints)}" if job.constraints else ""))
    if job.env_names or job.env_file:
        names = f"env {', '.join(job.env_names)} (template {job.template})" if job.env_names else ""
        click.echo("  " + ", ".join(filter(None, [names, f"env_file {job.env_file}" if job.env_file else ""]))
                   + "; values are not shown")
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
    from kob.jobs.operations import job_output
    from kob.spec.inventory import load_inventory

    inv = load_inventory(inventory)
    try:
        run_with(inv, lambda store, pool: job_output(inv, store, pool, job_id, attempt, follow, click.echo))
    except KeyboardInterrupt:
        pass


@job.command("cancel")
@INVENTORY
@JOB_ID
def cancel_command(inventory: str, job_id: int) -> None:
    """Cancel a queued job, or stop a running one on its host."""
    from kob.jobs.operations import cancel_job
    from kob.spec.inventory import load_inventory

    inv = load_inventory(inventory)
    job = run_with(inv, lambda store, pool: cancel_job(inv, store, pool, job_id, click.echo))
    click.echo(f"job {job.id}: {job.state}" + ("" if job.state == "cancelled" else " (cancelled when its host answers)"))


@job.command("dispatch")
@INVENTORY
@click.option("--until-done", is_flag=True, help="Keep dispatching until no job is queued or running.")
@click.option("--every", type=Seconds(min=0.2, max=DAY), default=2.0, show_default=True, metavar="S",
              help="Seconds between passes with --until-done.")
def dispatch_command(inventory: str, until_done: bool, every: float) -> None:
    """One pass (cron-friendly): follow running jobs, start queued ones where there is room."""
    from kob.jobs.operations import dispatch_passes
    from kob.spec.inventory import load_inventory

    inv = load_inventory(inventory)
    report = run_with(inv, lambda store, pool: dispatch_passes(inv, store, pool, until_done=until_done, every=every,
                                                               say=click.echo))
    if report is not None:
        for line in report.waiting:
            click.echo(line)
        click.echo(report.summary())


def _read_book(inventory: str, read):
    """``read(book)`` on the inventory's job book: the store only, no host."""
    from kob.identity import namespace
    from kob.jobs.book import JobBook
    from kob.spec.inventory import load_inventory

    inv = load_inventory(inventory)
    return run_with(inv, lambda store, _: read(JobBook(store, namespace(inv))), transport=False)


def _when(t: float | None) -> str:
    return "-" if t is None else time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(t))
