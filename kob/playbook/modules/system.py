"""cron and sysctl: a crontab or cron file, and kernel settings in a sysctl file and in the running kernel."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import PurePosixPath

from kob.commands.task_system import (
    crontab_read_argv,
    crontab_write_argv,
    sysctl_apply_argv,
    sysctl_read_argv,
)
from kob.commands.tasks import file_argv
from kob.playbook.crontab import (
    SPECIAL_TIMES,
    cron_line,
    cron_text,
    env_line,
    env_text,
    has_jobs,
)
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
    """A job (under its #Ansible: NAME comment) or, with env: true, a NAME="value" line, in a user's crontab
    or in a cron_file, as Ansible's cron writes them."""
    name, present = str(args["name"]), str(args.get("state") or "present") == "present"
    problem = _cron_problem(args, present)
    if problem:
        return Outcome("failed", {"msg": problem})
    cron_file = _cron_file(args.get("cron_file"))
    user = str(args.get("user") or ("root" if cron_file else ""))
    edit = _cron_edit(args, name, present, user if cron_file else None)
    registered = {"name": name, "job": args.get("job"), "state": "present" if present else "absent"}
    try:
        if cron_file:
            job_gone = not present and not flag(args, "env", False)
            return await _cron_in_file(args, ctx, cron_file, edit, registered, job_gone)
        return await _cron_in_crontab(ctx, user or "root", edit, registered)
    except ValueError as error:  # env_text: the variable to put it beside is not there
        return Outcome("failed", {**registered, "msg": str(error)})


def _cron_problem(args, present: bool) -> str | None:
    """Why these arguments cannot be carried out (Ansible's words), or None."""
    special = args.get("special_time")
    env = flag(args, "env", False)
    if special is not None and str(special) not in SPECIAL_TIMES:
        return f"special_time should be one of {', '.join(SPECIAL_TIMES)}, got {special!r}"
    if present and args.get("job") is None:
        return "You must specify 'job' to install a new cron job or variable"
    if present and (args.get("insertafter") or args.get("insertbefore")) and not env:
        return "Insertafter and insertbefore parameters are valid only with env=yes"
    if args.get("insertafter") and args.get("insertbefore"):
        return "parameters are mutually exclusive: insertafter|insertbefore"
    if env and " " in str(args["name"]):
        return "Invalid name for environment variable"
    return None


def _cron_edit(args, name: str, present: bool, file_user: str | None) -> Callable[[str], str]:
    """The crontab's edit: the job's two lines, or the variable's line (None: taken out)."""
    if flag(args, "env", False):
        declared = env_line(name, str(args["job"])) if present else None
        after, before = (str(args[key]) if args.get(key) else None for key in ("insertafter", "insertbefore"))
        return lambda old: env_text(old, name, declared, after, before)
    line = cron_line(str(args["job"]).strip("\r\n"), *(str(args.get(f) or "*") for f in CRON_FIELDS),
                     special_time=args.get("special_time"), user=file_user,
                     disabled=bool(flag(args, "disabled", False))) if present else None
    return lambda old: cron_text(old, name, line)


async def _cron_in_crontab(ctx, user: str, edit: Callable[[str], str], registered: dict) -> Outcome:
    read = await ctx.run(crontab_read_argv(user))
    outcome = scripted(read, registered)
    if outcome.status == "failed":
        return outcome
    old = decoded("".join(read.stdout.splitlines()[:-1])).decode(errors="replace")
    new = edit(old)
    if new == old:
        return Outcome("ok", {**registered, "changed": False})
    diff = unified(f"crontab of {user}", old, new) if ctx.diff else ""
    if ctx.check:
        return Outcome("changed", {**registered, "changed": True}, diff=diff)
    written = scripted(await ctx.run(crontab_write_argv(user), input=new.encode()), registered)
    written.diff = diff
    return written


async def _cron_in_file(args, ctx, path: str, edit: Callable[[str], str], registered: dict,
                        job_gone: bool) -> Outcome:
    """``job_gone``: a job was taken out, so a file left without jobs goes (as in Ansible; not for a variable)."""
    old = await read_text(ctx, path)
    new = edit(old or "")
    if new == (old or ""):
        return Outcome("ok", {**registered, "cron_file": path, "changed": False})
    diff = unified(path, old or "", new) if ctx.diff else ""
    if job_gone and not has_jobs(new):
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
