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
    "lend": ("kob.deploy", "kob.passes", "kob.view", "kob.cron", "kob.cli", "kob.lab", "kob.adhoc"),
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


def module_name(path: Path) -> str:
    parts = path.relative_to(KOB.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def module_level_imports(path: Path, known: set[str]) -> set[str]:
    """kob modules imported outside function bodies (TYPE_CHECKING blocks count: they are a design's edges too)."""
    found = set()

    def visit(node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
                continue
            if isinstance(child, ast.Import):
                found.update(alias.name for alias in child.names)
            elif isinstance(child, ast.ImportFrom) and child.module and child.level == 0:
                found.add(child.module)
                found.update(f"{child.module}.{alias.name}" for alias in child.names)
            visit(child)

    visit(ast.parse(path.read_text()))
    return {name for name in found if name in known}


def test_no_import_cycles_between_kob_modules():
    paths = {module_name(path): path for path in KOB.rglob("*.py")}
    graph = {name: module_level_imports(path, set(paths)) - {name} for name, path in paths.items()}
    cycles, state = [], {}

    def walk(name: str, trail: list[str]) -> None:
        state[name] = "open"
        for other in sorted(graph[name]):
            if state.get(other) == "open" and not other.startswith(name + "."):
                cycles.append(trail[trail.index(other):] + [other] if other in trail else [name, other])
            elif other not in state:
                walk(other, trail + [other])
        state[name] = "done"

    for name in sorted(graph):
        if name not in state:
            walk(name, [name])
    cycles = [c for c in cycles if not all(m == c[0] or m.startswith(c[0] + ".") or c[0].startswith(m + ".")
                                             for m in c)]
    assert not cycles, "import cycles: " + "; ".join(" → ".join(c) for c in cycles)
