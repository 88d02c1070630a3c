"""user, group and authorized_key: accounts read in one command, changed with useradd/usermod/userdel and
groupadd/groupmod/groupdel (argv decided on the manager), a password hash passed on stdin to chpasswd -e."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kob.commands.task_system import (
    account_read_argv,
    account_write_argv,
    authorized_keys_read_argv,
    home_argv,
)
from kob.commands.tasks import file_argv
from kob.playbook.modules.context import (
    Outcome,
    flag,
    names,
    script_output,
    scripted,
    unified,
)
from kob.playbook.modules.files import copy
from kob.playbook.ssh_keys import authorized_keys_text, unparsable_keys


async def user(args, ctx, variables) -> Outcome:
    name = str(args["name"])
    present = str(args.get("state") or "present") == "present"
    password = str(args.get("password") or "")
    home = str(args.get("home") or "")
    read = await ctx.run(account_read_argv(name, "user", bool(password), home), input=password.encode() or None)
    found = scripted(read, {"name": name})
    if found.status == "failed":
        return found
    fields, _ = script_output(read.stdout)
    command, set_password = user_command(args, fields, present)
    # as in Ansible: an account whose home is missing gets one (create_home, the default), and that is a change
    make_home = present and fields.get("home_exists") == "no" and bool(flag(args, "create_home", True))
    registered = {"name": name, "state": "present" if present else "absent"}
    if not command and not set_password and not make_home:
        return Outcome("ok", {**registered, **_passwd(fields.get("passwd")), "changed": False})
    if ctx.check:
        return Outcome("changed", {**registered, "changed": True})
    written = await ctx.run(account_write_argv(name, "user", command or ["true"], set_password),
                            input=password.encode() if set_password else None)
    outcome = scripted(written, registered)
    outcome.result.update(_passwd(script_output(written.stdout)[0].get("passwd")))
    if make_home and outcome.status != "failed":
        made = scripted(await ctx.run(home_argv(name, home or outcome.result.get("home", ""))), registered)
        if made.status == "failed":
            return made
    return outcome


def user_command(args: Mapping[str, Any], fields: Mapping[str, str], present: bool) -> tuple[list[str], bool]:
    """The useradd/usermod/userdel argv that brings the account where ``args`` say (empty: nothing to do), and
    whether its password hash must be set. ``fields``: what the read script found."""
    name, exists = str(args["name"]), "passwd" in fields
    if not present:
        return (["userdel", *(["-r"] if flag(args, "remove") else []), *(["-f"] if flag(args, "force") else []),
                 name] if exists else []), False
    wanted_password = bool(args.get("password")) and (
        not exists or (fields.get("password") == "differs" and str(args.get("update_password") or "always")
                       == "always"))
    return (_useradd(args, fields) if not exists else _usermod(args, fields)), wanted_password


def _useradd(args, fields) -> list[str]:
    name = str(args["name"])
    words = ["useradd"]
    for key, option in (("uid", "-u"), ("shell", "-s"), ("home", "-d"), ("comment", "-c")):
        if args.get(key) not in (None, ""):
            words += [option, str(args[key])]
    if args.get("group"):
        words += ["-g", str(args["group"])]
    elif fields.get("own_group"):
        words += ["-g", name]  # a group of its name exists: join it rather than fail to create it
    if names(args.get("groups")):
        words += ["-G", ",".join(names(args["groups"]))]
    if flag(args, "system", False):
        words.append("-r")
    words.append("-m" if flag(args, "create_home", True) else "-M")
    return [*words, name]


def _usermod(args, fields) -> list[str]:
    name, now = str(args["name"]), _passwd(fields["passwd"])
    words: list[str] = []
    for key, option in (("uid", "-u"), ("shell", "-s"), ("home", "-d"), ("comment", "-c")):
        if args.get(key) not in (None, "") and str(args[key]) != str(now[key]):
            words += [option, str(args[key])]
    if "-d" in words and flag(args, "move_home", False):
        words.append("-m")
    group = args.get("group")
    if group not in (None, "") and str(group) not in (fields.get("primary"), str(now["group"])):
        words += ["-g", str(group)]
    if args.get("groups") is not None:
        wanted = names(args["groups"])
        have = set(fields.get("groups", "").split()) - {fields.get("primary")}
        if flag(args, "append", False):
            if set(wanted) - have:
                words += ["-a", "-G", ",".join(wanted)]
        elif set(wanted) != have:
            words += ["-G", ",".join(wanted)]
    return ["usermod", *words, name] if words else []


def _passwd(line: str | None) -> dict[str, Any]:
    if not line:
        return {}
    parts = line.split(":")
    return {"uid": int(parts[2]), "group": int(parts[3]), "comment": parts[4], "home": parts[5], "shell": parts[6]}


async def group(args, ctx, variables) -> Outcome:
    name = str(args["name"])
    present = str(args.get("state") or "present") == "present"
    read = await ctx.run(account_read_argv(name, "group"))
    found = scripted(read, {"name": name})
    if found.status == "failed":
        return found
    line = script_output(read.stdout)[0].get("group")
    gid = args.get("gid")
    registered = {"name": name, "state": "present" if present else "absent", "system": bool(flag(args, "system"))}
    if not present:
        command = ["groupdel", name] if line else []
    elif not line:
        command = ["groupadd", *(["-g", str(gid)] if gid not in (None, "") else []),
                   *(["-r"] if flag(args, "system") else []), name]
    else:
        command = ["groupmod", "-g", str(gid), name] if gid not in (None, "") and str(gid) != line.split(":")[2] else []
    if not command:
        return Outcome("ok", {**registered, **_gid(line), "changed": False})
    if ctx.check:
        return Outcome("changed", {**registered, "changed": True})
    written = await ctx.run(account_write_argv(name, "group", command, False))
    outcome = scripted(written, registered)
    outcome.result.update(_gid(script_output(written.stdout)[0].get("group")))
    return outcome


def _gid(line: str | None) -> dict[str, Any]:
    return {"gid": int(line.split(":")[2])} if line else {}


async def authorized_key(args, ctx, variables) -> Outcome:
    user_name, key = str(args["user"]), str(args["key"])
    bad = unparsable_keys(key)
    if bad:
        return Outcome("failed", {"msg": f"invalid key specified: {bad[0][:60]}"})
    present = str(args.get("state") or "present") == "present"
    read = await ctx.run(authorized_keys_read_argv(user_name, str(args.get("path") or "")))
    found = scripted(read, {"user": user_name})
    if found.status == "failed":
        return found
    fields, blocks = script_output(read.stdout, ("content",))
    path, old = fields["path"], blocks["content"].decode(errors="replace") if "content" in blocks else None
    new = authorized_keys_text(old or "", key, present, bool(flag(args, "exclusive", False)))
    registered = {"user": user_name, "key": key, "path": path, "state": "present" if present else "absent",
                  "exclusive": bool(flag(args, "exclusive", False))}
    if new == (old or "") and (old is not None or not present):
        return Outcome("ok", {**registered, "changed": False})
    diff = unified(path, old or "", new) if ctx.diff else ""
    if ctx.check:
        return Outcome("changed", {**registered, "changed": True}, diff=diff)
    if old is None and not args.get("path") and flag(args, "manage_dir", True):
        folder = path.rsplit("/", 1)[0]
        made = scripted(await ctx.run(file_argv(folder, "directory", "700", user_name, fields["group"], False)), {})
        if made.status == "failed":
            return Outcome("failed", {**registered, "msg": made.result.get("msg")})
    outcome = await copy({"dest": path, "mode": "0600", "owner": user_name, "group": fields["group"]}, ctx, None,
                         new.encode())
    outcome.result.update(registered)
    outcome.diff = diff
    return outcome
