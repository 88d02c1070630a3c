"""The lab's names and addresses (pure): etcd members on the lab bridge, and Docker bridges of every network,
apart from all VM networks."""

from __future__ import annotations

import ipaddress
import itertools
from pathlib import Path

import pytest

from kob.errors import LabError
from kob.lab import etcd_server
from kob.lab.lab import lab_inventory
from kob.lab.layout import MAX_NET, MAX_VMS, LabLayout

LAB = LabLayout(Path("/var/lib/kob-test-lab-5"), 5)


def test_etcd_members_sit_on_the_lab_network_below_the_vms():
    assert [(m.name, m.endpoint, m.peer_url) for m in LAB.etcd_members(3)] == [
        ("etcd1", "198.18.5.1:2379", "http://198.18.5.1:2380"),
        ("etcd2", "198.18.5.2:2379", "http://198.18.5.2:2380"),
        ("etcd3", "198.18.5.3:2379", "http://198.18.5.3:2380")]
    assert LAB.etcd_url == "http://198.18.5.1:2379"  # member 1 is the bridge's own address
    assert LAB.vm(1).address == "198.18.5.11"
    with pytest.raises(LabError):
        LAB.etcd_member(10)


def test_a_member_listens_only_on_its_own_address_and_knows_every_peer():
    argv = etcd_server.argv(LAB.etcd_member(2), 3)
    assert argv[argv.index("--listen-client-urls") + 1] == "http://198.18.5.2:2379"
    assert argv[argv.index("--listen-peer-urls") + 1] == "http://198.18.5.2:2380"
    assert argv[argv.index("--initial-cluster") + 1] == (
        "etcd1=http://198.18.5.1:2380,etcd2=http://198.18.5.2:2380,etcd3=http://198.18.5.3:2380")
    assert argv[argv.index("--data-dir") + 1] == "/var/lib/kob-test-lab-5/etcd/etcd2"


@pytest.mark.parametrize("members", [1, 3])
def test_the_lab_inventory_names_every_member(members):
    state = [line for line in lab_inventory(LAB, [LAB.vm(1)], members).splitlines() if line.startswith("state:")]
    assert state == ["state: " + "etcd://" + ",".join(f"198.18.5.{k}:2379" for k in range(1, members + 1))]



def bridge(net: int, n: int) -> ipaddress.IPv4Interface:
    return ipaddress.IPv4Interface(LabLayout(Path("/lab"), net).vm(n).docker_bridge)


@pytest.mark.parametrize("net, n, expected", [
    (0, 1, "198.19.1.1/24"), (3, 60, "198.19.252.1/24"),  # labs 0..3 as they always were
    (4, 1, "198.18.64.65/26"), (6, 2, "198.18.96.129/26"), (MAX_NET, MAX_VMS, "198.18.255.1/26"),
])
def test_docker_bridges(net, n, expected):
    assert str(bridge(net, n)) == expected


def test_no_two_bridges_overlap_and_none_overlaps_a_vm_network():
    networks = [bridge(net, n).network for net in range(MAX_NET + 1) for n in range(1, MAX_VMS + 1)]
    vm_networks = [ipaddress.IPv4Network(f"198.18.{net}.0/24") for net in range(MAX_NET + 1)]
    everything = sorted(networks + vm_networks)
    assert all(not a.overlaps(b) for a, b in itertools.pairwise(everything))
    assert all(network.subnet_of(ipaddress.IPv4Network("198.18.0.0/15")) for network in networks)


def test_a_network_beyond_the_last_is_refused():
    with pytest.raises(LabError, match=f"outside 0..{MAX_NET}"):
        bridge(MAX_NET + 1, 1)


def test_kob_lab_takes_every_network_the_layout_has_room_for():
    from kob.cli.lab_commands import lab

    for command in lab.commands.values():
        (net,) = [param for param in command.params if param.name == "net"]
        assert (net.type.min, net.type.max) == (0, MAX_NET), command.name
