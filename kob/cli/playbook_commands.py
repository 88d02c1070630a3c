"""`kob run PLAYBOOK -i INVENTORY`: an Ansible-style playbook over kob's SSH pool."""

from __future__ import annotations

from pathlib import Path

import click

from kob.cli.runner import run_with


@click.command("run")
@click.argument("playbook", type=click.Path())
@click.option("-i", "--inventory", required=True, type=click.Path(), help="The inventory (kob's inventory.yaml).")
@click.option("--check", is_flag=True, help="Change nothing; say what would change.")
@click.option("--diff", is_flag=True, help="Show how files change.")
@click.option("-l", "--limit", help="Only these hosts (a host pattern).")
@click.option("-t", "--tags", multiple=True, help="Only tasks with these tags (comma-separated or repeated).")
@click.option("-e", "--extra-vars", "extra", multiple=True, help="key=value ..., or a JSON mapping; wins over all.")
def run_command(playbook: str, inventory: str, check: bool, diff: bool, limit: str | None, tags: tuple[str, ...],
                extra: tuple[str, ...]) -> None:
    """Run a playbook: plays of tasks on host patterns, hosts in parallel, a recap at the end."""
    from kob.playbook.invocation import checked_plays, extra_vars
    from kob.playbook.run import PlaybookRun, RunOptions
    from kob.spec.inventory import load_inventory

    inv = load_inventory(inventory)
    plays = checked_plays(inv, playbook, limit)
    options = RunOptions(check, diff, limit, tuple(t for text in tags for t in text.split(",") if t),
                         extra_vars(extra))
    tally = run_with(inv, lambda _, pool: PlaybookRun(inv, plays, Path(playbook), pool, options, click.echo).run(),
                     store=False)
    if any(t.failed or t.unreachable for t in tally.values()):
        raise SystemExit(2)
