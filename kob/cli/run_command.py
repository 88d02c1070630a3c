"""`kob run PLAYBOOK -i INVENTORY`: an Ansible-style playbook over kob's SSH pool."""

from __future__ import annotations

import asyncio
import json
import shlex
from pathlib import Path
from typing import Any

import click

from kob.errors import KobError
from kob.playbook.modules import IMPLEMENTED
from kob.playbook.run import PlaybookRun, RunOptions
from kob.spec.inventory import load_inventory
from kob.spec.patterns import select_hosts
from kob.spec.playbook import load_playbook
from kob.transport.ssh import SshPool


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
    inv = load_inventory(inventory)
    plays = load_playbook(playbook)
    for play in plays:
        select_hosts(inv, play.hosts)  # a bad pattern is an error before anything runs
        for task in (*play.tasks, *play.handlers):
            if task.module not in IMPLEMENTED:
                raise KobError(f"{task.file}:{task.line}: module {task.module} is not available in kob run yet "
                               f"(available: {', '.join(IMPLEMENTED)})")
    if limit:
        select_hosts(inv, limit)
    options = RunOptions(check, diff, limit, tuple(t for text in tags for t in text.split(",") if t),
                         extra_vars(extra))

    async def run():
        async with SshPool() as pool:
            return await PlaybookRun(inv, plays, Path(playbook), pool, options, click.echo).run()

    tally = asyncio.run(run())
    if any(t.failed or t.unreachable for t in tally.values()):
        raise SystemExit(2)


def extra_vars(texts: tuple[str, ...]) -> dict[str, Any]:
    """-e values: key=value words, or one JSON mapping."""
    found: dict[str, Any] = {}
    for text in texts:
        if text.lstrip().startswith("{"):
            try:
                value = json.loads(text)
            except json.JSONDecodeError as error:
                raise KobError(f"-e {text!r}: not a JSON mapping: {error}") from None
            if not isinstance(value, dict):
                raise KobError(f"-e {text!r}: not a JSON mapping")
            found.update(value)
            continue
        for word in shlex.split(text):
            key, sep, value = word.partition("=")
            if not sep or not key.isidentifier():
                raise KobError(f"-e {word!r}: write key=value (or a JSON mapping)")
            found[key] = value
    return found
