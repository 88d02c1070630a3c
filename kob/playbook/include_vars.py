"""include_vars: variables read from YAML files on the manager when the task runs (file, dir, name,
files_matching), found as Ansible finds them: the role's vars/, the task file's vars/ and folder, the
playbook's vars/ and folder. The values are the playbook's own (templated when used)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from kob.errors import SpecError
from kob.playbook.modules import Outcome
from kob.playbook.values import variables
from kob.spec.yaml_source import load_yaml

EXTENSIONS = (".yml", ".yaml", ".json")
MAX_FILES = 1000


def include_vars(args: Mapping[str, Any], task_file: str, task_line: int, role_path: Path | None,
                 playbook_dir: Path) -> Outcome:
    """The task's outcome: ok with the values under ansible_facts (and the files read), or failed saying why."""
    roots = [*((role_path / "vars", role_path) if role_path else ()), Path(task_file).parent / "vars",
             Path(task_file).parent, playbook_dir / "vars", playbook_dir]
    try:
        if args.get("dir"):
            files = _folder_files(_found(str(args["dir"]), roots, Path.is_dir), args.get("files_matching"))
        else:
            files = [_found(str(args.get("file") or args.get("_raw") or ""), roots, Path.is_file)]
        values: dict[str, Any] = {}
        for path in files:
            values.update(_file_values(path))
    except (LookupError, re.error) as error:
        return Outcome("failed", {"msg": f"{task_file}:{task_line}: include_vars: {error}"})
    except SpecError as error:
        return Outcome("failed", {"msg": f"include_vars: {error}"})
    if args.get("name"):
        values = {str(args["name"]): values}
    return Outcome("ok", {"ansible_facts": values, "ansible_included_var_files": [str(p) for p in files]})


def _found(name: str, roots: list[Path], kind) -> Path:
    if not name:
        raise LookupError("give a file name (file: or free form) or dir:")
    written = Path(name)
    candidates = [written] if written.is_absolute() else [root / written for root in roots]
    for candidate in candidates:
        if kind(candidate):
            return candidate
    raise LookupError(f"{name} not found (looked in {', '.join(str(c) for c in candidates)})")


def _folder_files(folder: Path, matching: Any) -> list[Path]:
    """Every YAML/JSON file under ``folder``, sorted by path as Ansible sorts them (files_matching: a regex of
    the file's name)."""
    pattern = re.compile(str(matching)) if matching else None
    files = sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix in EXTENSIONS
                   and (pattern is None or pattern.search(p.name)))
    if len(files) > MAX_FILES:
        raise LookupError(f"{folder} holds more than {MAX_FILES} variable files")
    return files


def _file_values(path: Path) -> dict[str, Any]:
    try:
        node = load_yaml(path, expected="a mapping of variables")
    except SpecError as error:
        if error.message.startswith("empty file"):
            return {}
        raise
    if node.kind != "mapping":  # not shown: a file given here by mistake may hold anything
        raise SpecError(node.file, node.line, "", f"should be a mapping of variables, got a {node.kind}")
    return variables(node)
