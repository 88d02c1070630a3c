"""The lab's addresses: every VM of every lab network gets its own Docker bridge, apart from all VM networks."""

from __future__ import annotations

import ipaddress
import itertools
from pathlib import Path

import pytest

from kob.errors import LabError
from kob.lab.layout import MAX_NET, MAX_VMS, LabLayout


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
