"""The resource sample as one shell command (pure): /proc and cgroup counters, never `docker stats`.

A sample is cumulative counters only: CPU time, jiffies, bytes. Rates come from
the difference of two samples (kob.metrics.rates), the previous one usually from
the store. With ``gap`` > 0 the command itself takes two samples that far apart,
for a host with no recent sample.

Output, one block per sample:

    #kob-sample
    uptime 17007.77                   seconds since boot: the clock rates are taken on
    cpu 216215 0 186111 2968873 ...   /proc/stat's first line, jiffies
    ncpu 2
    load 0.23 2.89 4.49
    mem 24684084 24186996             MemTotal MemAvailable, kB
    disk 264212084 23874304           size and used of /, kB
    c ID SERVICE REPLICA STATE RESTARTS CPU_NS MEM_BYTES LIMIT_BYTES    per kob container; - where unknown
"""

from __future__ import annotations

import shlex

from kob.commands.docker import LABEL_INVENTORY, LABEL_REPLICA, LABEL_SERVICE
from kob.commands.docker_engine import reader_or

SAMPLE_MARK = "#kob-sample"

# Words without spaces: a missing label prints "-", not Go's "<no value>".
_INSPECT = " ".join(["{{.Id}}", "{{.State.Pid}}", "{{.RestartCount}}", "{{.State.Status}}"] + [
    f'{{{{with index .Config.Labels "{label}"}}}}{{{{.}}}}{{{{else}}}}-{{{{end}}}}'
    for label in (LABEL_SERVICE, LABEL_REPLICA)])

# cgroup v1 (a controller per hierarchy, cpuacct possibly co-mounted with cpu) and v2 (one "0::" line).
# Memory in use leaves out the page cache that can be dropped (inactive_file), as `docker stats` does.
_COUNTERS = r"""
counters() {  # pid -> "CPU_NS MEM_BYTES LIMIT_BYTES" of its cgroup
  cg=/proc/$1/cgroup; cpu=-; mem=-; lim=-
  acct=$(awk -F: '$2 ~ /(^|,)cpuacct(,|$)/ {print $3}' "$cg" 2>/dev/null)
  memcg=$(awk -F: '$2 ~ /(^|,)memory(,|$)/ {print $3}' "$cg" 2>/dev/null)
  unified=$(awk -F: '$1 == "0" {print $3}' "$cg" 2>/dev/null)
  for d in /sys/fs/cgroup/cpuacct /sys/fs/cgroup/cpu,cpuacct /sys/fs/cgroup/cpuacct,cpu; do
    if [ -n "$acct" ] && [ -r "$d$acct/cpuacct.usage" ]; then cpu=$(cat "$d$acct/cpuacct.usage"); break; fi
  done
  m=/sys/fs/cgroup/memory$memcg
  if [ -n "$memcg" ] && [ -r "$m/memory.usage_in_bytes" ]; then
    inactive=$(awk '$1 == "total_inactive_file" {print $2}' "$m/memory.stat")
    mem=$(( $(cat "$m/memory.usage_in_bytes") - ${inactive:-0} )); lim=$(cat "$m/memory.limit_in_bytes")
  fi
  u=/sys/fs/cgroup$unified
  if [ "$cpu" = - ] && [ -n "$unified" ] && [ -r "$u/cpu.stat" ]; then
    cpu=$(awk '$1 == "usage_usec" {print $2 * 1000}' "$u/cpu.stat")
  fi
  if [ "$mem" = - ] && [ -n "$unified" ] && [ -r "$u/memory.current" ]; then
    inactive=$(awk '$1 == "inactive_file" {print $2}' "$u/memory.stat")
    mem=$(( $(cat "$u/memory.current") - ${inactive:-0} )); lim=$(sed 's/^max$/-/' "$u/memory.max")
  fi
  echo "$cpu $mem $lim"
}
sample() {
  echo '#kob-sample'
  echo "uptime $(cut -d' ' -f1 /proc/uptime)"
  head -n1 /proc/stat
  echo "ncpu $(getconf _NPROCESSORS_ONLN 2>/dev/null || grep -c ^processor /proc/cpuinfo)"
  echo "load $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "mem $(awk '$1 == "MemTotal:" {t = $2} $1 == "MemAvailable:" {a = $2} END {print t, a}' /proc/meminfo)"
  echo "disk $(df -Pk / | awk 'NR == 2 {print $2, $3}')"
  printf '%s\n' "$info" | while read -r id pid restarts state service replica; do
    [ -n "$id" ] || continue
    if [ "$pid" -gt 0 ] 2>/dev/null; then set -- $(counters "$pid"); else set -- - - -; fi
    echo "c $id $service $replica $state $restarts $1 $2 $3"
  done
}
"""


def sample_argv(owner: str, gap: float = 0.0) -> list[str]:
    """One command that prints a sample of the host and of the ``owner`` inventory's containers; two, ``gap``
    seconds apart, if > 0."""
    if gap < 0:
        raise ValueError(f"gap must be >= 0, got {gap}")
    lines = [
        "info=$(" + reader_or(["sample", owner], [
            f"ids=$(docker ps -aq --no-trunc --filter {shlex.quote(f'label={LABEL_INVENTORY}={owner}')})",
            f'if [ -n "$ids" ]; then docker inspect --format {shlex.quote(_INSPECT)} $ids; fi']) + ")",
        _COUNTERS,
        "sample",
    ]
    if gap:
        lines += [f"sleep {gap:g}", "sample"]
    return ["sh", "-c", "\n".join(lines)]
