"""Ansible roles on disk: where a role is found and the files of its folders (reads files, pure otherwise).

    roles/web/tasks/main.yml       the role's tasks (tasks_from: picks another file here)
    roles/web/handlers/main.yml    its handlers, added to the play's
    roles/web/defaults/main.yml    its defaults: the lowest variables of all
    roles/web/vars/main.yml        its vars: above the play's vars
    roles/web/meta/main.yml        dependencies: roles run before it
    roles/web/templates/, files/   where its template and copy find src

A role named ``web`` is looked for in roles/ beside the playbook, beside the playbook, then in
each folder of ANSIBLE_ROLES_PATH (or KOB_ROLES_PATH), colon-separated. A file is main.yml,
main.yaml or main (or the ``*_from`` name, with or without .yml).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kob.errors import SpecError
from kob.playbook.values import variables
from kob.spec.yaml_source import Node, load_yaml

ROLE_FOLDERS = ("tasks", "handlers", "defaults", "vars", "meta", "templates", "files", "library", "module_utils",
                "lookup_plugins", "filter_plugins", "tests", "README.md")


@dataclass(frozen=True)
class Role:
    name: str
    path: Path


def role_search_path(playbook_dir: Path) -> list[Path]:
    extra = os.environ.get("KOB_ROLES_PATH") or os.environ.get("ANSIBLE_ROLES_PATH") or ""
    return [playbook_dir / "roles", playbook_dir, *(Path(p).expanduser() for p in extra.split(":") if p)]


def find_role(where: Node, name: str, playbook_dir: Path) -> Role:
    """The role ``name`` (a name, or a path to its folder); a SpecError at ``where`` when none is found."""
    if "{{" in name:
        raise where.error("a role's name cannot be a template in kob run; write the role's name")
    folders = [Path(name)] if "/" in name else [base / name for base in role_search_path(playbook_dir)]
    for folder in folders:
        if folder.is_dir():
            return Role(os.path.basename(name.rstrip("/")), folder.resolve())
    looked = ", ".join(str(f) for f in folders)
    raise where.error(f"role {name!r} not found (looked in {looked}); put it in roles/ beside the playbook "
                      "or name its folder in ANSIBLE_ROLES_PATH")


def role_file(role: Role, folder: str, name: str = "main") -> Path | None:
    """The file ``name`` of one of the role's folders, or None."""
    for candidate in (name, f"{name}.yml", f"{name}.yaml") if not name.endswith((".yml", ".yaml")) else (name,):
        path = role.path / folder / candidate
        if path.is_file():
            return path
    return None


def role_variables(role: Role, folder: str, name: str = "main", where: Node | None = None) -> dict[str, Any]:
    """defaults/ or vars/ of the role as a mapping (empty when the role has no such file)."""
    path = role_file(role, folder, name)
    if path is None:
        if name != "main" and where is not None:
            raise where.error(f"role {role.name} has no {folder}/{name}(.yml)")
        return {}
    source = load_yaml(path, expected="a mapping of variables")
    if source.kind == "null":
        return {}
    if source.kind != "mapping":
        raise SpecError(source.file, source.line, "", f"should be a mapping of variables, got a {source.kind}")
    return variables(source)


def role_yaml(role: Role, folder: str, name: str = "main", where: Node | None = None,
              expected: str = "a list of tasks") -> Node | None:
    """The parsed file of tasks/ or handlers/ (None when the role has none; a named one must exist)."""
    path = role_file(role, folder, name)
    if path is None:
        if name != "main" and where is not None:
            raise where.error(f"role {role.name} has no {folder}/{name}(.yml)")
        return None
    try:
        return load_yaml(path, expected=expected)
    except SpecError as error:
        if error.message.startswith("empty file"):
            return None
        raise


def role_dependencies(role: Role) -> list[Node]:
    """The entries of meta/main.yml's dependencies: (names, or mappings with role: and parameters)."""
    path = role_file(role, "meta")
    if path is None:
        return []
    try:
        meta = load_yaml(path, expected="a mapping such as {dependencies: [...]}")
    except SpecError as error:
        if error.message.startswith("empty file"):
            return []
        raise
    found = dict(meta.entries(expected="a mapping such as {dependencies: [...], galaxy_info: {...}}"))
    node = found.get("dependencies")
    return [] if node is None else node.as_list(expected="a list of roles")
