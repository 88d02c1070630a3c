"""The lab's names and addresses (pure): etcd members on the lab bridge, and Docker bridges of every network."""

from __future__ import annotations

from pathlib import Path

import pytest

from kob.errors import LabError
from kob.lab import etcd_server
from kob.lab.lab import lab_inventory
from kob.lab.layout import LabLayout

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


@pytest.mark.parametrize(
    ("net", "vm", "bridge"),
    [(0, 1, "198.19.1.1/24"), (3, 60, "198.19.252.1/24"), (4, 1, "198.18.129.1/24"), (5, 3, "198.18.163.1/24"),
     (7, 31, "198.18.255.1/24")],
)
def test_every_lab_network_gives_each_vm_docker_a_bridge_of_its_own(net, vm, bridge):
    assert LabLayout(Path("/x"), net).vm(vm).docker_bridge == bridge


def test_networks_above_three_hold_31_vms():
    with pytest.raises(LabError, match="outside 1..31"):
        LabLayout(Path("/x"), 5).vm(32)
