"""Host patterns, as in Ansible: which hosts a command runs on.

A pattern is terms separated by ',' or ':' (colons inside [...] globs do not
separate). A term is ``all`` or ``*``, a group (roles are groups), a host, or
an fnmatch glob over host names (``vm[12]``, ``web*``). ``!term`` excludes,
``&term`` intersects. As in Ansible, order does not matter: the result is
(union of plain terms, or every host if there are none) ∩ every &term
− every !term, listed in inventory order.

A plain name that is neither host nor group is an error even after ! or &
(it is almost always a typo), and so is a pattern that selects nothing.
"""

from __future__ import annotations

from fnmatch import fnmatchcase

from kob.errors import PatternError
from kob.spec.inventory_model import Host, Inventory
from kob.spec.yaml_source import did_you_mean

_GLOB = set("*?[")


def select_hosts(inventory: Inventory, pattern: str) -> list[Host]:
    """The hosts ``pattern`` selects, in inventory order."""
    terms = split_pattern(pattern)
    included: set[str] | None = None
    intersect: list[set[str]] = []
    excluded: set[str] = set()
    for term in terms:
        if term[0] in "!&":
            if len(term) == 1:
                raise PatternError(f"{term!r} in host pattern {pattern!r} needs a host, group or glob after it")
            names = _match(inventory, term[1:])
            if term[0] == "!":
                excluded |= names
            else:
                intersect.append(names)
        else:
            included = (included or set()) | _match(inventory, term)
    selected = {h.name for h in inventory.hosts} if included is None else included
    for names in intersect:
        selected &= names
    selected -= excluded
    hosts = [host for host in inventory.hosts if host.name in selected]
    if not hosts:
        raise PatternError(f"host pattern {pattern!r} matches no host in {inventory.path}")
    return hosts


def split_pattern(pattern: str) -> list[str]:
    """The terms of a pattern, stripped; empty terms are an error."""
    if not pattern.strip():
        raise PatternError("empty host pattern; use 'all' for every host")
    terms, current, depth = [], "", 0
    for char in pattern:
        depth += (char == "[") - (char == "]" and depth > 0)
        if char in ",:" and depth == 0:
            terms.append(current.strip())
            current = ""
        else:
            current += char
    terms.append(current.strip())
    if "" in terms:
        raise PatternError(f"empty term in host pattern {pattern!r}; separate terms with one ',' or ':'")
    return terms


def _match(inventory: Inventory, term: str) -> set[str]:
    names = [host.name for host in inventory.hosts]
    if term in ("all", "*"):
        return set(names)
    if term in inventory.groups:
        return set(inventory.groups[term])
    if term in names:
        return {term}
    if _GLOB & set(term):
        return {name for name in names if fnmatchcase(name, term)}
    hint = did_you_mean(term, [*names, *inventory.groups])
    raise PatternError(f"no host or group named {term!r} in {inventory.path}{hint}")


def hosts_for_option(inventory: Inventory, pattern: str, option: str = "--hosts") -> list[Host]:
    """select_hosts for a pattern given on the command line: a mistake names the option."""
    try:
        return select_hosts(inventory, pattern)
    except PatternError as error:
        raise PatternError(f"{option} {pattern[:80]!r}: {error}") from None
