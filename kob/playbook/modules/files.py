"""file, copy, template and lineinfile, and the read-edit-write path that every text-editing module shares.

file's state=link and state=hard are kob.commands.task_links' script; lineinfile's edit is kob.playbook.lines.

copy sends the content on stdin to one script that compares sha256 sums on the host; validate: checks the
new file before it replaces the old one, backup: keeps the old one as PATH.PID.DATE@TIME~ (Ansible's name).
"""

from __future__ import annotations

import hashlib
import os
import re
import shlex
from collections.abc import Callable, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from kob.commands.task_links import link_argv
from kob.commands.tasks import (
    BACKUP_MARK,
    OLD_BEGIN,
    copy_argv,
    exists_argv,
    file_argv,
    octal_mode,
)
from kob.playbook.lines import edit_lines
from kob.playbook.modules.context import (
    Outcome,
    attributes,
    flag,
    local_file,
    old_content,
    read_text,
    scripted,
    unified,
)
from kob.playbook.templating import TemplateError, render_file, with_values

ANSIBLE_MANAGED = "Ansible managed"  # ansible-core's default of DEFAULT_MANAGED_STR, so files come out the same


async def file(args, ctx, variables) -> Outcome:
    path = str(args.get("path") or args.get("dest") or "")
    state = str(args.get("state", "file"))
    src = "" if args.get("src") is None else str(args["src"])
    follow = bool(flag(args, "follow", True))
    owned = (octal_mode(args.get("mode")), str(args.get("owner", "")), str(args.get("group", "")))
    if state in ("link", "hard"):
        argv = link_argv(path, src, state, bool(flag(args, "force", False)), follow, *owned, ctx.check)
        return scripted(await ctx.run(argv), {"dest": path, "src": src or None, "state": state})
    if src:
        return Outcome("failed", {"msg": "src option requires state to be 'link' or 'hard'", "path": path})
    result = await ctx.run(file_argv(path, state, *owned, ctx.check, follow))
    return scripted(result, {"path": path, "state": state})


async def copy(args, ctx, variables, content: bytes | None = None) -> Outcome:
    """``force: false`` leaves a file that exists as it is (content, mode and owner), as Ansible's copy does."""
    dest = str(args["dest"])
    if flag(args, "force", True) is False and (await ctx.run(exists_argv(dest))).rc == 0:
        return Outcome("ok", {"dest": dest, "changed": False, "msg": "file already exists"})
    content = _content(args, ctx.playbook_dir, ctx.role_path) if content is None else content
    argv = copy_argv(dest, hashlib.sha256(content).hexdigest(), octal_mode(args.get("mode")),
                     str(args.get("owner", "")), str(args.get("group", "")), ctx.check, ctx.diff,
                     bool(flag(args, "backup")), validate_words(args.get("validate")))
    result = await ctx.run(argv, input=content)
    outcome = scripted(result, {"dest": dest, "checksum": hashlib.sha256(content).hexdigest()})
    backup = next((line.split(" ", 1)[1] for line in result.stdout.splitlines() if line.startswith(BACKUP_MARK + " ")),
                  None)
    if backup:
        outcome.result["backup_file"] = backup
    if ctx.diff and OLD_BEGIN in result.stdout:
        outcome.diff = unified(dest, old_content(result.stdout), content)
    return outcome


def validate_words(validate: Any) -> list[str]:
    """validate: as the words of a command (no shell), one of which holds %s, the file to check."""
    if validate in (None, ""):
        return []
    words = shlex.split(str(validate))
    if not any("%s" in word for word in words):
        raise TemplateError(f"validate should hold %s (the file to check), got {str(validate)[:60]!r}")
    return words


async def template(args, ctx, variables) -> Outcome:
    """Rendered on the manager as Ansible's template module renders (trim_blocks on, lstrip_blocks off)."""
    source = local_file(str(args["src"]), ctx.playbook_dir, "templates", ctx.role_path)
    trim, lstrip = flag(args, "trim_blocks"), flag(args, "lstrip_blocks")
    content = render_file(source.read_text(), with_values(variables, template_variables(args, source)),
                          trim_blocks=True if trim is None else trim, lstrip_blocks=bool(lstrip)).encode()
    copied = {key: value for key, value in args.items() if key not in ("trim_blocks", "lstrip_blocks")}
    return await copy({**copied, "content": None}, ctx, variables, content)


def template_variables(args: Mapping[str, Any], source: Path) -> dict[str, Any]:
    """What Ansible's template module adds to a template's variables."""
    return {"ansible_managed": ANSIBLE_MANAGED, "template_path": str(args["src"]),
            "template_fullpath": str(source.resolve()), "template_destpath": str(args["dest"]),
            "template_host": os.uname().nodename}


async def lineinfile(args, ctx, variables) -> Outcome:
    """Ansible's lineinfile (see kob.playbook.lines); state=absent on a missing file is ok, as there."""
    line = None if args.get("line") is None else str(args["line"])
    state = str(args.get("state", "present"))
    if state == "present" and line is None:
        return Outcome("failed", {"msg": "line is required with state=present"})
    if state == "absent" and all(args.get(key) is None for key in ("line", "regexp", "search_string")):
        return Outcome("failed", {"msg": "one of line, search_string, or regexp is required with state=absent"})
    if bool(flag(args, "backrefs")) and args.get("regexp") is None:
        return Outcome("failed", {"msg": "regexp is required with backrefs=true"})
    wish = {key: _text(args.get(key)) for key in ("insertafter", "insertbefore", "search_string")}
    more = {**wish, "firstmatch": bool(flag(args, "firstmatch")), "backrefs": bool(flag(args, "backrefs"))}
    path = str(args["path"])
    missing_ok = state == "absent"  # as in Ansible: nothing to take out of a missing file, create: or not
    return await edit_file({**args, "create": True} if missing_ok else args, ctx, path,
                           lambda old: None if old is None and missing_ok else
                           edit_lines(old or "", line, _text(args.get("regexp")), state, **more),
                           missing=f"{path} does not exist (create: true makes it)")


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


async def edit_file(args, ctx, path: str, edit: Callable[[str | None], str | None], missing: str,
                    registered: Mapping[str, Any] | None = None) -> Outcome:
    """Read ``path`` on the host, edit its text on the manager (None: the file should not exist, or stay
    missing), and write it back only when it changes (create:, mode/owner/group, backup:, validate: as given)."""
    old = await read_text(ctx, path)
    if old is None and not flag(args, "create", False):
        return Outcome("failed", {"msg": missing, "path": path, "rc": 257})
    try:
        new = edit(old)
    except re.error as error:
        return Outcome("failed", {"msg": f"not a regular expression: {error}", "path": path})
    if new is None or new == old:
        if old is None or not attributes(args):
            return Outcome("ok", {"path": path, "changed": False, **(registered or {})})
        outcome = await file({"path": path, "state": "file", **attributes(args)}, ctx, variables=None)
    else:
        keep = {k: args[k] for k in ("mode", "owner", "group", "backup", "validate") if k in args}
        outcome = await copy({**keep, "dest": path}, replace(ctx, diff=False), None,
                             new.encode())
        outcome.result.pop("dest", None)
        if ctx.diff:
            outcome.diff = unified(path, old or "", new)
    outcome.result.update({"path": path, **(registered or {})})
    return outcome


def _content(args, playbook_dir: Path, role_path: Path | None = None) -> bytes:
    if "content" in args:
        return str(args["content"]).encode()
    return local_file(str(args["src"]), playbook_dir, "files", role_path).read_bytes()
