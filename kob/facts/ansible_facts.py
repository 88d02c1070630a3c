"""Ansible's facts of a host, read from what kob.commands.facts_script printed (pure).

``parse_ansible_facts`` gives the facts under Ansible's names without the ``ansible_`` prefix
(os_family, distribution, default_ipv4, date_time ...); ``fact_variables`` gives what a play
sees: ``ansible_facts`` and each fact as ``ansible_NAME``, plus ``kob_docker_version``.
"""

from __future__ import annotations

import re
from typing import Any

from kob.commands.facts_script import SECTION, facts_argv
from kob.errors import ObservationError
from kob.facts.base import Fact

DISTRIBUTIONS = {
    "debian": "Debian", "ubuntu": "Ubuntu", "linuxmint": "Linux Mint", "raspbian": "Debian", "kali": "Kali",
    "alpine": "Alpine", "rhel": "RedHat", "centos": "CentOS", "rocky": "Rocky", "almalinux": "AlmaLinux",
    "fedora": "Fedora", "ol": "OracleLinux", "amzn": "Amazon", "opensuse-leap": "openSUSE Leap",
    "opensuse-tumbleweed": "openSUSE Tumbleweed", "sles": "SLES", "arch": "Archlinux",
}
"""os-release ID → Ansible's distribution name."""

FAMILIES = {
    "Debian": "Debian", "Ubuntu": "Debian", "Linux Mint": "Debian", "Kali": "Debian", "Alpine": "Alpine",
    "RedHat": "RedHat", "CentOS": "RedHat", "Rocky": "RedHat", "AlmaLinux": "RedHat", "Fedora": "RedHat",
    "OracleLinux": "RedHat", "Amazon": "RedHat", "openSUSE Leap": "Suse", "openSUSE Tumbleweed": "Suse",
    "SLES": "Suse", "Archlinux": "Archlinux",
}
"""Ansible's distribution → os_family."""

PACKAGE_MANAGERS = {"apt-get": "apt", "dnf": "dnf", "yum": "yum", "apk": "apk", "zypper": "zypper",
                    "pacman": "pacman"}
INIT_NAMES = {"systemd": "systemd", "runit": "runit", "s6-svscan": "s6", "openrc-init": "openrc"}


def ansible_facts_fact() -> Fact[dict[str, Any]]:
    """All of a host's facts in one command."""
    return Fact("gathering facts", tuple(facts_argv()), parse_ansible_facts)


def fact_variables(facts: dict[str, Any]) -> dict[str, Any]:
    """What a play sees of gathered facts: ansible_facts, ansible_NAME for each, and kob_docker_version."""
    own = {key: value for key, value in facts.items() if key != "kob_docker_version"}
    return {**{f"ansible_{key}": value for key, value in own.items()}, "ansible_facts": own,
            "kob_docker_version": facts.get("kob_docker_version", "")}


def parse_ansible_facts(host: str, output: str) -> dict[str, Any]:
    """The script's sections as Ansible's facts; ObservationError when it is not the script's output."""
    sections = _sections(output)
    if "uname" not in sections or "env" not in sections:
        raise ObservationError(f"{host}: the facts command printed something else: {output[:200]!r}")
    arch, nodename, system, kernel = (sections["uname"] + ["", "", "", ""])[:4]
    fqdn = (sections.get("fqdn") or [nodename])[0] or nodename
    facts: dict[str, Any] = {
        **distribution_facts(_os_release(sections.get("os-release", [])), sections.get("debian-version", [])),
        "architecture": arch, "machine": arch, "nodename": nodename, "system": system, "kernel": kernel,
        "hostname": nodename.split(".")[0], "fqdn": fqdn, "domain": fqdn.partition(".")[2],
        **_processors(sections.get("cpuinfo", []), sections.get("nproc", [])),
        **_memory(sections.get("meminfo", [])),
        "default_ipv4": default_ipv4(sections.get("route", [])),
        "all_ipv4_addresses": ipv4_addresses(sections.get("addresses", [])),
        "date_time": date_time(sections.get("date", [])),
        **_user(sections.get("user", [])),
        **_python(sections.get("python", [])),
        "pkg_mgr": next((PACKAGE_MANAGERS[c] for c in sections.get("pkg", []) if c in PACKAGE_MANAGERS), "unknown"),
        "service_mgr": service_manager(sections.get("init", [])),
        "env": environment(sections["env"]),
        "kob_docker_version": (sections.get("docker") or [""])[0],
    }
    return facts


def _sections(output: str) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in output.split("\n"):
        if line.startswith(SECTION):
            current = found.setdefault(line[len(SECTION):].strip(), [])
        elif current is not None:
            current.append(line)
    return {name: [line for line in lines if line != ""] if name != "env" else lines for name, lines in found.items()}


def _os_release(lines: list[str]) -> dict[str, str]:
    """KEY=value lines, values unquoted as a shell would read them."""
    found = {}
    for line in lines:
        key, equals, value = line.partition("=")
        if equals and re.fullmatch(r"[A-Z_][A-Z0-9_]*", key):
            value = value.strip()
            if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
                value = value[1:-1]
            found[key] = value
    return found


def distribution_facts(release: dict[str, str], debian_version: list[str]) -> dict[str, str]:
    """distribution, its version, major version and release, and os_family, as Ansible names them."""
    ident = release.get("ID", "").lower()
    name = DISTRIBUTIONS.get(ident) or release.get("NAME", "") or "Unknown"
    version = release.get("VERSION_ID", "")
    if name == "Debian" and debian_version and re.match(r"\d", debian_version[0]):
        version = debian_version[0].strip()  # Ansible reads the point release there: 12.5, not 12
    codename = release.get("VERSION_CODENAME") or release.get("UBUNTU_CODENAME", "")
    if not codename:
        inside = re.search(r"\(([^)]*)\)", release.get("VERSION", ""))
        codename = inside.group(1).split(",")[0].strip() if inside else "NA"
    family = FAMILIES.get(name) or next((FAMILIES[DISTRIBUTIONS[like]] for like in release.get("ID_LIKE", "").split()
                                         if like in DISTRIBUTIONS), name)
    return {"distribution": name, "distribution_version": version or "NA",
            "distribution_major_version": (version.split(".")[0] if version else "NA"),
            "distribution_release": codename, "os_family": family}


def _processors(cpuinfo: list[str], nproc: list[str]) -> dict[str, int]:
    logical = int(cpuinfo[0]) if cpuinfo and cpuinfo[0].isdigit() and int(cpuinfo[0]) > 0 else 0
    if not logical:
        logical = int(nproc[0]) if nproc and nproc[0].isdigit() else 1
    sockets = int(cpuinfo[1]) if len(cpuinfo) > 1 and cpuinfo[1].strip().isdigit() else 0
    return {"processor_vcpus": logical, "processor_count": sockets or 1,
            "processor_nproc": int(nproc[0]) if nproc and nproc[0].isdigit() else logical}


def _memory(lines: list[str]) -> dict[str, int]:
    found = {}
    for line in lines:
        match = re.fullmatch(r"(\w+):\s*(\d+) kB", line.strip())
        if match:
            found[match[1]] = int(match[2]) // 1024
    return {"memtotal_mb": found.get("MemTotal", 0), "memfree_mb": found.get("MemFree", 0),
            "swaptotal_mb": found.get("SwapTotal", 0), "swapfree_mb": found.get("SwapFree", 0)}


def default_ipv4(lines: list[str]) -> dict[str, str]:
    """From `ip -4 route get`: the address, interface and gateway of the default route ({} without one)."""
    words = " ".join(lines).split()
    found = {key: words[i + 1] for i, key in enumerate(words[:-1]) if key in ("dev", "src", "via")}
    if "src" not in found:
        return {}
    facts = {"address": found["src"], "interface": found.get("dev", "")}
    return {**facts, "gateway": found["via"]} if "via" in found else facts


def ipv4_addresses(lines: list[str]) -> list[str]:
    """From `ip -4 -o addr show`: every address but the loopback ones."""
    found = []
    for line in lines:
        match = re.search(r"\sinet\s+(\d+\.\d+\.\d+\.\d+)/", line)
        if match and not match[1].startswith("127."):
            found.append(match[1])
    return found


def date_time(lines: list[str]) -> dict[str, str]:
    """From `date '+%Y %m %d %H %M %S %s %Z %z %A %w %W %j'` and `date -u` in ISO 8601."""
    words = lines[0].split() if lines else []
    if len(words) != 13:
        return {}
    year, month, day, hour, minute, second, epoch, zone, offset, weekday, number, week, yday = words
    return {"year": year, "month": month, "day": day, "hour": hour, "minute": minute, "second": second,
            "epoch": epoch, "epoch_int": epoch, "date": f"{year}-{month}-{day}", "time": f"{hour}:{minute}:{second}",
            "iso8601": lines[1].strip() if len(lines) > 1 else "", "iso8601_basic_short":
            f"{year}{month}{day}T{hour}{minute}{second}", "tz": zone, "tz_offset": offset, "weekday": weekday,
            "weekday_number": number, "weeknumber": week, "day_of_year": yday}


def _user(lines: list[str]) -> dict[str, Any]:
    name, uid, gid = (lines + ["", "", ""])[:3]
    return {"user_id": name, "user_uid": int(uid) if uid.isdigit() else -1,
            "user_gid": int(gid) if gid.isdigit() else -1}


def _python(lines: list[str]) -> dict[str, Any]:
    """The host's python3 (or python): its path and version; nothing known when it has none."""
    if not lines:
        return {"python": {}, "python_version": ""}
    match = re.search(r"Python (\d+)\.(\d+)\.(\d+)", " ".join(lines[1:]))
    numbers = [int(part) for part in match.groups()] if match else []
    version = ".".join(str(n) for n in numbers)
    described = {"major": numbers[0], "minor": numbers[1], "micro": numbers[2]} if numbers else {}
    return {"python": {"executable": lines[0].strip(), "type": "cpython" if numbers else "",
                       "version": described, "version_info": numbers},
            "python_version": version}


def service_manager(lines: list[str]) -> str:
    """systemd when it runs, else what pid 1 is (runit, s6, openrc), sysvinit with /etc/init.d, else service."""
    seen = [line.strip() for line in lines]
    if "systemd-running" in seen:
        return "systemd"
    init = seen[0] if seen else ""
    if init in INIT_NAMES and init != "systemd":
        return INIT_NAMES[init]
    if "openrc" in seen:
        return "openrc"
    return "sysvinit" if init == "init" and "init.d" in seen else "service"


def environment(lines: list[str]) -> dict[str, str]:
    """`env` output: NAME=value lines; a line without a name continues the value before it."""
    found: dict[str, str] = {}
    last = None
    for line in lines:
        name, equals, value = line.partition("=")
        if equals and re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
            found[name] = value
            last = name
        elif last is not None:
            found[last] += "\n" + line
    if last is not None:
        found[last] = found[last].rstrip("\n")
    return found
