"""Declared host capacity (hosts' cpus: and memory:): the values read, and each mistake with its message."""

import pytest

from kob.spec.inventory import Host
from tests.helpers.inventory_loading import assert_loads, assert_refused

GIB = 1024**3
MIB = 1024**2


def host(settings: str) -> str:
    """An inventory whose one host vm1 (line 2) has these settings besides its address."""
    return "hosts:\n  vm1: {address: 198.18.0.11, " + settings + "}\n"


def capacity(inventory):
    return inventory.hosts[0].cpus, inventory.hosts[0].memory


# (id, inventory text, expected (cpus, memory))
VALID = [
    ("nothing declared", "hosts:\n  vm1: {address: 198.18.0.11}\n", (None, None)),
    ("whole cpus", host("cpus: 2"), (2.0, None)),
    ("half a cpu", host("cpus: 0.5"), (0.5, None)),
    ("cpus in exponent form", host("cpus: 1e1"), (10.0, None)),
    ("memory with G", host("memory: 2G"), (None, 2 * GIB)),
    ("memory with g", host("memory: 2g"), (None, 2 * GIB)),
    ("memory with M", host("memory: 512M"), (None, 512 * MIB)),
    ("memory with k", host("memory: 8192k"), (None, 8 * MIB)),
    ("memory in bytes", host("memory: 6291456"), (None, 6 * MIB)),
    ("memory with b", host("memory: 6291456b"), (None, 6 * MIB)),
    ("both", host("cpus: 4, memory: 16g"), (4.0, 16 * GIB)),
    (
        "block style beside the other keys",
        "hosts:\n  vm1:\n    address: 198.18.0.11\n    roles: [worker]\n    cpus: 1.5\n    memory: 3g\n",
        (1.5, 3 * GIB),
    ),
]

MALFORMED = [
    ("cpus a word", host("cpus: two"), "inventory.yaml:2: hosts/vm1/cpus: should be a positive number, got 'two'"),
    ("cpus zero", host("cpus: 0"), "inventory.yaml:2: hosts/vm1/cpus: should be more than 0, got 0"),
    ("cpus negative", host("cpus: -1"), "inventory.yaml:2: hosts/vm1/cpus: should be more than 0, got -1"),
    (
        "cpus quoted",
        host("cpus: '2'"),
        "inventory.yaml:2: hosts/vm1/cpus: should be a positive number, got the string '2'; remove the quotes",
    ),
    ("cpus infinite", host("cpus: .inf"), "inventory.yaml:2: hosts/vm1/cpus: should be a positive number, got '.inf'"),
    (
        "cpus on its own line",
        "hosts:\n  vm1:\n    address: 198.18.0.11\n    cpus: many\n",
        "inventory.yaml:4: hosts/vm1/cpus: should be a positive number, got 'many'",
    ),
    (
        "memory with a space and GB",
        host("memory: 2 GB"),
        "inventory.yaml:2: hosts/vm1/memory: should be a size such as 256m or 1g (suffix b, k, m or g; "
        "no suffix means bytes), got '2 GB'",
    ),
    (
        "memory a fraction",
        host("memory: 1.5g"),
        "inventory.yaml:2: hosts/vm1/memory: should be a size such as 256m or 1g (suffix b, k, m or g; "
        "no suffix means bytes), got '1.5g'",
    ),
    (
        "memory a list",
        host("memory: [2g]"),
        "inventory.yaml:2: hosts/vm1/memory: should be a size such as 256m or 1g, got a list",
    ),
    (
        "memory below docker's floor",
        host("memory: 1m"),
        "inventory.yaml:2: hosts/vm1/memory: 1m is 1048576 bytes, below docker's minimum of 6m",
    ),
    (
        "memory in bytes by mistake",
        "hosts:\n  vm1: {address: 198.18.0.11}\n  vm2:\n    address: 198.18.0.12\n    memory: 512\n",
        "inventory.yaml:5: hosts/vm2/memory: 512 is 512 bytes, below docker's minimum of 6m; did you mean 512m?",
    ),
    (
        "misspelt cpus",
        host("cpu: 2"),
        "inventory.yaml:2: hosts/vm1/cpu: unknown key; did you mean 'cpus'? "
        "(allowed: address, port, user, key, roles, labels, cpus, memory)",
    ),
    (
        "misspelt memory",
        host("mem: 2g"),
        "inventory.yaml:2: hosts/vm1/mem: unknown key; did you mean 'memory'? "
        "(allowed: address, port, user, key, roles, labels, cpus, memory)",
    ),
]


@pytest.fixture
def folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.mark.parametrize("text, expected", [case[1:] for case in VALID], ids=[case[0] for case in VALID])
def test_declared_capacity_is_read(folder, text, expected):
    assert_loads(folder, text, capacity, expected)


@pytest.mark.parametrize("text, message", [case[1:] for case in MALFORMED], ids=[case[0] for case in MALFORMED])
def test_bad_capacity_is_refused_with_location(folder, text, message):
    assert_refused(folder, text, message)


def test_case_ids_are_unique():
    ids = [case[0] for case in VALID + MALFORMED]
    assert len(ids) == len(set(ids))


def test_capacity_is_part_of_host_equality():
    assert Host("vm1", "198.18.0.11", cpus=2) != Host("vm1", "198.18.0.11", cpus=4)
    assert Host("vm1", "198.18.0.11", memory=GIB) != Host("vm1", "198.18.0.11")
    assert hash(Host("vm1", "198.18.0.11", cpus=2, memory=GIB)) == hash(Host("vm1", "198.18.0.11", cpus=2, memory=GIB))
