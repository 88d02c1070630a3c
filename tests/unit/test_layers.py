"""The layers of DESIGN.md: lower layers never import higher ones, and the core never imports the lab."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

KOB = Path(__file__).resolve().parents[2] / "kob"

# package → kob packages it must not import
FORBIDDEN = {
    "spec": ("kob.commands", "kob.transport", "kob.store", "kob.cli", "kob.lab", "kob.adhoc"),
    "commands": ("kob.transport", "kob.store", "kob.cli", "kob.lab", "kob.adhoc"),
    "transport": ("kob.store", "kob.cli", "kob.lab", "kob.adhoc"),
    "store": ("kob.transport", "kob.cli", "kob.lab", "kob.adhoc"),
    "facts": ("kob.plan", "kob.transport", "kob.store", "kob.lb", "kob.deploy", "kob.cli", "kob.lab"),
    "plan": ("kob.transport", "kob.store", "kob.lb", "kob.deploy", "kob.cli", "kob.lab"),
    "lb": ("kob.store", "kob.deploy", "kob.cli", "kob.lab", "kob.adhoc"),
    "deploy": ("kob.cli", "kob.lab", "kob.adhoc", "kob.passes", "kob.view", "kob.cron"),
    "policy": ("kob.transport", "kob.store", "kob.lb", "kob.deploy", "kob.metrics", "kob.passes", "kob.view", "kob.cli",
               "kob.lab"),
    "metrics": ("kob.deploy", "kob.passes", "kob.view", "kob.cron", "kob.cli", "kob.lab", "kob.adhoc"),
    "passes": ("kob.cli", "kob.lab", "kob.adhoc", "kob.cron", "kob.view"),
    "view": ("kob.cli", "kob.lab", "kob.adhoc", "kob.cron"),
    "playbook": ("kob.cli", "kob.lab", "kob.adhoc", "kob.passes", "kob.view", "kob.cron", "kob.jobs"),
    "jobs": ("kob.passes", "kob.view", "kob.cron", "kob.cli", "kob.lab", "kob.adhoc"),
    "cron": ("kob.transport", "kob.lb", "kob.deploy", "kob.metrics", "kob.passes", "kob.view", "kob.cli", "kob.lab"),
}


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_lower_layers_do_not_import_higher_ones(package):
    for path in (KOB / package).rglob("*.py"):
        bad = [m for m in imported_modules(path) if m.startswith(FORBIDDEN[package])]
        assert not bad, f"{path.relative_to(KOB.parent)} imports {bad}"


def test_only_the_lab_command_imports_the_lab():
    importers = {path.relative_to(KOB.parent).as_posix() for path in KOB.rglob("*.py")
                 if "lab" not in path.relative_to(KOB).parts[:1]
                 and any(m.startswith("kob.lab") for m in imported_modules(path))}
    assert importers == {"kob/cli/lab_commands.py"}
