"""The `kob` command: a group that imports a command's module only when that command is asked for.

Layout of kob.cli:

    main.py             this group, -v, and how an error ends the process
    options.py          the arguments and options several commands share (INVENTORY, --wait, --json)
    runner.py           run_with: open the store and the transport, run the command's coroutine, close both
    recap.py            what every command that deploys prints at its end
    colour.py           say and say_error: plan and error lines coloured on a terminal only, never with NO_COLOR
    <area>_commands.py  the commands of one area, each importing what it needs when it runs

Command modules import only click, kob.errors and the shared modules at their top, never each
other; the rest inside the command that uses it. So `kob --version` imports no command module,
and `kob --help` none of the machinery (asyncssh, the store's backends, the page, the playbook engine).
"""

from __future__ import annotations

import importlib
import sys

import click

from kob import __version__
from kob.errors import KobError, one_line

# command name → "module:attribute" in kob.cli
COMMANDS = {
    "adopt": "deploy_commands:adopt_command",
    "autoscale": "control_commands:autoscale_command",
    "completion": "setup_commands:completion_command",
    "connect": "connect_commands:connect_command",
    "cron": "cron_commands:cron",
    "deploy": "deploy_commands:deploy_command",
    "down": "deploy_commands:down_command",
    "events": "control_commands:events_command",
    "exec": "adhoc_commands:exec_command",
    "history": "deploy_commands:history_command",
    "import": "import_commands:import_group",
    "init": "setup_commands:init_command",
    "job": "job_commands:job",
    "lab": "lab_commands:lab",
    "logs": "deploy_commands:logs_command",
    "reconcile": "control_commands:reconcile_command",
    "rollback": "deploy_commands:rollback_command",
    "run": "playbook_commands:run_command",
    "scale": "deploy_commands:scale_command",
    "send-image": "image_commands:send_image_command",
    "serve": "web_commands:serve_command",
    "state": "state_commands:state",
    "status": "deploy_commands:status_command",
    "top": "control_commands:top_command",
    "web": "web_commands:web_command",
}


class KobGroup(click.Group):
    """Commands loaded on demand; a KobError ends in one line (a traceback with -v)."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name not in COMMANDS:
            return None
        module, _, attribute = COMMANDS[name].partition(":")
        return getattr(importlib.import_module(f"kob.cli.{module}"), attribute)

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except KobError as error:
            if ctx.params["verbose"]:
                raise
            from kob.cli.colour import say_error

            say_error(f"kob: error: {one_line(str(error))}")
            raise SystemExit(1) from None


@click.group(cls=KobGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="kob")
@click.option("-v", "--verbose", count=True, help="More detail; tracebacks on errors.")
@click.pass_context
def cli(ctx: click.Context, verbose: int) -> None:
    """kob, Kubernetes on a budget: containers on a handful of VMs, over SSH."""
    ctx.obj = {"verbose": verbose}
    if verbose or sys.stderr.isatty():  # image transfers' bytes and rate per host, kept off stdout
        from kob.deploy.transfer_progress import show_on_stderr

        show_on_stderr()


def main() -> None:
    try:
        cli(prog_name="kob", complete_var="_KOB_COMPLETE", standalone_mode=False)  # also as python -m kob
    except click.exceptions.Abort:
        click.echo("kob: interrupted", err=True)
        sys.exit(130)
    except click.ClickException as error:
        error.show()
        sys.exit(error.exit_code)
    except click.exceptions.Exit as done:
        sys.exit(done.exit_code)
    except KeyboardInterrupt:
        click.echo("kob: interrupted", err=True)
        sys.exit(130)
