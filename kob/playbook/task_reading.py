"""Task lists, blocks, includes, handlers and single tasks, read into the model (a part of the playbook reader)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

from kob.errors import SpecError
from kob.playbook.keywords import (
    BLOCK_KEYWORDS,
    INCLUDE_KEYWORDS,
    INCLUDES,
    TASK_KEYS,
    UNSUPPORTED,
)
from kob.playbook.model import Block, Include, Item, Scope, Task
from kob.playbook.role_reading import MAX_NESTING
from kob.playbook.task_fields import (
    IDENTIFIER,
    canonical,
    conditions,
    delegate_name,
    environment_value,
    file_name,
    flag,
    loop_control,
    loop_value,
    module_name,
    refuse_unsupported,
    retry_count,
    str_or_list,
    strings,
    task_args,
    user_name,
)
from kob.playbook.templating import check_syntax
from kob.playbook.values import check_template, variables
from kob.spec.yaml_source import Node, did_you_mean, load_yaml

MAX_TEMPLATE_BYTES = 2 << 20


class TaskReading:
    """Reads task lists; the reader that mixes it in keeps handlers, notifies and the playbook's folder."""

    def tasks(self, node: Node | None, scope: Scope) -> tuple[Item, ...]:
        found: list[Item] = []
        for item in node.as_list(expected="a list of tasks") if node is not None else []:
            found += self.item(item, scope)
        return tuple(found)

    def handler_list(self, node: Node | None, scope: Scope, prefix: str = "") -> tuple[Task, ...]:
        handlers: list[Task] = []
        for item in node.as_list(expected="a list of tasks") if node is not None else []:
            fields = dict(item.entries(expected="a task: a mapping such as {name: ..., shell: ...}"))
            if "name" not in fields and "listen" not in fields:
                raise item.error("a handler needs a name: (or listen:) so that notify: can name it")
            if "block" in fields or any(canonical(k) in INCLUDES for k in fields):
                raise item.error("kob run takes a handler as one task, not a block or an include; "
                                 "write several handlers that listen: to one topic")
            if "name" in fields:
                name = fields["name"].as_str()
                first = self.handlers.get(name)
                if first is not None and not prefix:
                    raise fields["name"].error(f"handler {name!r} is defined twice in this play "
                                               f"(first at line {first}); rename one")
                self.handlers.setdefault(name, fields["name"].line)
                if prefix:
                    self.handlers.setdefault(prefix + name, fields["name"].line)
            task = self.task(item, scope, fields, handler=True)
            for topic in task.listen:
                self.handlers.setdefault(topic, item.line)
            handlers.append(task)
        return tuple(handlers)

    def item(self, node: Node, scope: Scope) -> list[Item]:
        fields = dict(node.entries(expected="a task: a mapping such as {name: ..., shell: ...}"))
        if scope.depth > MAX_NESTING:
            raise node.error(f"blocks and imports nest more than {MAX_NESTING} deep; does a file import itself?")
        if "block" in fields:
            return [self.block(node, fields, scope)]
        include = next((k for k in fields if canonical(k) in INCLUDES), None)
        if include is not None:
            return self.include(node, fields, canonical(include), fields[include], scope)
        for key in ("rescue", "always"):
            if key in fields:
                raise fields[key].error(f"{key}: belongs to a block: next to block:")
        return [self.task(node, scope, fields)]

    def scoped(self, scope: Scope, keywords: dict[str, Node]) -> Scope:
        """``scope`` with the keywords of a block, an import or a role entry added."""
        for key, value in keywords.items():
            if key not in BLOCK_KEYWORDS:
                raise value.error(f"{key} is not taken here by kob run (it takes: {', '.join(BLOCK_KEYWORDS)})")
        return replace(scope, depth=scope.depth + 1, become=flag(keywords.get("become"), scope.become),
                       become_user=user_name(keywords.get("become_user"), scope.become_user),
                       remote_user=user_name(keywords.get("remote_user"), scope.remote_user),
                       when=scope.when + (conditions(keywords.get("when")) or ()),
                       tags=scope.tags + strings(keywords.get("tags")),
                       vars={**scope.vars, **variables(keywords.get("vars"))},
                       ignore_errors=flag(keywords.get("ignore_errors"), scope.ignore_errors),
                       check_mode=flag(keywords.get("check_mode"), scope.check_mode),
                       environment={**scope.environment, **environment_value(keywords.get("environment"))},
                       diff=flag(keywords.get("diff"), scope.diff),
                       any_errors_fatal=flag(keywords.get("any_errors_fatal"), scope.any_errors_fatal),
                       delegate_to=delegate_name(keywords.get("delegate_to"), scope.delegate_to))

    def block(self, node: Node, fields: dict[str, Node], scope: Scope) -> Block:
        parts = {key: fields.pop(key) for key in ("block", "rescue", "always") if key in fields}
        name = fields.pop("name", None)
        for key, value in fields.items():
            if canonical(key) in UNSUPPORTED:
                raise value.error(f"{key} is not supported by kob run (yet); remove it or use kob's own commands")
        inner = self.scoped(scope, fields)
        return Block(tasks=self.tasks(parts["block"], inner), rescue=self.tasks(parts.get("rescue"), inner),
                     always=self.tasks(parts.get("always"), inner),
                     name=name.as_str() if name is not None else None, file=node.file, line=node.line)

    def include(self, node: Node, fields: dict[str, Node], kind: str, value: Node, scope: Scope) -> list[Item]:
        rest = {key: v for key, v in fields.items() if canonical(key) not in INCLUDES}
        for key, v in rest.items():
            if key not in INCLUDE_KEYWORDS:
                raise v.error(f"{kind} takes {', '.join(INCLUDE_KEYWORDS)} in kob run, not {key}")
        looped = rest.get("loop") or rest.get("with_items")
        if kind.startswith("import") and looped is not None:
            raise looped.error(f"{kind} cannot loop (as in Ansible); use {kind.replace('import', 'include')}")
        keywords = {k: v for k, v in rest.items() if k in BLOCK_KEYWORDS}
        if kind == "import_role":
            return self.role_call(value, self.scoped(scope, keywords))
        if kind == "import_tasks":
            target = file_name(value)
            if "{{" in target:
                raise value.error("import_tasks reads its file when the playbook loads, so its name cannot be a "
                                  "template; use include_tasks")
            return list(self.task_file(value, target, self.scoped(scope, keywords)))
        target = file_name(value) if kind == "include_tasks" else ""
        own = Task(module=kind, args={"_raw": target}, name=rest["name"].as_str() if "name" in rest else None,
                   when=scope.when + (conditions(rest.get("when")) or ()), loop=loop_value(looped),
                   **loop_control(rest.get("loop_control")),
                   tags=scope.tags + strings(rest.get("tags")), vars={**scope.vars, **variables(rest.get("vars"))},
                   ignore_errors=bool(flag(rest.get("ignore_errors"), scope.ignore_errors)),
                   defaults=scope.defaults, params=scope.params, role=scope.role, file=node.file, line=node.line)
        inner = replace(scope, when=(), depth=scope.depth + 1, vars=own.vars,
                        ignore_errors=own.ignore_errors if "ignore_errors" in rest else scope.ignore_errors)
        if kind == "include_role":
            return [Include(own, inner, tuple(self.role_call(value, inner)))]
        check_template(value, target)
        return [Include(own, inner, None if "{{" in target else self.task_file(value, target, inner))]

    def task_file(self, where: Any, name: str, scope: Scope) -> tuple[Item, ...]:
        written = Path(name)
        candidates = [written] if written.is_absolute() else [scope.base / written, self.base / written]
        if scope.role is not None and not written.is_absolute():
            candidates.insert(1, scope.role.path / "tasks" / written)
        path = next((c for c in candidates if c.is_file()), None)
        if path is None:
            raise where.error(f"tasks file {name} not found (looked in {', '.join(str(c) for c in candidates)})")
        try:
            node = load_yaml(path, expected="a list of tasks")
        except SpecError as error:
            if error.message.startswith("empty file"):
                return ()
            raise
        return self.tasks(node, replace(scope, base=path.parent, depth=scope.depth + 1))

    # -- one task -------------------------------------------------------------------------

    def task(self, node: Node, scope: Scope, fields: dict[str, Node], handler: bool = False) -> Task:
        refuse_unsupported(node, "a task: a mapping such as {name: ..., shell: ...}")
        own: dict[str, Node] = {}
        module: tuple[str, Node] | None = None
        for key, value in fields.items():
            if key == "listen" and not handler:
                raise value.error("listen: belongs to a handler (under handlers:); a task notifies with notify:")
            if key in TASK_KEYS or key == "listen":
                own[key] = value
                continue
            name = module_name(key, value)
            if module is not None:
                raise value.error(f"a task has one module, but {module[0]}: is given too (line {module[1].line}); "
                                  "split it into two tasks")
            module = (name, value)
        if module is None:
            raise node.error("a task needs one module, e.g. shell: or copy:")
        looped = [own[key] for key in ("loop", "with_items", "with_dict") if key in own]
        if len(looped) > 1:
            raise looped[1].error("give one of loop:, with_items:, with_dict:, not several")
        if "loop_control" in own and not looped:
            raise own["loop_control"].error("loop_control: needs a loop: on the same task")
        get = own.get
        if get("notify") is not None:
            self.notifies += str_or_list(get("notify"))
        args = task_args(module, get("args"))
        if module[0] == "template":
            self.check_template_file(module[1], args.get("src"), scope)
        return Task(
            module=module[0],
            args=args,
            name=get("name").as_str() if "name" in own else None,
            when=scope.when + (conditions(get("when")) or ()),
            loop=loop_value(looped[0] if looped else None, mapping="with_dict" in own),
            loop_flatten="with_items" in own,
            register=get("register").as_str(pattern=IDENTIFIER, expected="a variable name such as result")
            if "register" in own else None,
            notify=strings(get("notify")),
            tags=scope.tags + strings(get("tags")),
            ignore_errors=bool(flag(get("ignore_errors"), scope.ignore_errors)),
            check_mode=flag(get("check_mode"), scope.check_mode),
            run_once=bool(flag(get("run_once"), False)),
            changed_when=conditions(get("changed_when")),
            failed_when=conditions(get("failed_when")),
            vars={**scope.vars, **variables(get("vars"))},
            file=node.file,
            line=node.line,
            defaults=scope.defaults,
            params=scope.params,
            role=scope.role,
            listen=strings(get("listen")),
            become=flag(get("become"), scope.become),
            become_user=user_name(get("become_user"), scope.become_user),
            remote_user=user_name(get("remote_user"), scope.remote_user),
            until=conditions(get("until")),
            retries=retry_count(get("retries"), "retries", 10000),
            delay=retry_count(get("delay"), "seconds", 3600) if "delay" in own else 5,
            **loop_control(get("loop_control")),
            loop_dict="with_dict" in own,
            delegate_to=delegate_name(get("delegate_to"), scope.delegate_to),
            environment={**scope.environment, **environment_value(get("environment"))},
            diff=flag(get("diff"), scope.diff),
            any_errors_fatal=flag(get("any_errors_fatal"), scope.any_errors_fatal),
            no_log=bool(flag(get("no_log"), False)),
        )

    def check_template_file(self, where: Node, src: Any, scope: Scope) -> None:
        """A template file named literally is read now: its syntax, filters and tests checked at load."""
        if not isinstance(src, str) or "{{" in src:
            return
        roles = (scope.role.path / "templates" / src, scope.role.path / src) if scope.role else ()
        found = next((c for c in (*roles, Path(src), self.base / src, self.base / "templates" / src)
                      if c.is_file()), None)
        if found is None or found.stat().st_size > MAX_TEMPLATE_BYTES:
            return  # the run says it is missing (or too big), at this task
        why = check_syntax(found.read_text(errors="replace"))
        if why is not None:
            raise where.error(f"cannot read the template {found}: {why}")

    def check_notifies(self) -> None:
        for item in self.notifies if self.checking_notify else []:
            name = item.as_str()
            if name not in self.handlers:
                known = f" (handlers: {', '.join(self.handlers)})" if self.handlers else "; add it under handlers:"
                raise item.error(f"no handler named {name!r} in this play{did_you_mean(name, self.handlers)}{known}")
