"""The facts parser as a table: what the one facts command prints on four distributions → Ansible's facts."""

from __future__ import annotations

import pytest

from kob.commands.facts_script import SECTION, facts_argv
from kob.errors import ObservationError
from kob.facts.ansible_facts import fact_variables, parse_ansible_facts

DEBIAN = """\
PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"
NAME="Debian GNU/Linux"
VERSION_ID="12"
VERSION="12 (bookworm)"
VERSION_CODENAME=bookworm
ID=debian
"""
UBUNTU = """\
PRETTY_NAME="Ubuntu 22.04.4 LTS"
NAME="Ubuntu"
VERSION_ID="22.04"
VERSION="22.04.4 LTS (Jammy Jellyfish)"
VERSION_CODENAME=jammy
ID=ubuntu
ID_LIKE=debian
UBUNTU_CODENAME=jammy
"""
ALPINE = """\
NAME="Alpine Linux"
ID=alpine
VERSION_ID=3.19.1
PRETTY_NAME="Alpine Linux v3.19"
"""
RHEL = """\
NAME="Red Hat Enterprise Linux"
VERSION="9.2 (Plow)"
ID="rhel"
ID_LIKE="fedora"
VERSION_ID="9.2"
PRETTY_NAME="Red Hat Enterprise Linux 9.2 (Plow)"
"""
UNKNOWN_LIKE_RHEL = """\
NAME="Weird Linux"
ID=weird
ID_LIKE="rhel centos fedora"
VERSION_ID=4
"""


def output(os_release: str, debian_version: str = "", **sections: str) -> str:
    parts = {"os-release": os_release, "debian-version": debian_version,
             "uname": "x86_64\nvm1.lab.example\nLinux\n6.1.0-18-amd64", "fqdn": "vm1.lab.example",
             "cpuinfo": "4\n1", "nproc": "2",
             "meminfo": "MemTotal:        8048576 kB\nMemFree:  1048576 kB\nSwapTotal: 0 kB\nSwapFree: 0 kB",
             "route": "1.0.0.1 via 10.10.0.1 dev eth0 src 10.10.0.11 uid 0 \n    cache ",
             "addresses": ("1: lo    inet 127.0.0.1/8 scope host lo\\       valid_lft forever\n"
                           "2: eth0    inet 10.10.0.11/24 brd 10.10.0.255 scope global eth0\\       valid_lft forever\n"
                           "3: docker0    inet 172.17.0.1/16 brd 172.17.255.255 scope global docker0"),
             "date": "2026 11 30 17:05:09 1796058309 UTC +0000 Monday 1 48 334".replace(":", " ") + "\n"
                     "2026-11-30T17:05:09Z",
             "user": "root\n0\n0", "python": "/usr/bin/python3\nPython 3.11.2",
             "pkg": "apt-get", "init": "init\ninit.d", "docker": "26.1.5",
             "env": "HOME=/root\nPATH=/usr/bin:/bin\nMULTI=one\ntwo\nLANG=C.UTF-8\n", **sections}
    return "".join(f"\n{SECTION}{name}\n{text}\n" for name, text in parts.items())


@pytest.mark.parametrize("release, debian_version, expected", [
    (DEBIAN, "12.5", ("Debian", "Debian", "12.5", "12", "bookworm")),
    (UBUNTU, "bookworm/sid", ("Debian", "Ubuntu", "22.04", "22", "jammy")),
    (ALPINE, "", ("Alpine", "Alpine", "3.19.1", "3", "NA")),
    (RHEL, "", ("RedHat", "RedHat", "9.2", "9", "Plow")),
    (UNKNOWN_LIKE_RHEL, "", ("RedHat", "Weird Linux", "4", "4", "NA")),
    ("", "", ("Unknown", "Unknown", "NA", "NA", "NA")),
])
def test_distribution_facts_as_ansible_names_them(release, debian_version, expected):
    facts = parse_ansible_facts("vm1", output(release, debian_version))
    assert (facts["os_family"], facts["distribution"], facts["distribution_version"],
            facts["distribution_major_version"], facts["distribution_release"]) == expected


def test_every_fact_of_one_host():
    facts = parse_ansible_facts("vm1", output(DEBIAN, "12.5"))
    assert (facts["architecture"], facts["hostname"], facts["nodename"], facts["fqdn"], facts["domain"]) == (
        "x86_64", "vm1", "vm1.lab.example", "vm1.lab.example", "lab.example")
    assert (facts["processor_vcpus"], facts["processor_count"], facts["processor_nproc"]) == (4, 1, 2)
    assert (facts["memtotal_mb"], facts["memfree_mb"], facts["swaptotal_mb"]) == (7859, 1024, 0)
    assert facts["default_ipv4"] == {"address": "10.10.0.11", "interface": "eth0", "gateway": "10.10.0.1"}
    assert facts["all_ipv4_addresses"] == ["10.10.0.11", "172.17.0.1"]
    assert facts["python"]["executable"] == "/usr/bin/python3" and facts["python_version"] == "3.11.2"
    assert facts["python"]["version"] == {"major": 3, "minor": 11, "micro": 2}
    assert facts["env"] == {"HOME": "/root", "PATH": "/usr/bin:/bin", "MULTI": "one\ntwo", "LANG": "C.UTF-8"}
    assert (facts["user_id"], facts["user_uid"], facts["user_gid"]) == ("root", 0, 0)
    assert (facts["pkg_mgr"], facts["service_mgr"], facts["kob_docker_version"]) == ("apt", "sysvinit", "26.1.5")
    assert facts["date_time"]["date"] == "2026-11-30" and facts["date_time"]["time"] == "17:05:09"
    assert facts["date_time"]["epoch"] == "1796058309" and facts["date_time"]["iso8601"] == "2026-11-30T17:05:09Z"
    assert (facts["date_time"]["weekday"], facts["date_time"]["tz"]) == ("Monday", "UTC")


@pytest.mark.parametrize("sections, key, expected", [
    ({"route": ""}, "default_ipv4", {}),  # no default route: Ansible gives {} too
    ({"route": "1.0.0.1 dev wg0 src 10.9.0.2 uid 0"}, "default_ipv4", {"address": "10.9.0.2", "interface": "wg0"}),
    ({"addresses": ""}, "all_ipv4_addresses", []),
    ({"python": ""}, "python_version", ""),
    ({"python": "/usr/bin/python\nPython 2.7.18"}, "python_version", "2.7.18"),
    ({"pkg": "dnf\nyum"}, "pkg_mgr", "dnf"),
    ({"pkg": ""}, "pkg_mgr", "unknown"),
    ({"pkg": "apk"}, "pkg_mgr", "apk"),
    ({"init": "systemd\nsystemd-running\ninit.d"}, "service_mgr", "systemd"),
    ({"init": "init\nopenrc\ninit.d"}, "service_mgr", "openrc"),
    ({"init": "runit"}, "service_mgr", "runit"),
    ({"init": "sshd"}, "service_mgr", "service"),
    ({"cpuinfo": "", "nproc": "3"}, "processor_vcpus", 3),
    ({"fqdn": ""}, "fqdn", "vm1.lab.example"),
    ({"date": "Mon Nov 30"}, "date_time", {}),
    ({"uname": "aarch64\nbox\nLinux\n6.6"}, "hostname", "box"),
])
def test_one_fact_from_one_section(sections, key, expected):
    assert parse_ansible_facts("vm1", output(DEBIAN, **sections))[key] == expected


def test_output_that_is_not_the_scripts_names_the_host():
    with pytest.raises(ObservationError, match="vm3: the facts command printed something else"):
        parse_ansible_facts("vm3", "sh: 1: syntax error\n")


def test_a_play_sees_each_fact_as_ansible_facts_x_and_ansible_x():
    seen = fact_variables(parse_ansible_facts("vm1", output(ALPINE)))
    assert seen["ansible_facts"]["os_family"] == seen["ansible_os_family"] == "Alpine"
    assert seen["ansible_facts"]["default_ipv4"]["address"] == seen["ansible_default_ipv4"]["address"]
    assert "kob_docker_version" not in seen["ansible_facts"] and seen["kob_docker_version"] == "26.1.5"


def test_the_facts_are_one_sh_command_with_no_argument():
    argv = facts_argv()
    assert argv[:2] == ["sh", "-c"] and len(argv) == 3
    assert all(f"s {name};" in argv[2] for name in ("os-release", "uname", "route", "env", "python", "date"))
