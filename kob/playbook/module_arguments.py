"""The arguments, aliases, states and typed arguments of the modules kob.playbook.modules adds to the loader's
tables (pure; kob.playbook.loader and kob.playbook.values merge them in with one call each).

Names are Ansible's, aliases too: a playbook written for ansible-playbook loads unchanged; an argument not
listed is refused at load with the module's list, so nothing is silently ignored.
"""

from __future__ import annotations

from typing import Any

_ATTRS = ("mode", "owner", "group")
_PATH = ("path", "dest", "destfile", "name")

ARGUMENTS: dict[str, tuple[str, ...]] = {
    "file": ("dest", "name", "src", "force", "follow"),
    "copy": ("validate", "backup", "force"),
    "template": ("validate", "backup", "force"),
    "lineinfile": ("dest", "destfile", "name", "backup", "validate", "regex", "value", "insertafter", "insertbefore",
                   "firstmatch", "search_string", "backrefs"),
    "apt": ("cache_valid_time", "package", "pkg"),
    "package": ("name", "state", "use"),
    "cron": ("name", "minute", "hour", "day", "dom", "month", "weekday", "dow", "job", "value", "user", "state",
             "special_time", "disabled", "cron_file", "backup", "env", "insertafter", "insertbefore"),
    "user": ("name", "user", "uid", "group", "groups", "append", "shell", "home", "create_home", "createhome",
             "move_home", "system", "state", "password", "update_password", "comment", "remove", "force"),
    "group": ("name", "gid", "system", "state"),
    "stat": ("path", "dest", "name", "follow", "get_checksum", "checksum_algorithm", "checksum", "checksum_algo"),
    "slurp": ("src", "path"),
    "fetch": ("src", "dest", "flat", "fail_on_missing"),
    "replace": (*_PATH, "regexp", "replace", "after", "before", "backup", "validate", *_ATTRS),
    "blockinfile": (*_PATH, "block", "content", "marker", "marker_begin", "marker_end", "insertafter", "insertbefore",
                    "create", "backup", "validate", "state", *_ATTRS),
    "get_url": ("url", "dest", "checksum", "force", "headers", "timeout", *_ATTRS),
    "unarchive": ("src", "dest", "remote_src", "creates"),
    "uri": ("url", "method", "body", "body_format", "status_code", "return_content", "headers", "timeout",
            "follow_redirects", "creates", "removes"),
    "pause": ("seconds", "minutes", "prompt"),
    "known_hosts": ("name", "host", "key", "path", "state", "hash_host"),
    "authorized_key": ("user", "key", "state", "exclusive", "path", "manage_dir"),
    "sysctl": ("name", "key", "value", "val", "state", "sysctl_file", "reload", "sysctl_set", "ignoreerrors"),
}
"""Module -> the argument names it takes (added to those the loader already lists for the module)."""

ALIASES: dict[str, dict[str, str]] = {
    "file": {"dest": "path", "name": "path"},
    "lineinfile": {"dest": "path", "destfile": "path", "name": "path", "regex": "regexp", "value": "line"},
    "replace": {"dest": "path", "destfile": "path", "name": "path"},
    "blockinfile": {"dest": "path", "destfile": "path", "name": "path", "content": "block"},
    "apt": {"package": "name", "pkg": "name"},
    "cron": {"value": "job", "dom": "day", "dow": "weekday"},
    "user": {"user": "name", "createhome": "create_home"},
    "stat": {"dest": "path", "name": "path", "checksum": "checksum_algorithm", "checksum_algo": "checksum_algorithm"},
    "slurp": {"path": "src"},
    "known_hosts": {"host": "name"},
    "sysctl": {"key": "name", "val": "value"},
}
"""Module -> alias -> the argument it stands for (Ansible's aliases)."""

_PRESENCE = ("present", "absent")
STATES: dict[str, tuple[str, ...]] = {
    "package": ("present", "absent", "latest"), "cron": _PRESENCE, "user": _PRESENCE, "group": _PRESENCE,
    "blockinfile": _PRESENCE, "known_hosts": _PRESENCE, "authorized_key": _PRESENCE, "sysctl": _PRESENCE,
}

_BOOLEANS = {
    "file": ("force", "follow"), "copy": ("backup", "force"), "template": ("backup", "force"),
    "lineinfile": ("backup", "firstmatch", "backrefs"), "cron": ("disabled", "backup", "env"),
    "user": ("append", "create_home", "createhome", "move_home", "system", "remove", "force"), "group": ("system",),
    "stat": ("follow", "get_checksum"), "fetch": ("flat", "fail_on_missing"), "replace": ("backup",),
    "blockinfile": ("create", "backup"), "get_url": ("force",), "unarchive": ("remote_src",),
    "uri": ("return_content", "follow_redirects"), "authorized_key": ("exclusive", "manage_dir"),
    "known_hosts": ("hash_host",),
    "sysctl": ("reload", "sysctl_set", "ignoreerrors"),
}
_NUMBERS = {"apt": ("cache_valid_time",), "get_url": ("timeout",), "uri": ("timeout",)}
ARG_TYPES: dict[tuple[str, str], type] = {
    **{(module, key): bool for module, keys in _BOOLEANS.items() for key in keys},
    **{(module, key): int for module, keys in _NUMBERS.items() for key in keys},
}


def extend_tables(modules: dict[str, tuple[str, ...]], states: dict[str, tuple[str, ...]]) -> None:
    """Add these modules' arguments and states to the loader's tables (in place)."""
    for module, names in ARGUMENTS.items():
        modules[module] = tuple(dict.fromkeys((*modules.get(module, ()), *names)))
    states.update(STATES)


def canonical_arguments(module: str, args: dict[str, Any]) -> dict[str, Any]:
    """``args`` with every alias replaced by the argument it stands for (the argument itself wins)."""
    aliases = ALIASES.get(module)
    if not aliases:
        return args
    found = {key: value for key, value in args.items() if key not in aliases}
    for alias, name in aliases.items():
        if alias in args and name not in found:
            found[name] = args[alias]
    return found
