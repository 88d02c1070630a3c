"""Malformed inventories: each one must fail with this exact message."""

import os
import textwrap

import pytest

from kob.errors import SpecError
from kob.spec.inventory import load_inventory

HOST = "hosts:\n  vm1: {address: 198.18.0.11}\n"

MALFORMED = [
    # -- the file itself -------------------------------------------------------
    ("empty file", "", "inventory.yaml: empty file; expected a mapping with hosts:"),
    ("only comments", "# nothing yet\n", "inventory.yaml: empty file; expected a mapping with hosts:"),
    ("a list at the top", "- vm1\n", "inventory.yaml:1: should be a mapping with hosts:, got a list"),
    (
        "invalid YAML: missing colon",
        """\
        hosts:
          vm1:
            address 198.18.0.11
            port: 22
        """,
        "inventory.yaml:3: invalid YAML: is a ':' missing after the key on this line?",
    ),
    (
        "invalid YAML: missing colon before a nested key",
        """\
        hosts:
          vm1
            address: 198.18.0.11
        """,
        "inventory.yaml:2: invalid YAML: is a ':' missing after the key on this line?",
    ),
    (
        "invalid YAML: a value containing ': '",
        """\
        hosts:
          vm1: {address: 198.18.0.11}
        ssh: {user: a: b}
        """,
        "inventory.yaml:3: invalid YAML: expected ',' or '}', but got ':'; is a closing '}' missing?",
    ),
    (
        "invalid YAML: tab",
        "hosts:\n\tvm1: {address: 198.18.0.11}\n",
        "inventory.yaml:2: invalid YAML: found character '\\t' that cannot start any token; "
        "indent with spaces, not tabs",
    ),
    (
        "invalid YAML: unclosed flow mapping",
        """\
        hosts:
          vm1: {address: 198.18.0.11
          vm2: {address: 198.18.0.12}
        """,
        "inventory.yaml:3: invalid YAML: expected ',' or '}', but got ':'; is a closing '}' missing?",
    ),
    (
        "invalid YAML: two documents",
        HOST + "---\nhosts: {}\n",
        "inventory.yaml:3: invalid YAML: a second document starts here; a kob file holds one document, "
        "so remove the extra '---'",
    ),
    (
        "custom tag",
        "hosts:\n  vm1: !vault {address: 198.18.0.11}\n",
        "inventory.yaml:2: hosts/vm1: unsupported YAML tag '!vault'; kob reads plain YAML only",
    ),
    # -- top level -------------------------------------------------------------
    ("missing hosts", "ssh: {user: root}\n", "inventory.yaml:1: missing required key 'hosts'"),
    (
        "unknown top-level key with suggestion",
        "host:\n  vm1: {address: 198.18.0.11}\n",
        "inventory.yaml:1: host: unknown key; did you mean 'hosts'? "
        "(allowed: ssh, state, hosts, groups, services, lb, jobs, metrics, heal)",
    ),
    (
        "unknown top-level key without suggestion",
        HOST + "volumes: {}\n",
        "inventory.yaml:3: volumes: unknown key "
        "(allowed: ssh, state, hosts, groups, services, lb, jobs, metrics, heal)",
    ),
    (
        "no hosts",
        "hosts: {}\n",
        "inventory.yaml:1: hosts: no hosts; add at least one, e.g. vm1: {address: 198.18.0.11}",
    ),
    (
        "hosts as a list",
        "hosts: [vm1, vm2]\n",
        "inventory.yaml:1: hosts: should be a mapping of host names to their settings, got a list",
    ),
    # -- hosts -----------------------------------------------------------------
    (
        "duplicate host",
        """\
        hosts:
          vm1: {address: 198.18.0.11}
          vm2: {address: 198.18.0.12}
          vm1: {address: 198.18.0.13}
        """,
        "inventory.yaml:4: hosts/vm1: defined twice (first at line 2); remove or rename one",
    ),
    (
        "duplicate key inside a host",
        """\
        hosts:
          vm1:
            address: 198.18.0.11
            port: 22
            port: 2222
        """,
        "inventory.yaml:5: hosts/vm1/port: defined twice (first at line 4); remove or rename one",
    ),
    (
        "unknown host key with suggestion",
        """\
        hosts:
          vm1:
            adress: 198.18.0.11
        """,
        "inventory.yaml:3: hosts/vm1/adress: unknown key; did you mean 'address'? "
        "(allowed: address, port, user, key, roles, labels, cpus, memory)",
    ),
    ("missing address", "hosts:\n  vm1: {port: 22}\n", "inventory.yaml:2: hosts/vm1: missing required key 'address'"),
    (
        "host without settings",
        "hosts:\n  vm1:\n",
        "inventory.yaml:2: hosts/vm1: missing required key 'address'",
    ),
    (
        "host settings as a string",
        "hosts:\n  vm1: 198.18.0.11\n",
        "inventory.yaml:2: hosts/vm1: should be a mapping, got '198.18.0.11'",
    ),
    (
        "bad host name",
        "hosts:\n  vm 1: {address: 198.18.0.11}\n",
        "inventory.yaml:2: hosts/vm 1: 'vm 1' is not a valid host name; use letters, digits, '_', '.' and '-', "
        "starting with a letter or digit",
    ),
    (
        "reserved host name",
        "hosts:\n  all: {address: 198.18.0.11}\n",
        "inventory.yaml:2: hosts/all: 'all' is reserved (it means every host); pick another host name",
    ),
    (
        "IPv4 out of range",
        "hosts:\n  vm1: {address: 198.18.0.300}\n",
        "inventory.yaml:2: hosts/vm1/address: '198.18.0.300' is not a valid IPv4 address",
    ),
    (
        "address with a space",
        "hosts:\n  vm1: {address: 'vm one'}\n",
        "inventory.yaml:2: hosts/vm1/address: 'vm one' is not a valid IP address or DNS name",
    ),
    (
        "address with a port",
        "hosts:\n  vm1: {address: '198.18.0.11:2222'}\n",
        "inventory.yaml:2: hosts/vm1/address: '198.18.0.11:2222' contains a port; "
        "write the address alone and put 2222 in port:",
    ),
    (
        "address with a user",
        "hosts:\n  vm1: {address: root@vm1.lab}\n",
        "inventory.yaml:2: hosts/vm1/address: 'root@vm1.lab' contains '@'; put the user in user:, not in the address",
    ),
    (
        "bracketed IPv6",
        "hosts:\n  vm1: {address: '[fd00::11]'}\n",
        "inventory.yaml:2: hosts/vm1/address: write IPv6 addresses without brackets: fd00::11",
    ),
    (
        "bad IPv6",
        "hosts:\n  vm1: {address: 'fd00::1::2'}\n",
        "inventory.yaml:2: hosts/vm1/address: 'fd00::1::2' is not a valid IPv6 address",
    ),
    (
        "address as a number",
        "hosts:\n  vm1: {address: 42}\n",
        "inventory.yaml:2: hosts/vm1/address: '42' is not a valid IPv4 address",
    ),
    (
        "port not a number",
        """\
        hosts:
          vm1:
            address: 198.18.0.11
            port: abc
        """,
        "inventory.yaml:4: hosts/vm1/port: should be an integer, got 'abc'",
    ),
    (
        "port quoted",
        "hosts:\n  vm1: {address: 198.18.0.11, port: '22'}\n",
        "inventory.yaml:2: hosts/vm1/port: should be an integer, got the string '22'; remove the quotes",
    ),
    (
        "port too big",
        "hosts:\n  vm1: {address: 198.18.0.11, port: 70000}\n",
        "inventory.yaml:2: hosts/vm1/port: should be between 1 and 65535, got 70000",
    ),
    (
        "port zero",
        "hosts:\n  vm1: {address: 198.18.0.11, port: 0}\n",
        "inventory.yaml:2: hosts/vm1/port: should be between 1 and 65535, got 0",
    ),
    (
        "port as a float",
        "hosts:\n  vm1: {address: 198.18.0.11, port: 22.5}\n",
        "inventory.yaml:2: hosts/vm1/port: should be an integer, got '22.5'",
    ),
    (
        "port in sexagesimal",
        "hosts:\n  vm1: {address: 198.18.0.11, port: 1:20}\n",
        "inventory.yaml:2: hosts/vm1/port: should be an integer, got '1:20'",
    ),
    (
        "same address and port twice",
        """\
        hosts:
          vm1: {address: 198.18.0.11}
          vm2: {address: 198.18.0.11, port: 22}
        """,
        "inventory.yaml:3: hosts/vm2/address: host vm1 (line 2) already uses 198.18.0.11 port 22; "
        "give each host its own address or port",
    ),
    (
        "same IPv6 address written differently",
        """\
        hosts:
          vm1: {address: 'fd00:0::11'}
          vm2: {address: 'fd00::11'}
        """,
        "inventory.yaml:3: hosts/vm2/address: host vm1 (line 2) already uses fd00::11 port 22; "
        "give each host its own address or port",
    ),
    (
        "same DNS name in another case",
        """\
        hosts:
          vm1: {address: vm.lab}
          vm2: {address: VM.lab.}
        """,
        "inventory.yaml:3: hosts/vm2/address: host vm1 (line 2) already uses VM.lab. port 22; "
        "give each host its own address or port",
    ),
    (
        "user with a space",
        "hosts:\n  vm1: {address: 198.18.0.11, user: 'ad min'}\n",
        "inventory.yaml:2: hosts/vm1/user: 'ad min' is not a valid user name",
    ),
    (
        "empty user",
        "hosts:\n  vm1: {address: 198.18.0.11, user: ''}\n",
        "inventory.yaml:2: hosts/vm1/user: should not be empty",
    ),
    (
        "labels with a list value",
        """\
        hosts:
          vm1:
            address: 198.18.0.11
            labels:
              zone: [a, b]
        """,
        "inventory.yaml:5: hosts/vm1/labels/zone: should be a string, got a list",
    ),
    (
        "labels as a list",
        "hosts:\n  vm1: {address: 198.18.0.11, labels: [zone=a]}\n",
        "inventory.yaml:2: hosts/vm1/labels: should be a mapping of strings, got a list",
    ),
    (
        "labels value empty",
        "hosts:\n  vm1:\n    address: 198.18.0.11\n    labels:\n      zone:\n",
        "inventory.yaml:5: hosts/vm1/labels/zone: should be a string, got nothing",
    ),
    (
        "roles as a string",
        "hosts:\n  vm1: {address: 198.18.0.11, roles: lb}\n",
        "inventory.yaml:2: hosts/vm1/roles: should be a list of role names, got 'lb'; write [lb] for a single item",
    ),
    (
        "bad role name",
        """\
        hosts:
          vm1:
            address: 198.18.0.11
            roles:
              - lb
              - -web
        """,
        "inventory.yaml:6: hosts/vm1/roles[1]: '-web' is not a valid role name; use letters, digits, '_', '.' "
        "and '-', starting with a letter or digit",
    ),
    (
        "role listed twice",
        "hosts:\n  vm1: {address: 198.18.0.11, roles: [lb, lb]}\n",
        "inventory.yaml:2: hosts/vm1/roles[1]: role 'lb' is listed twice",
    ),
    (
        "role named like a host",
        """\
        hosts:
          vm1: {address: 198.18.0.11, roles: [vm2]}
          vm2: {address: 198.18.0.12}
        """,
        "inventory.yaml:2: hosts/vm1/roles[0]: 'vm2' is also a host name; a role is a group too, "
        "so pick another role name",
    ),
    (
        "role named all",
        "hosts:\n  vm1: {address: 198.18.0.11, roles: [all]}\n",
        "inventory.yaml:2: hosts/vm1/roles[0]: 'all' is reserved (it means every host); pick another role name",
    ),
    # -- ssh -------------------------------------------------------------------
    (
        "unknown ssh key",
        "ssh:\n  usr: admin\n" + HOST,
        "inventory.yaml:2: ssh/usr: unknown key; did you mean 'user'? "
        "(allowed: user, key, known_hosts, connect_timeout, command_timeout)",
    ),
    (
        "missing key file",
        "ssh:\n  key: lab/id_rsa\n" + HOST,
        "inventory.yaml:2: ssh/key: key file lab/id_rsa not found (relative paths start at the folder of this file)",
    ),
    (
        "key file is a folder",
        "ssh:\n  key: lab\n" + HOST,
        "inventory.yaml:2: ssh/key: key file lab is a directory; give the path of a file",
    ),
    (
        "missing absolute key file",
        "ssh:\n  key: /nonexistent/id_ed25519\n" + HOST,
        "inventory.yaml:2: ssh/key: key file /nonexistent/id_ed25519 not found",
    ),
    (
        "missing per-host key file",
        "hosts:\n  vm1: {address: 198.18.0.11, key: lab/vm1_key}\n",
        "inventory.yaml:2: hosts/vm1/key: key file lab/vm1_key not found "
        "(relative paths start at the folder of this file)",
    ),
    (
        "missing known_hosts",
        "ssh:\n  user: root\n  known_hosts: lab/known\n" + HOST,
        "inventory.yaml:3: ssh/known_hosts: known_hosts file lab/known not found "
        "(relative paths start at the folder of this file)",
    ),
    (
        "zero connect timeout",
        "ssh:\n  connect_timeout: 0\n" + HOST,
        "inventory.yaml:2: ssh/connect_timeout: should be more than 0, got 0",
    ),
    (
        "command timeout not a duration",
        "ssh:\n  command_timeout: forever\n" + HOST,
        "inventory.yaml:2: ssh/command_timeout: should be a duration such as 30, 30s, 5m or 1h, got 'forever'",
    ),
    (
        "ssh as a list",
        "ssh: [root]\n" + HOST,
        "inventory.yaml:1: ssh: should be a mapping, got a list",
    ),
    # -- state -----------------------------------------------------------------
    (
        "unknown state scheme",
        "state: redis://198.18.0.1:6379\n" + HOST,
        "inventory.yaml:1: state: unsupported state URL 'redis://198.18.0.1:6379'; use etcd://host:port[,host:port], "
        "http://host:port, sqlite:///absolute/path or a file path",
    ),
    (
        "etcd with a bad port",
        "state: etcd://198.18.0.1:99999\n" + HOST,
        "inventory.yaml:1: state: state URL endpoint '198.18.0.1:99999' has a bad port; use a number from 1 to 65535",
    ),
    (
        "etcd with a trailing comma",
        "state: etcd://198.18.0.1:2379,\n" + HOST,
        "inventory.yaml:1: state: empty endpoint in state URL; use etcd://host:port[,host:port], "
        "http://host:port, sqlite:///absolute/path or a file path",
    ),
    (
        "relative sqlite URL",
        "state: sqlite://state.db\n" + HOST,
        "inventory.yaml:1: state: 'sqlite://state.db': sqlite URLs need an absolute path, like "
        "sqlite:///var/lib/kob/state.db; or write a plain path relative to the inventory's folder",
    ),
    ("state empty", "state:\n" + HOST, "inventory.yaml:1: state: should be a string, got nothing"),
    # -- groups ----------------------------------------------------------------
    (
        "group names an unknown host",
        HOST + "groups:\n  web:\n    - vm1\n    - vm9\n",
        "inventory.yaml:6: groups/web[1]: no host or group named 'vm9'; did you mean 'vm1'?",
    ),
    (
        "group clashes with a host",
        HOST + "groups:\n  vm1: [vm1]\n",
        "inventory.yaml:4: groups/vm1: 'vm1' is already a host name; pick another name for the group",
    ),
    (
        "group named all",
        HOST + "groups:\n  all: [vm1]\n",
        "inventory.yaml:4: groups/all: 'all' is reserved (it means every host); pick another group name",
    ),
    (
        "group clashes with a role",
        "hosts:\n  vm1: {address: 198.18.0.11, roles: [lb]}\n  vm2: {address: 198.18.0.12}\ngroups:\n  lb: [vm2]\n",
        "inventory.yaml:5: groups/lb: 'lb' is already a role (of vm1); give hosts that role instead, "
        "or pick another group name",
    ),
    (
        "group cycle",
        HOST + "groups:\n  a: [vm1, b]\n  b: [c]\n  c: [a]\n",
        "inventory.yaml:6: groups/c[0]: groups form a cycle (a -> b -> c -> a); a group cannot include itself",
    ),
    (
        "group includes itself",
        HOST + "groups:\n  a: [a]\n",
        "inventory.yaml:4: groups/a[0]: groups form a cycle (a -> a); a group cannot include itself",
    ),
    (
        "group as a string",
        HOST + "groups:\n  web: vm1\n",
        "inventory.yaml:4: groups/web: should be a list of host and group names, got 'vm1'; "
        "write [vm1] for a single item",
    ),
    (
        "zero down_after",
        HOST + "heal: {down_after: 0}\n",
        "inventory.yaml:3: heal/down_after: should be more than 0, got 0",
    ),
    (
        "unknown metrics key",
        HOST + "metrics: {keep: 1h}\n",
        "inventory.yaml:3: metrics/keep: unknown key (allowed: retention)",
    ),
    (
        "group member is a mapping",
        HOST + "groups:\n  web: [vm1, {vm2: x}]\n",
        "inventory.yaml:4: groups/web[1]: should be a string, got a mapping",
    ),
]


@pytest.fixture
def folder(tmp_path, monkeypatch):
    """An inventory folder with a key and known_hosts under lab/, as the cwd."""
    (tmp_path / "lab").mkdir()
    (tmp_path / "lab" / "id_ed25519").write_text("not really a key\n")
    (tmp_path / "lab" / "known_hosts").write_text("")
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.mark.parametrize("text, message", [case[1:] for case in MALFORMED], ids=[case[0] for case in MALFORMED])
def test_malformed_inventory_is_refused_with_location(folder, text, message):
    (folder / "inventory.yaml").write_text(textwrap.dedent(text))
    with pytest.raises(SpecError) as caught:
        load_inventory("inventory.yaml")
    assert str(caught.value) == message


def test_missing_file_names_the_path(folder):
    with pytest.raises(SpecError, match=r"^nope\.yaml: no such file$"):
        load_inventory("nope.yaml")


def test_missing_folder_names_the_path(folder):
    with pytest.raises(SpecError, match=r"^sub/inventory\.yaml: no such file$"):
        load_inventory("sub/inventory.yaml")


def test_directory_instead_of_file(folder):
    with pytest.raises(SpecError, match=r"^lab: is a directory; give the path of a YAML file$"):
        load_inventory("lab")


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads any file")
def test_unreadable_file(folder):
    path = folder / "inventory.yaml"
    path.write_text(HOST)
    path.chmod(0)
    with pytest.raises(SpecError, match=r"^inventory\.yaml: cannot read: permission denied$"):
        load_inventory("inventory.yaml")


def test_not_utf8(folder):
    (folder / "inventory.yaml").write_bytes(HOST.encode() + b"# caf\xe9\n")
    with pytest.raises(SpecError, match=r"^inventory\.yaml:3: not UTF-8 text; save the file as UTF-8$"):
        load_inventory("inventory.yaml")


def test_error_names_the_file_as_given(folder):
    (folder / "site").mkdir()
    (folder / "site" / "inv.yaml").write_text("ssh:\n  key: keys/id\n" + HOST)
    with pytest.raises(SpecError) as caught:
        load_inventory("site/inv.yaml")
    assert str(caught.value) == (
        "site/inv.yaml:2: ssh/key: key file site/keys/id not found (relative paths start at the folder of this file)"
    )


def test_error_carries_its_parts(folder):
    (folder / "inventory.yaml").write_text("hosts:\n  vm1: {address: 198.18.0.11, port: x}\n")
    with pytest.raises(SpecError) as caught:
        load_inventory("inventory.yaml")
    error = caught.value
    assert (error.file, error.line, error.keypath) == ("inventory.yaml", 2, "hosts/vm1/port")
