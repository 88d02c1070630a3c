"""`kob import compose`: an inventory from a Compose file (kob.spec.compose does the reading)."""

from __future__ import annotations

import os
from pathlib import Path

import click

from kob.errors import KobError, one_line


@click.group("import")
def import_group() -> None:
    """Write an inventory from another tool's files."""


@import_group.command("compose")
@click.argument("compose_file", type=click.Path())
@click.option("-o", "--output", type=click.Path(dir_okay=False),
              help="Write the inventory here, and env files for secret-looking values beside it (default: "
                   "standard output, without env files).")
@click.option("--hosts-from", type=click.Path(dir_okay=False),
              help="An inventory whose hosts, ssh, state, groups and jobs to keep (else a placeholder hosts: block).")
@click.option("--force", is_flag=True, help="Replace the output and its env files when they exist.")
def compose_command(compose_file: str, output: str | None, hosts_from: str | None, force: bool) -> None:
    """The services: and lb: sections of an inventory, with comments, from COMPOSE_FILE.

    ${VAR} is resolved from this command's environment, then the .env file beside COMPOSE_FILE. Everything of the Compose file that kob takes
    differently or lacks is printed as a warning with its line, and listed at the top of the inventory.
    """
    from kob.spec.compose import check_loads, import_compose, project_environment

    target = Path(output) if output else Path.cwd() / "inventory.yaml"
    if output is not None and os.path.lexists(target) and not force:
        raise KobError(f"{target} already exists; give --force to replace it, or write elsewhere with -o")
    if not target.parent.is_dir():
        raise KobError(f"folder {target.parent} of {target} does not exist; create it (mkdir -p {target.parent})")
    result = import_compose(compose_file, output=target, environ=project_environment(compose_file, os.environ), hosts_from=hosts_from,
                            write_env_files=output is not None)
    for note in result.notes:
        click.echo(f"kob: warning: {one_line(str(note))}", err=True)
    if output is None:
        check_loads(result.text, target)
        click.echo(result.text, nl=False)
        return
    env_paths = [target.parent / name for name in result.env_files]
    existing = [path for path in [target, *env_paths] if os.path.lexists(path)]
    if existing and not force:
        raise KobError(f"{existing[0]} already exists; give --force to replace it, or write elsewhere with -o")
    written = []
    try:
        for path, text in zip(env_paths, result.env_files.values()):
            _write_private(path, text)
            written.append(path)
        inventory = check_loads(result.text, target)
    except BaseException:
        for path in written:
            path.unlink(missing_ok=True)
        raise
    _write_replacing(target, result.text)
    extra = "".join(f" and {path.name} (mode 0600)" for path in env_paths)
    frontends = len(inventory.lb.frontends) if inventory.lb else 0
    counts = ", ".join(f"{n} {what}{'' if n == 1 else 's'}" for n, what in (
        (len(inventory.services), "service"), (frontends, "frontend"), (len(result.notes), "warning")))
    click.echo(f"wrote {target}{extra}: {counts}", err=True)


def _write_private(path: Path, text: str) -> None:
    """An env file only its owner reads; never through a symlink."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as file:
            os.fchmod(file.fileno(), 0o600)
            file.write(text)
    except OSError as error:
        raise KobError(f"{path}: cannot write: {error.strerror or error}") from None


def _write_replacing(path: Path, text: str) -> None:
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        temporary.write_text(text, encoding="utf-8")
        os.replace(temporary, path)
    except OSError as error:
        temporary.unlink(missing_ok=True)
        raise KobError(f"{path}: cannot write: {error.strerror or error}") from None
