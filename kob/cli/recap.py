"""What every command that deploys prints at its end (deploy, scale, rollback, autoscale, reconcile)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from kob.errors import KobError

if TYPE_CHECKING:
    from kob.deploy.converge import DeployReport
    from kob.lend.deploys import DeploySummary


def finish_deploy(ctx: click.Context, report: DeployReport | DeploySummary, unreachable_is_error: bool = True) -> None:
    """The recap; with -v the SSH commands per host; a failure is an error, an unreachable host exit code 2.
    ``report`` is this process's, or the summary of a deploy a connection holder ran for it."""
    from kob.lend.deploys import DeploySummary

    report = report if isinstance(report, DeploySummary) else DeploySummary.of(report)
    _recap(report)
    if ctx.obj and ctx.obj.get("verbose"):
        counts = ", ".join(f"{host} {n}" for host, n in sorted(report.exec_count.items()))
        click.echo(f"ssh commands: {sum(report.exec_count.values())} ({counts})")
    if report.failure:
        raise KobError(report.failure)
    if report.unreachable and unreachable_is_error:
        raise SystemExit(2)


def _recap(report: DeploySummary) -> None:
    if not (report.changed or report.lb or report.outcome):
        return
    click.echo("RECAP")
    for host in report.hosts:
        changed, lb, sent = report.changed.get(host, 0), report.lb.get(host), report.sent.get(host)
        click.echo(f"  {host:<10} {'changed=' + str(changed) if changed else 'ok'}"
                   + (f"  images {sent / 1e6:.1f} MB" if sent else "") + (f"  haproxy {lb}" if lb else ""))
    for host in report.unreachable:
        click.echo(f"  {host:<10} unreachable")
    for service, counts in sorted(report.outcome.items()):
        done = ", ".join(f"{kind}={counts[kind]}" for kind in ("created", "replaced", "removed") if counts.get(kind))
        rolled = "  rolled back" if service in report.rolled_back else ""
        click.echo(f"  {service:<10} {done or 'ok'}{rolled}")
