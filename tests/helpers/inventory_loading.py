"""Shared by the tables of inventories: write one in the cwd, load it, compare what a lambda looks at or the error."""

from __future__ import annotations

from pathlib import Path

from kob.spec.inventory import load_inventory


def assert_loads(folder: Path, text: str, look, expected) -> None:
    """Write ``text`` as inventory.yaml in ``folder`` (the cwd), load it, compare ``look(inventory)``.

    A str ``expected`` is compared with str() of the result, after {dir} becomes the folder.
    """
    (folder / "inventory.yaml").write_text(text)
    got = look(load_inventory("inventory.yaml"))
    if isinstance(expected, str):
        assert str(got) == expected.format(dir=folder)
    else:
        assert got == expected


def assert_refused(folder: Path, text: str, message: str) -> None:
    """Write ``text`` as inventory.yaml in ``folder`` (the cwd); loading it fails with exactly ``message``."""
    from kob.errors import SpecError

    (folder / "inventory.yaml").write_text(text)
    try:
        load_inventory("inventory.yaml")
    except SpecError as error:
        assert str(error) == message
    else:
        raise AssertionError(f"loaded, but expected: {message}")
