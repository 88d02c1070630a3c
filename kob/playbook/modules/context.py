"""What every module gets and gives: the host it works on (HostContext), what it did (Outcome), and the
helpers they share: reading a script's verdict, a file on the manager, a boolean argument, a diff."""

from __future__ import annotations

import base64
import difflib
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kob.commands.tasks import OLD_BEGIN, OLD_END, RESULT_MARK, read_argv
from kob.errors import KobError
from kob.playbook.templating import TemplateError
from kob.playbook.values import ansible_bool, ansible_int
from kob.spec.inventory import Inventory
from kob.transport.base import Transport
from kob.transport.result import Result


@dataclass
class Outcome:
    status: str  # ok | changed | failed | skipped
    result: dict[str, Any] = field(default_factory=dict)  # what `register` keeps
    facts: dict[str, Any] = field(default_factory=dict)  # set_fact
    diff: str = ""


@dataclass
class HostContext:
    host: str
    run: Callable[..., Awaitable[Result]]  # run(argv, input=None, timeout=None) -> Result on this host
    check: bool
    diff: bool
    playbook_dir: Path
    inventory: Inventory | None = None  # the run's (kob_deploy's default)
    transport: Transport | None = None  # the run's (kob_deploy deploys through it)
    shared: dict[str, Any] = field(default_factory=dict)  # one task's state shared by its hosts (kob_deploy)
    role_path: Path | None = None  # the task's role: its templates/ and files/ are looked in first


def flag(args: Mapping[str, Any], key: str, default: bool | None = None) -> bool | None:
    """A boolean argument (converted at load, or rendered from a template now); ``default`` when not given."""
    if key not in args or args[key] is None:
        return default
    value = ansible_bool(args[key])
    if value is None:
        raise TemplateError(f"{key} should be true or false (yes/no, on/off), got {str(args[key])[:40]!r}")
    return value


def whole_number(args: Mapping[str, Any], key: str, default: int | None = None) -> int | None:
    if key not in args or args[key] in (None, ""):
        return default
    value = ansible_int(args[key])
    if value is None:
        raise TemplateError(f"{key} should be a whole number, got {str(args[key])[:40]!r}")
    return value


def names(value: Any) -> list[str]:
    """A list argument given as a list or as a comma-separated string (Ansible's type list)."""
    if value is None or value == "":
        return []
    items = value.split(",") if isinstance(value, str) else value
    return [str(item).strip() for item in items if str(item).strip()]


def attributes(args: Mapping[str, Any]) -> dict[str, Any]:
    return {key: args[key] for key in ("mode", "owner", "group") if key in args}


def local_file(name: str, playbook_dir: Path, folder: str, role_path: Path | None = None) -> Path:
    """A file on the manager: in the task's role (its files/ or templates/ folder, or the role's own), as
    given, beside the playbook, or in the playbook's files/ or templates/ folder."""
    roles = (role_path / folder / name, role_path / name) if role_path is not None else ()
    for candidate in (*roles, Path(name), playbook_dir / name, playbook_dir / folder / name):
        if candidate.is_file():
            return candidate
    where = f"{role_path / folder}, " if role_path is not None else ""
    raise FileNotFoundError(f"{name} is not a file in {where}{playbook_dir} or {playbook_dir / folder}")


def scripted(result: Result, registered: dict) -> Outcome:
    """A host script's verdict: its last line is RESULT_MARK changed | ok | failed WHY."""
    last = result.stdout.rstrip("\n").rsplit("\n", 1)[-1]
    if result.rc != 0 or not last.startswith(RESULT_MARK):
        return Outcome("failed", {**registered, "msg": last_error(result), "rc": result.rc})
    verdict = last[len(RESULT_MARK):].strip()
    if verdict.startswith("failed"):
        return Outcome("failed", {**registered, "msg": verdict[len("failed"):].strip()})
    return Outcome(verdict, {**registered, "changed": verdict == "changed"})


def last_error(result: Result) -> str:
    return (result.stderr.strip().splitlines() or [f"exit {result.rc}"])[-1]


def decoded(text: str) -> bytes:
    return base64.b64decode("".join(text.split()))


async def read_text(ctx: HostContext, path: str) -> str | None:
    """A file on the host as text (None when it does not exist); HostFileError with the host's words if unreadable."""
    read = await ctx.run(read_argv(path))
    if read.rc == 3:
        return None
    if read.rc != 0:
        raise HostFileError(last_error(read))
    return decoded(read.stdout).decode(errors="replace")


class HostFileError(KobError):
    """A file the module needs could not be read on the host: run_module makes it the task's failure."""


def old_content(stdout: str) -> bytes:
    inside = stdout.split(OLD_BEGIN, 1)[1].split(OLD_END, 1)[0]
    return decoded(inside)


def unified(path: str, old: bytes | str, new: bytes | str) -> str:
    before = old.decode(errors="replace") if isinstance(old, bytes) else old
    after = new.decode(errors="replace") if isinstance(new, bytes) else new
    lines = difflib.unified_diff(before.splitlines(keepends=True), after.splitlines(keepends=True),
                                 fromfile=f"before: {path}", tofile=f"after: {path}")
    return "".join(lines)


def script_output(stdout: str, blocks: tuple[str, ...] = ()) -> tuple[dict[str, str], dict[str, bytes]]:
    """What a read script printed before its verdict: 'key value' lines, and base64 blocks that each follow a
    line naming them (one of ``blocks``)."""
    fields: dict[str, str] = {}
    found: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in stdout.splitlines():
        if line.startswith(RESULT_MARK):
            break
        if line in blocks:
            current = found.setdefault(line, [])
        elif current is not None:
            current.append(line)
        else:
            key, _, value = line.partition(" ")
            fields[key] = value
    return fields, {name: decoded("".join(lines)) for name, lines in found.items()}
