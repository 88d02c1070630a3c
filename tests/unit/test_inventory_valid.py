"""Valid inventories: defaults, path resolution, overrides, roles and groups."""

import textwrap
from pathlib import Path

import pytest

from kob.errors import PatternError
from kob.spec.inventory import Host, Inventory, SshSettings, load_inventory
from tests.helpers.inventory_loading import assert_loads

MINIMAL = "hosts:\n  vm1: {address: 198.18.0.11}\n"

FULL = """\
ssh:
  user: deploy
  key: lab/id_ed25519
  known_hosts: lab/known_hosts
  connect_timeout: 5s
  command_timeout: 2m
state: etcd://198.18.0.1:2379,198.18.0.2:2379
hosts:
  vm1:
    address: 198.18.0.11
    roles: [lb, web]
    labels: {zone: a, version: 1.10, ssd: no, rack: 7}
  vm2:
    address: 198.18.0.12
    port: 2222
    user: admin
    key: lab/vm2_key
    roles: [web]
  vm3: {address: vm3.lab.example}
  vm4: {address: 'fd00::14'}
groups:
  edge: [vm4, vm1]
  everything: [edge, web, vm3]
"""

# (id, inventory text, what to look at, expected; strings may use {dir} for the inventory's folder)
VALID = [
    ("default user", MINIMAL, lambda inv: inv.hosts[0].user, "root"),
    ("default port", MINIMAL, lambda inv: inv.hosts[0].port, 22),
    ("default key", MINIMAL, lambda inv: inv.hosts[0].key, None),
    ("default roles and labels", MINIMAL, lambda inv: (inv.hosts[0].roles, dict(inv.hosts[0].labels)), ((), {})),
    ("default groups", MINIMAL, lambda inv: dict(inv.groups), {}),
    (
        "default ssh settings",
        MINIMAL,
        lambda inv: inv.ssh,
        SshSettings("root", None, Path("~/.ssh/known_hosts").expanduser(), 10.0, 300.0),
    ),
    ("default state beside the file", MINIMAL, lambda inv: inv.state_url, "sqlite://{dir}/inventory.kob.db"),
    ("host line", MINIMAL, lambda inv: inv.hosts[0].line, 2),
    ("hosts in file order", FULL, lambda inv: [h.name for h in inv.hosts], ["vm1", "vm2", "vm3", "vm4"]),
    ("ssh user for every host", FULL, lambda inv: inv.hosts[0].user, "deploy"),
    ("host user overrides ssh user", FULL, lambda inv: inv.hosts[1].user, "admin"),
    ("relative key from the file's folder", FULL, lambda inv: inv.ssh.key, "{dir}/lab/id_ed25519"),
    ("host inherits ssh key", FULL, lambda inv: inv.hosts[0].key, "{dir}/lab/id_ed25519"),
    ("host key overrides ssh key", FULL, lambda inv: inv.hosts[1].key, "{dir}/lab/vm2_key"),
    ("known_hosts from the file's folder", FULL, lambda inv: inv.ssh.known_hosts, "{dir}/lab/known_hosts"),
    ("durations in seconds", FULL, lambda inv: (inv.ssh.connect_timeout, inv.ssh.command_timeout), (5.0, 120.0)),
    ("port override", FULL, lambda inv: inv.hosts[1].port, 2222),
    ("DNS address", FULL, lambda inv: inv.hosts[2].address, "vm3.lab.example"),
    ("IPv6 address", FULL, lambda inv: inv.hosts[3].address, "fd00::14"),
    (
        "labels as written",
        FULL,
        lambda inv: dict(inv.hosts[0].labels),
        {"zone": "a", "version": "1.10", "ssd": "no", "rack": "7"},
    ),
    ("roles", FULL, lambda inv: inv.hosts[0].roles, ("lb", "web")),
    ("etcd state kept", FULL, lambda inv: inv.state_url, "etcd://198.18.0.1:2379,198.18.0.2:2379"),
    ("explicit groups in inventory order", FULL, lambda inv: inv.groups["edge"], ("vm1", "vm4")),
    ("roles are groups", FULL, lambda inv: (inv.groups["lb"], inv.groups["web"]), (("vm1",), ("vm1", "vm2"))),
    (
        "groups of groups and roles",
        FULL,
        lambda inv: inv.groups["everything"],
        ("vm1", "vm2", "vm3", "vm4"),
    ),
    ("group order: explicit, then roles", FULL, lambda inv: list(inv.groups), ["edge", "everything", "lb", "web"]),
    ("host by name", FULL, lambda inv: inv.host("vm2").address, "198.18.0.12"),
    ("hosts with a role", FULL, lambda inv: [h.name for h in inv.with_role("web")], ["vm1", "vm2"]),
    ("path as given", FULL, lambda inv: inv.path, Path("inventory.yaml")),
    ("http state", "state: http://198.18.0.1:2379/\n" + MINIMAL, lambda inv: inv.state_url, "http://198.18.0.1:2379/"),
    ("etcd IPv6 state", "state: 'etcd://[fd00::1]:2379'\n" + MINIMAL, lambda inv: inv.state_url, "etcd://[fd00::1]:2379"),
    ("absolute sqlite state", "state: sqlite:///var/lib/kob.db\n" + MINIMAL, lambda inv: inv.state_url,
     "sqlite:///var/lib/kob.db"),
    ("relative path state", "state: lab/state.db\n" + MINIMAL, lambda inv: inv.state_url, "sqlite://{dir}/lab/state.db"),
    ("absolute path state", "state: /srv/kob.db\n" + MINIMAL, lambda inv: inv.state_url, "sqlite:///srv/kob.db"),
    (
        "durations as numbers",
        "ssh: {connect_timeout: 2.5, command_timeout: 60}\n" + MINIMAL,
        lambda inv: (inv.ssh.connect_timeout, inv.ssh.command_timeout),
        (2.5, 60.0),
    ),
    ("empty ssh section", "ssh:\n" + MINIMAL, lambda inv: inv.ssh.user, "root"),
    ("empty groups section", "groups:\n" + MINIMAL, lambda inv: dict(inv.groups), {}),
    ("empty group", MINIMAL + "groups:\n  later: []\n", lambda inv: inv.groups["later"], ()),
    (
        "merge keys share settings",
        textwrap.dedent(
            """\
            hosts:
              vm1: &base {address: 198.18.0.11, user: deploy, port: 2200}
              vm2:
                <<: *base
                address: 198.18.0.12
            """
        ),
        lambda inv: (inv.hosts[1].address, inv.hosts[1].user, inv.hosts[1].port),
        ("198.18.0.12", "deploy", 2200),
    ),
    (
        "keys read as written, not as YAML 1.1 booleans",
        "hosts:\n  on: {address: 198.18.0.11}\n  'no': {address: 198.18.0.12}\n",
        lambda inv: [h.name for h in inv.hosts],
        ["on", "no"],
    ),
    (
        "metrics retention and heal down_after",
        "hosts:\n  vm1: {address: 198.18.0.11}\nmetrics: {retention: 6h}\nheal: {down_after: 90s}\n",
        lambda inv: (inv.control.retention, inv.control.down_after),
        (21600.0, 90.0),
    ),
    (
        "control defaults",
        "hosts:\n  vm1: {address: 198.18.0.11}\n",
        lambda inv: (inv.control.retention, inv.control.down_after),
        (3600.0, 60.0),
    ),
    (
        "same address, other port",
        "hosts:\n  a: {address: 198.18.0.11}\n  b: {address: 198.18.0.11, port: 2222}\n",
        lambda inv: [h.port for h in inv.hosts],
        [22, 2222],
    ),
]


@pytest.fixture
def folder(tmp_path, monkeypatch):
    """The cwd, holding lab/ with a key, a second key and known_hosts."""
    (tmp_path / "lab").mkdir()
    for name in ("id_ed25519", "vm2_key", "known_hosts"):
        (tmp_path / "lab" / name).write_text("")
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.mark.parametrize("text, look, expected", [case[1:] for case in VALID], ids=[case[0] for case in VALID])
def test_valid_inventory(folder, text, look, expected):
    assert_loads(folder, text, look, expected)


def test_inventory_in_another_folder_resolves_from_that_folder(folder):
    (folder / "site" / "keys").mkdir(parents=True)
    (folder / "site" / "keys" / "id").write_text("")
    (folder / "site" / "prod.yaml").write_text("ssh: {key: keys/id}\n" + MINIMAL)
    inventory = load_inventory("site/prod.yaml")
    assert inventory.ssh.key == folder / "site" / "keys" / "id"
    assert inventory.state_url == f"sqlite://{folder}/site/prod.kob.db"


def test_home_relative_key(folder, monkeypatch):
    monkeypatch.setenv("HOME", str(folder))
    (folder / "inventory.yaml").write_text("ssh: {key: ~/lab/id_ed25519}\n" + MINIMAL)
    assert load_inventory("inventory.yaml").ssh.key == folder / "lab" / "id_ed25519"


def test_model_is_frozen_and_hashable(folder):
    (folder / "inventory.yaml").write_text(FULL)
    inventory = load_inventory("inventory.yaml")
    host = inventory.hosts[0]
    with pytest.raises(AttributeError):
        host.port = 2  # type: ignore[misc]
    with pytest.raises(TypeError):
        host.labels["zone"] = "b"  # type: ignore[index]
    with pytest.raises(TypeError):
        inventory.groups["web"] = ()  # type: ignore[index]
    assert len({host, *inventory.hosts}) == 4
    assert hash(inventory) == hash(load_inventory("inventory.yaml"))


def test_equal_hosts_ignore_the_line():
    assert Host("vm1", "198.18.0.11", line=2) == Host("vm1", "198.18.0.11", line=9)


def test_unknown_host_lookup(folder):
    (folder / "inventory.yaml").write_text(FULL)
    with pytest.raises(PatternError, match=r"^no host named 'vm5' in inventory\.yaml; did you mean 'vm1'\?$"):
        load_inventory("inventory.yaml").host("vm5")


def test_inventory_is_a_plain_dataclass():
    inventory = Inventory(Path("x.yaml"), (Host("vm1", "198.18.0.11"),))
    assert inventory.host("vm1").port == 22
    assert dict(inventory.groups) == {}
