"""cron and sysctl: a crontab or cron file, and kernel settings in a sysctl file and in the running kernel."""

from __future__ import annotations

from pathlib import PurePosixPath

from kob.commands.task_system import (
    crontab_read_argv,
    crontab_write_argv,
    sysctl_apply_argv,
    sysctl_read_argv,
)
from kob.commands.tasks import file_argv
from kob.playbook.crontab import SPECIAL_TIMES, cron_line, cron_text, has_jobs
from kob.playbook.edits import sysctl_text, sysctl_value, sysctl_values
from kob.playbook.modules.context import (
    Outcome,
    decoded,
    flag,
    read_text,
    script_output,
    scripted,
    unified,
)
from kob.playbook.modules.files import copy

CRON_FIELDS = ("minute", "hour", "day", "month", "weekday")


async def cron(args, ctx, variables) -> Outcome:
    name, present = str(args["name"]), str(args.get("state") or "present") == "present"
    special = args.get("special_time")
    if special is not None and str(special) not in SPECIAL_TIMES:
        return Outcome("failed", {"msg": f"special_time should be one of {', '.join(SPECIAL_TIMES)}, got {special!r}"})
    if present and not args.get("job"):
        return Outcome("failed", {"msg": "cron: job is required with state present"})
    cron_file = _cron_file(args.get("cron_file"))
    user = str(args.get("user") or ("root" if cron_file else ""))
    line = cron_line(str(args["job"]), *(str(args.get(f) or "*") for f in CRON_FIELDS), special_time=special,
                     user=user if cron_file else None, disabled=bool(flag(args, "disabled", False))) if present else None
    registered = {"name": name, "job": args.get("job"), "state": "present" if present else "absent"}
    if cron_file:
        return await _cron_in_file(args, ctx, cron_file, name, line, registered)
    read = await ctx.run(crontab_read_argv(user or "root"))
    outcome = scripted(read, registered)
    if outcome.status == "failed":
        return outcome
    old = decoded("".join(read.stdout.splitlines()[:-1])).decode(errors="replace")
    new = cron_text(old, name, line)
    if new == old:
        return Outcome("ok", {**registered, "changed": False})
    diff = unified(f"crontab of {user or 'root'}", old, new) if ctx.diff else ""
    if ctx.check:
        return Outcome("changed", {**registered, "changed": True}, diff=diff)
    written = scripted(await ctx.run(crontab_write_argv(user or "root"), input=new.encode()), registered)
    written.diff = diff
    return written


async def _cron_in_file(args, ctx, path: str, name: str, line: str | None, registered: dict) -> Outcome:
    old = await read_text(ctx, path)
    new = cron_text(old or "", name, line)
    if new == (old or "") and (old is not None or line is None):
        return Outcome("ok", {**registered, "cron_file": path, "changed": False})
    diff = unified(path, old or "", new) if ctx.diff else ""
    if line is None and not has_jobs(new):  # as in Ansible: a cron file left without jobs goes
        outcome = scripted(await ctx.run(file_argv(path, "absent", "", "", "", ctx.check)), registered)
    else:
        outcome = await copy({"dest": path, "backup": args.get("backup")}, ctx, None, new.encode())
    outcome.result.update(registered, cron_file=path)
    outcome.diff = diff
    return outcome


def _cron_file(value) -> str | None:
    if not value:
        return None
    path = PurePosixPath(str(value))
    return str(path if path.is_absolute() else PurePosixPath("/etc/cron.d") / path)


async def sysctl(args, ctx, variables) -> Outcome:
    name, present = str(args["name"]), str(args.get("state") or "present") == "present"
    if present and args.get("value") in (None, ""):
        return Outcome("failed", {"msg": "sysctl: value is required with state present"})
    value = sysctl_value(args["value"]) if present else None
    path = str(args.get("sysctl_file") or "/etc/sysctl.conf")
    set_kernel = bool(flag(args, "sysctl_set", False)) and present
    read = await ctx.run(sysctl_read_argv(path, name, set_kernel))
    outcome = scripted(read, {"name": name})
    if outcome.status == "failed":
        return outcome
    fields, blocks = script_output(read.stdout, ("file",))
    old = blocks["file"].decode(errors="replace") if "file" in blocks else ""
    file_changes = (sysctl_values(old).get(name) != value) if present else name in sysctl_values(old)
    kernel_changes = set_kernel and sysctl_value(fields.get("value", "")) != value
    registered = {"name": name, "value": value, "sysctl_file": path, "changed": file_changes or kernel_changes}
    if not (file_changes or kernel_changes):
        return Outcome("ok", registered)
    new = sysctl_text(old, name, value) if file_changes else old
    diff = unified(path, old, new) if ctx.diff and file_changes else ""
    if ctx.check:
        return Outcome("changed", registered, diff=diff)
    if file_changes:
        written = await copy({"dest": path}, ctx, None, new.encode())
        if written.status == "failed":
            return Outcome("failed", {**registered, "msg": written.result.get("msg")})
    reload = file_changes and bool(flag(args, "reload", True))
    if kernel_changes or reload:
        applied = scripted(await ctx.run(sysctl_apply_argv(name, value or "", bool(kernel_changes), reload, path,
                                                           bool(flag(args, "ignoreerrors", False)))), registered)
        if applied.status == "failed":
            return applied
    return Outcome("changed", registered, diff=diff)
