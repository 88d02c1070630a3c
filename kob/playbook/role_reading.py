"""The roles: of a play and import_role/include_role, read into tasks (a part of the playbook reader)."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

from kob.playbook.filter_plugins import load_filter_plugins
from kob.playbook.keywords import BLOCK_KEYWORDS, ROLE_CALL_ARGS, TASK_KEYS, UNSUPPORTED
from kob.playbook.model import Item, Scope
from kob.playbook.roles import (
    Role,
    find_role,
    role_dependencies,
    role_variables,
    role_yaml,
)
from kob.playbook.task_fields import canonical
from kob.playbook.values import plain_value, valid_variable_name
from kob.spec.yaml_source import Node, did_you_mean

MAX_NESTING = 32  # blocks, imports and role dependencies inside each other


class RoleReading:
    """roles:, role dependencies and role calls; the reader that mixes it in reads their tasks."""

    def roles(self, node: Node | None, scope: Scope) -> tuple[Item, ...]:
        found: list[Item] = []
        for entry in node.as_list(expected="a list of roles") if node is not None else []:
            found += self.role_entry(entry, scope)
        return tuple(found)

    def role_entry(self, entry: Node, scope: Scope) -> list[Item]:
        """A roles: entry: a name, or {role: name, when:, tags:, vars:, and other keys as parameters}."""
        if entry.kind == "scalar":
            return self.role(entry, entry.as_str(), scope, {})
        fields = dict(entry.entries(expected="a role: its name, or a mapping such as {role: web, port: 80}"))
        named = fields.pop("role", None) or fields.pop("name", None)
        if named is None:
            raise entry.error("a roles: entry needs role: (the role's name)")
        keywords = {key: fields.pop(key) for key in list(fields) if key in BLOCK_KEYWORDS}
        for key, value in fields.items():
            if canonical(key) in UNSUPPORTED or key in TASK_KEYS:
                raise value.error(f"{key} is not supported on a role by kob run (yet); "
                                  f"it takes {', '.join(BLOCK_KEYWORDS)} and parameters")
            if not valid_variable_name(key):
                raise value.error(f"a role parameter should be a variable name, got {key!r}")
        params = {key: plain_value(value) for key, value in fields.items()}
        return self.role(named, named.as_str(), self.scoped(scope, keywords), params)

    def role(self, where: Node, name: str, scope: Scope, params: dict[str, Any], tasks_from: str = "main",
             vars_from: str = "main", defaults_from: str = "main", again: bool = False) -> list[Item]:
        role = find_role(where, name, self.base)
        load_filter_plugins(role.path / "filter_plugins")  # before its tasks' templates are checked
        key = (str(role.path), json.dumps([params, tasks_from], sort_keys=True, default=str))
        if key in self.roles_run and not again:
            return []  # a role runs once in a play with the same parameters, as in Ansible
        self.roles_run.add(key)
        if scope.depth > MAX_NESTING:
            raise where.error(f"roles depend on each other more than {MAX_NESTING} deep; is there a loop?")
        defaults = role_variables(role, "defaults", defaults_from, where)
        own_vars = role_variables(role, "vars", vars_from, where)
        inner = replace(scope, base=role.path / "tasks", role=role, depth=scope.depth + 1,
                        defaults={**scope.defaults, **defaults}, vars={**scope.vars, **own_vars},
                        params={**scope.params, **params})
        self.role_handler_file(role, inner)  # before its dependencies' handlers, as Ansible orders them
        found: list[Item] = []
        for dependency in role_dependencies(role):
            found += self.role_entry(dependency, replace(scope, depth=scope.depth + 1, params={}))
        self.role_defaults.update(defaults)
        self.role_vars.update(own_vars)
        tasks = role_yaml(role, "tasks", tasks_from, where)
        found += self.tasks(tasks, inner) if tasks is not None else []
        return found

    def role_handler_file(self, role: Role, scope: Scope) -> None:
        if any(h.role == role for h in self.role_handlers):
            return
        node = role_yaml(role, "handlers")
        self.role_handlers += self.handler_list(node, replace(scope, when=(), tags=()), prefix=f"{role.name} : ")

    def role_call(self, value: Node, scope: Scope) -> list[Item]:
        """import_role:/include_role: {name:, tasks_from:, vars_from:, defaults_from:} (runs the role again)."""
        args = dict(value.entries(expected="a mapping such as {name: web, tasks_from: setup}"))
        for key, arg in args.items():
            if key not in ROLE_CALL_ARGS:
                raise arg.error(f"unknown argument{did_you_mean(key, ROLE_CALL_ARGS)} "
                                f"(it takes: {', '.join(ROLE_CALL_ARGS)})")
        if "name" not in args:
            raise value.error("needs name: (the role's name)")
        given = {key: arg.as_str() for key, arg in args.items()}
        return self.role(args["name"], given["name"], scope, {}, given.get("tasks_from", "main"),
                         given.get("vars_from", "main"), given.get("defaults_from", "main"), again=True)

    # -- task lists --------------------------------------------------------------------
