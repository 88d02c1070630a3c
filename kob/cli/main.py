"""The `kob` command: thin wrappers that parse arguments, call the layers and print."""

from __future__ import annotations

import sys

import click

from kob import __version__
from kob.cli.deploy_commands import (deploy_command, history_command, logs_command, rollback_command,
                                     scale_command, status_command)
from kob.cli.control_commands import autoscale_command, events_command, reconcile_command, top_command
from kob.cli.cron_commands import cron
from kob.cli.exec_command import exec_command
from kob.cli.job_commands import job
from kob.cli.lab_commands import lab
from kob.cli.run_command import run_command
from kob.cli.web_commands import serve_command, web_command
from kob.errors import KobError


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="kob")
@click.option("-v", "--verbose", count=True, help="More detail; tracebacks on errors.")
@click.pass_context
def cli(ctx: click.Context, verbose: int) -> None:
    """kob, Kubernetes on a budget: containers on a handful of VMs, over SSH."""
    ctx.obj = {"verbose": verbose}


cli.add_command(lab)
cli.add_command(cron)
cli.add_command(job)
cli.add_command(exec_command)
for command in (deploy_command, status_command, scale_command, rollback_command, history_command, logs_command,
                top_command, autoscale_command, reconcile_command, events_command, web_command, serve_command,
                run_command):
    cli.add_command(command)


def _verbose_flag(args: list[str]) -> bool:
    """-v given before the subcommand (later words may belong to a user's command)."""
    for arg in args:
        if not arg.startswith("-"):
            return False
        if arg in ("--verbose",) or (arg.startswith("-") and not arg.startswith("--") and "v" in arg):
            return True
    return False


def main() -> None:
    verbose = _verbose_flag(sys.argv[1:])
    try:
        cli(standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("kob: interrupted", err=True)
        sys.exit(130)
    except click.ClickException as error:
        error.show()
        sys.exit(error.exit_code)
    except click.exceptions.Exit as done:
        sys.exit(done.exit_code)
    except KobError as error:
        if verbose:
            raise
        click.echo(f"kob: error: {error}", err=True)
        sys.exit(1)
    except KeyboardInterrupt:
        click.echo("kob: interrupted", err=True)
        sys.exit(130)
