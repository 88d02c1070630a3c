"""The page's data as Prometheus metric families (pure: dicts and samples in, families out).

Names follow Prometheus' conventions: ``kob_`` first, base units (seconds, bytes, ratios of 0 to 1) last,
``_total`` only on counters. Labels are bounded: a host, service, lb host, backend and server of the
inventory, or one of a fixed set of states. Free text (an autoscale decision's reason, an error) never
becomes a label value: the page and `kob events` show it.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.metrics_core import Metric

from kob.jobs.book import STATES as JOB_STATES
from kob.metrics.rates import HostUsage

SERVER_STATES = ("up", "down", "drain", "maint", "nolb", "no_check", "other")
PASS_OUTCOMES = ("ok", "skipped", "failed")
DIRECTIONS = ("up", "down", "hold")


def _gauge(name: str, doc: str, labels: Iterable[str], rows: Iterable[tuple[Iterable[str], float]]) -> Metric:
    family = GaugeMetricFamily(name, doc, labels=list(labels))
    for values, value in rows:
        family.add_metric(list(values), value)
    return family


def _counter(name: str, doc: str, labels: Iterable[str], rows: Iterable[tuple[Iterable[str], float]]) -> Metric:
    family = CounterMetricFamily(name, doc, labels=list(labels))
    for values, value in rows:
        family.add_metric(list(values), value)
    return family


def _state_set(name: str, doc: str, labels: list[str], rows: Iterable[tuple[list[str], str]],
               states: tuple[str, ...], state_label: str) -> Metric:
    """One series per state, 1 for the one each object is in and 0 for the others (Prometheus' state-set pattern)."""
    return _gauge(name, doc, [*labels, state_label],
                  ((values + [state], float(state == current)) for values, current in rows for state in states))


def host_families(hosts: list[dict[str, Any]], usage: Mapping[str, HostUsage]) -> Iterator[Metric]:
    """Per host: whether it answered, and its newest kept sample."""
    yield _gauge("kob_host_up", "1 when the host answered kob's last look (or was last recorded up).", ["host"],
                 (([h["name"]], float(h["state"] == "up")) for h in hosts))
    sampled = [(name, usage[name]) for name in (h["name"] for h in hosts) if name in usage]
    fields = (
        ("kob_host_sample_timestamp_seconds", "Unix time of the host's newest kept sample.", lambda u: u.time),
        ("kob_host_cpu_usage_ratio", "Share of all the host's CPUs busy over the sample's interval (0 to 1).",
         lambda u: None if u.cpu is None else u.cpu / 100.0),
        ("kob_host_cpus", "CPUs of the host.", lambda u: u.ncpu),
        ("kob_host_load1", "Load average over 1 minute.", lambda u: u.load[0]),
        ("kob_host_load5", "Load average over 5 minutes.", lambda u: u.load[1]),
        ("kob_host_load15", "Load average over 15 minutes.", lambda u: u.load[2]),
        ("kob_host_memory_used_bytes", "Memory in use (total less available).", lambda u: u.mem_used),
        ("kob_host_memory_capacity_bytes", "Memory of the host.", lambda u: u.mem_total),
        ("kob_host_disk_used_bytes", "Disk used on Docker's file system.", lambda u: u.disk_used),
        ("kob_host_disk_capacity_bytes", "Size of Docker's file system.", lambda u: u.disk_total),
        ("kob_host_containers", "Containers of this inventory on the host.", lambda u: len(u.containers)),
    )
    for name, doc, read in fields:
        yield _gauge(name, doc, ["host"], (([host], read(u)) for host, u in sampled if read(u) is not None))


def service_families(services: list[dict[str, Any]]) -> Iterator[Metric]:
    """Per service: replicas wanted, running and healthy, and its last autoscale decision."""
    yield _gauge("kob_service_desired_replicas", "Replicas wanted now (the spec, kob scale or autoscale).",
                 ["service"], (([s["name"]], s["desired"]) for s in services))
    observed = [s for s in services if s["running"] is not None]
    yield _gauge("kob_service_running_replicas", "Replicas whose container runs.", ["service"],
                 (([s["name"]], s["running"]) for s in observed))
    yield _gauge("kob_service_healthy_replicas", "Replicas running and healthy where they have a health check.",
                 ["service"], (([s["name"]], s["healthy"]) for s in observed))
    yield _gauge("kob_service_revision", "The service's current deployed revision.", ["service"],
                 (([s["name"]], s["revision"]) for s in services if s["revision"] is not None))
    yield from _autoscale_families([(s["name"], s["autoscale"]["last"]) for s in services
                                    if s["autoscale"] and s["autoscale"]["last"]])


def _autoscale_families(decisions: list[tuple[str, dict[str, Any]]]) -> Iterator[Metric]:
    yield _gauge("kob_service_autoscale_last_desired_replicas", "Replicas the last autoscale decision chose.",
                 ["service"], (([name], d["desired"]) for name, d in decisions))
    yield _gauge("kob_service_autoscale_last_current_replicas", "Replicas when the last autoscale decision was made.",
                 ["service"], (([name], d["current"]) for name, d in decisions))
    yield _gauge("kob_service_autoscale_last_decision_timestamp_seconds", "Unix time of the last autoscale decision.",
                 ["service"], (([name], d["time"]) for name, d in decisions))
    yield _state_set("kob_service_autoscale_last_direction",
                     "Which way the last autoscale decision went (its reason is on the page and in kob events).",
                     ["service"], (([name], _direction(d)) for name, d in decisions), DIRECTIONS, "direction")


def _direction(decision: dict[str, Any]) -> str:
    if decision["desired"] > decision["current"]:
        return "up"
    return "down" if decision["desired"] < decision["current"] else "hold"


def balancer_families(balancers: list[dict[str, Any]]) -> Iterator[Metric]:
    """Per lb host whether its runtime API answered; per HAProxy server its state, sessions and rates."""
    yield _gauge("kob_haproxy_stats_up", "1 when the lb host's HAProxy answered `show stat`.", ["lb"],
                 (([b["host"]], float(b["error"] is None)) for b in balancers))
    servers = [([b["host"], s["backend"], s["server"]], s) for b in balancers for s in b["servers"]]
    labels = ["lb", "backend", "server"]
    yield _gauge("kob_haproxy_server_up", "1 when the server takes new sessions.", labels,
                 ((key, float(s["up"])) for key, s in servers))
    yield _state_set("kob_haproxy_server_state", "The server's HAProxy status.", labels,
                     ((key, server_state(s["status"])) for key, s in servers), SERVER_STATES, "state")
    yield _gauge("kob_haproxy_server_current_sessions", "Sessions open on the server now.", labels,
                 ((key, s["sessions"]) for key, s in servers))
    yield _counter("kob_haproxy_server_sessions_total", "Sessions the server took since HAProxy started.", labels,
                   ((key, s["total"]) for key, s in servers))
    yield _gauge("kob_haproxy_server_current_session_rate", "Sessions per second over the last second.", labels,
                 ((key, s["rate"]) for key, s in servers))
    yield _counter("kob_haproxy_server_http_requests_total", "HTTP requests sent to the server since HAProxy started.",
                   labels, ((key, s["requests"]) for key, s in servers if s["requests"] is not None))


def server_state(status: str) -> str:
    """HAProxy's status column as one of SERVER_STATES ("UP 1/2", going down, is still up)."""
    if status == "no check":
        return "no_check"
    word = status.split(" ", 1)[0].lower()
    return word if word in SERVER_STATES else "other"


def job_families(counts: Mapping[str, int]) -> Iterator[Metric]:
    yield _gauge("kob_jobs", "Batch jobs kept, by state.", ["state"],
                 (([state], counts.get(state, 0)) for state in JOB_STATES))


def control_families(overview: Mapping[str, Any]) -> Iterator[Metric]:
    """The last periodic pass (cron or kob serve) and its parts' durations; this page's freshness and role."""
    yield _gauge("kob_page_refresh_timestamp_seconds", "Unix time the page's data was last read.", [],
                 [([], overview["time"])])
    yield _gauge("kob_page_stale", "1 while the page's refresh fails and it shows older data.", [],
                 [([], float(overview["stale"]))])
    last = overview["control"]["last_pass"]
    if last:
        yield _gauge("kob_pass_last_timestamp_seconds", "Unix time the last periodic pass started.", [],
                     [([], last["time"])])
        yield _state_set("kob_pass_last_outcome", "How the last periodic pass ended.", [],
                         [([], last["outcome"])], PASS_OUTCOMES, "outcome")
        yield _gauge("kob_pass_last_duration_seconds", "Seconds each part of the last periodic pass took.", ["pass"],
                     (([part], seconds) for part, seconds in sorted(last.get("durations", {}).items())))
    serve = overview.get("serve")
    if serve:
        yield _gauge("kob_serve_leader", "1 when this kob serve leads and runs the passes.", [],
                     [([], float(serve["role"] == "leader"))])
        yield _counter("kob_serve_passes_total", "Passes this kob serve ran since it started.", [],
                       [([], serve["passes"])])
