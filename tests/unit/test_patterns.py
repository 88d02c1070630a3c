"""Host patterns: terms, globs, groups, roles, exclusions and intersections."""

from pathlib import Path

import pytest

from kob.errors import PatternError
from kob.spec.inventory import Host, Inventory
from kob.spec.patterns import select_hosts, split_pattern


def host(name: str, *roles: str) -> Host:
    return Host(name, f"{name}.lab", roles=roles)


INVENTORY = Inventory(
    path=Path("inventory.yaml"),
    hosts=(host("vm1", "lb"), host("vm2", "web"), host("vm3", "web"), host("db1"), host("web-x")),
    groups={
        "east": ("vm1", "vm3"),
        "data": ("db1",),
        "lb": ("vm1",),
        "web": ("vm2", "vm3"),
    },
)

SELECTIONS = [
    ("all", "vm1 vm2 vm3 db1 web-x"),
    ("*", "vm1 vm2 vm3 db1 web-x"),
    ("vm2", "vm2"),
    ("web", "vm2 vm3"),
    ("lb", "vm1"),
    ("vm[12]", "vm1 vm2"),
    ("vm?", "vm1 vm2 vm3"),
    ("web*", "web-x"),
    ("vm[1:3]", "vm1 vm3"),
    ("db1,vm1", "vm1 db1"),
    ("db1:vm1", "vm1 db1"),
    ("web:lb", "vm1 vm2 vm3"),
    (" web , db1 ", "vm2 vm3 db1"),
    ("all:!web", "vm1 db1 web-x"),
    ("!web", "vm1 db1 web-x"),
    ("web:!vm3", "vm2"),
    ("!vm3:web", "vm2"),
    ("web:&east", "vm3"),
    ("&east", "vm1 vm3"),
    ("all:&east:!lb", "vm3"),
    ("vm*:!vm[23]", "vm1"),
    ("east:data", "vm1 vm3 db1"),
    ("all:!nothing*", "vm1 vm2 vm3 db1 web-x"),
]


@pytest.mark.parametrize("pattern, names", SELECTIONS)
def test_select_hosts(pattern, names):
    assert [h.name for h in select_hosts(INVENTORY, pattern)] == names.split()


REFUSED = [
    ("", "empty host pattern; use 'all' for every host"),
    ("   ", "empty host pattern; use 'all' for every host"),
    ("x", "no host or group named 'x' in inventory.yaml"),
    ("vm9", "no host or group named 'vm9' in inventory.yaml; did you mean 'vm1'?"),
    ("webb", "no host or group named 'webb' in inventory.yaml; did you mean 'web'?"),
    ("web:!vm9", "no host or group named 'vm9' in inventory.yaml; did you mean 'vm1'?"),
    ("nothing*", "host pattern 'nothing*' matches no host in inventory.yaml"),
    ("web:!web", "host pattern 'web:!web' matches no host in inventory.yaml"),
    ("lb:&data", "host pattern 'lb:&data' matches no host in inventory.yaml"),
    ("web,,db1", "empty term in host pattern 'web,,db1'; separate terms with one ',' or ':'"),
    ("web,", "empty term in host pattern 'web,'; separate terms with one ',' or ':'"),
    ("web:!", "'!' in host pattern 'web:!' needs a host, group or glob after it"),
    ("&", "'&' in host pattern '&' needs a host, group or glob after it"),
]


@pytest.mark.parametrize("pattern, message", REFUSED)
def test_refused_patterns(pattern, message):
    with pytest.raises(PatternError) as caught:
        select_hosts(INVENTORY, pattern)
    assert str(caught.value) == message


@pytest.mark.parametrize(
    "pattern, terms",
    [
        ("a", ["a"]),
        ("a,b:c", ["a", "b", "c"]),
        ("vm[1:3]:!x", ["vm[1:3]", "!x"]),
        (" a , &b ", ["a", "&b"]),
    ],
)
def test_split_pattern(pattern, terms):
    assert split_pattern(pattern) == terms
