"""apt, package (apt on Debian) and service/systemd."""

from __future__ import annotations

from kob.commands.tasks import apt_argv, service_argv
from kob.playbook.modules.context import Outcome, flag, names, scripted, whole_number


async def apt(args, ctx, variables) -> Outcome:
    packages = names(args.get("name"))
    valid = whole_number(args, "cache_valid_time", 0) or 0
    update = bool(flag(args, "update_cache", valid > 0))  # as in Ansible, cache_valid_time asks for an update
    result = await ctx.run(apt_argv(packages, str(args.get("state") or "present"), update, ctx.check, valid),
                           timeout=1800)
    return scripted(result, {"packages": packages})


async def package(args, ctx, variables) -> Outcome:
    """Ansible's generic package module: kob drives apt, so a host of another family fails in one line."""
    use = str(args.get("use") or "auto")
    family = _os_family(variables)
    if use not in ("auto", "apt") or (use == "auto" and family not in (None, "Debian")):
        manager = use if use != "auto" else f"the {family} family's package manager"
        return Outcome("failed", {"msg": f"package: kob drives apt only, not {manager}; use apt on Debian hosts"})
    return await apt({"name": args.get("name"), "state": args.get("state")}, ctx, variables)


def _os_family(variables) -> str | None:
    try:
        facts = variables["ansible_facts"]
        return str(facts.get("os_family")) if isinstance(facts, dict) and facts.get("os_family") else None
    except (KeyError, TypeError):
        return None


async def service(args, ctx, variables) -> Outcome:
    enabled = flag(args, "enabled")
    result = await ctx.run(service_argv(str(args["name"]), str(args.get("state", "")), enabled, ctx.check))
    return scripted(result, {"name": args["name"]})
