"""The one POSIX sh command that asks a host for Ansible's facts (pure builder; kob.facts.ansible_facts parses it).

Each section starts with a line ``@@kob-facts:NAME``; a missing tool leaves its section empty, so
the parser decides what is unknown. No user text reaches the script.
"""

from __future__ import annotations

SECTION = "@@kob-facts:"

FACTS_SCRIPT = f"""\
s() {{ printf '\\n{SECTION}%s\\n' "$1"; }}
s os-release; cat /etc/os-release 2>/dev/null || cat /usr/lib/os-release 2>/dev/null
s debian-version; cat /etc/debian_version 2>/dev/null
s uname; uname -m; uname -n; uname -s; uname -r
s fqdn; timeout 2 hostname -f 2>/dev/null || hostname 2>/dev/null
s cpuinfo; grep -c '^processor' /proc/cpuinfo 2>/dev/null; grep '^physical id' /proc/cpuinfo 2>/dev/null | sort -u | wc -l
s nproc; nproc 2>/dev/null
s meminfo; grep -E '^(MemTotal|MemFree|SwapTotal|SwapFree):' /proc/meminfo 2>/dev/null
s route; ip -4 route get 1.0.0.1 2>/dev/null
s addresses; ip -4 -o addr show 2>/dev/null
s date; date '+%Y %m %d %H %M %S %s %Z %z %A %w %W %j'; date -u '+%Y-%m-%dT%H:%M:%SZ'
s user; id -un; id -u; id -g
s python; p=$(command -v python3 || command -v python); [ -n "$p" ] && echo "$p" && "$p" --version 2>&1
s pkg; for c in apt-get dnf yum apk zypper pacman; do command -v $c >/dev/null 2>&1 && echo $c; done
s init; cat /proc/1/comm 2>/dev/null; [ -d /run/systemd/system ] && echo systemd-running; \
command -v openrc >/dev/null 2>&1 && echo openrc; [ -d /etc/init.d ] && echo init.d
s docker; docker version --format '{{{{.Server.Version}}}}' 2>/dev/null
s env; env
"""


def facts_argv() -> list[str]:
    return ["sh", "-c", FACTS_SCRIPT]
