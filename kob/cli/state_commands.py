"""`kob state export | import`: an inventory's state as one JSON document, to back it up or move it to another store."""

from __future__ import annotations

import click

from kob.cli.options import INVENTORY, WAIT
from kob.cli.runner import run_with
from kob.errors import KobError


@click.group("state")
def state() -> None:
    """Back up an inventory's state, or move it between SQLite and etcd."""


@state.command("export")
@INVENTORY
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="Write it here (default: standard output).")
@click.option("--samples", is_flag=True, help="Also the metric samples (left out by default).")
def export_command(inventory: str, output: str | None, samples: bool) -> None:
    """Everything the store holds for the inventory, as one JSON document (locks are left out: they expire)."""
    import time

    from kob import __version__
    from kob.identity import namespace
    from kob.spec.inventory import load_inventory
    from kob.state_backup import counted, document_text, export_state

    inv = load_inventory(inventory)
    document = run_with(inv, lambda store, _: export_state(
        store, namespace(inv), samples=samples, source=inv.state_url, exported_at=time.time(),
        kob_version=__version__), transport=False)
    text = document_text(document)
    if output is None:
        click.echo(text, nl=False)
        return
    _write_replacing(output, text)
    click.echo(f"{output}: {counted(len(document['entries']), 'key')} and {counted(len(document['events']), 'event')}"
               f" of {document['namespace']}{'' if samples else ', metric samples left out'}", err=True)


@state.command("import")
@INVENTORY
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--force", is_flag=True,
              help="Into a store that already holds this inventory's state: its keys become exactly the file's; "
                   "events the log lacks are appended.")
@WAIT
def import_command(inventory: str, file: str, force: bool, wait: float) -> None:
    """Load a `kob state export` document into the inventory's store, which must hold none of its state.

    The whole file is checked before anything is written, which happens under the inventory's deploy and jobs
    locks, so no deploy, pass or job dispatch of it runs meanwhile.
    """
    from pathlib import Path

    from kob.identity import deploy_lock, namespace, operator
    from kob.jobs.book import JobBook
    from kob.spec.inventory import load_inventory
    from kob.state_backup import counted, import_state, read_document

    inv = load_inventory(inventory)
    document = read_document(Path(file))

    async def locked_import(store):
        async with deploy_lock(store, inv, wait), JobBook(store, namespace(inv)).lock(operator(), wait):
            return await import_state(store, document, namespace(inv), force=force, file=file, where=inv.state_url)

    report = run_with(inv, lambda store, _: locked_import(store), transport=False)
    extra = (f"; {counted(report.deleted, 'key')} it lacks deleted, {counted(report.already, 'event')} already there"
             if force else "")
    click.echo(f"imported {file} into {inv.state_url}: {counted(report.written, 'key')}, "
               f"{counted(report.appended, 'event')}{extra}")


def _write_replacing(output: str, text: str) -> None:
    """Write to a temporary file beside ``output``, then rename it over: a reader never sees half of it."""
    import os
    import tempfile

    folder = os.path.dirname(os.path.abspath(output))
    try:
        descriptor, temporary = tempfile.mkstemp(prefix=".kob-state-", dir=folder)
        try:
            with os.fdopen(descriptor, "w") as handle:
                handle.write(text)
            os.replace(temporary, output)
        except BaseException:
            os.unlink(temporary)
            raise
    except OSError as error:
        raise KobError(f"{output}: cannot write it: {error.strerror or error}") from None
