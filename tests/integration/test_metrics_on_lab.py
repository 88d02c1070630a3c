"""`/metrics` of `kob web` and `kob serve` on the lab, parsed with prometheus_client's parser and checked against
`kob status --json` and `kob top --json`.

Why the host figures can be compared exactly: a scrape reports each host's newest sample kept in the store.
The page is started with a refresh of an hour, so after its first look nothing but `kob top` samples; the
scrape taken right after `kob top` must therefore carry top's own sample (the same timestamp), whatever the
machine's load. The replica and HAProxy figures are the page's first look, taken once the service answered
through HAProxy from both replicas, and nothing changes them afterwards: `kob web` runs no passes, and the
service has no health check, whose timeouts on a busy machine would have reconcile replace replicas.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections import Counter
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import TEST_LAB_NET as NET
from tests.helpers.lab_services import fetch, kob
from tests.helpers.page_process import PageProcess

TOKEN = "metrics-t0ken-on-the-lab"
SERVICES = """
services:
  metered:
    image: kob-demo/web:1
    replicas: 2
    port: 80
    autoscale: {min: 2, max: 2, cpu: 50}
lb:
  frontends:
    http: {bind: 8082, default: metered}
"""
URL = f"http://198.18.{NET}.11:8082/"
REQUESTS = 30


def ok(*args: str) -> str:
    done = kob(*args)
    assert done.returncode == 0, f"kob {' '.join(args)}: {done.stdout}{done.stderr}"
    return done.stdout


def scrape(page: PageProcess, token: str | None = TOKEN) -> dict[tuple[str, tuple], float]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    request = urllib.request.Request(page.url + "metrics", headers=headers)
    with urllib.request.urlopen(request, timeout=30) as reply:
        text = reply.read().decode()
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def series(values: dict, name: str) -> dict[tuple, float]:
    """The samples of one metric, by their labels."""
    return {labels: value for (metric, labels), value in values.items() if metric == name}


def by(values: dict, name: str, label: str) -> dict[str, float]:
    return {dict(labels)[label]: value for labels, value in series(values, name).items()}


@pytest.fixture(scope="module")
def inventory(lab, tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("metrics") / "metered.yaml"
    path.write_text(lab.layout.inventory.read_text() + SERVICES)
    try:
        ok("deploy", str(path), "--wait", "60")
        answered = Counter(fetch(URL).split("replica=")[1].split()[0] for _ in range(REQUESTS))
        assert sorted(answered) == ["1", "2"]  # both servers up in HAProxy before any page looks
        ok("cron", "run", str(path))  # one pass (sample, reconcile, autoscale, jobs) kept with its durations
        (metered,) = json.loads(ok("status", str(path), "--json"))["services"]
        assert (metered["desired"], metered["running"], metered["healthy"]) == (2, 2, 2), metered
        yield path
    finally:
        kob("down", str(path), "--wait", "30")


@pytest.fixture
def page(inventory, tmp_path):
    server = PageProcess("web", inventory, "--refresh", "3600", log=tmp_path / "web.log", token=TOKEN)
    try:
        server.wait_ready()
        yield server
    finally:
        server.stop()


def test_a_scrape_without_the_token_is_refused(page):
    for token in (None, "wrong"):
        with pytest.raises(urllib.error.HTTPError) as refused:
            scrape(page, token)
        assert refused.value.code == 401


def test_metrics_agree_with_kob_status_and_kob_top_taken_at_the_same_moment(page, inventory):
    top = json.loads(ok("top", str(inventory), "--json"))
    status = json.loads(ok("status", str(inventory), "--json"))
    values = scrape(page)

    assert by(values, "kob_host_sample_timestamp_seconds", "host") == {h: u["time"] for h, u in top["hosts"].items()}
    for host, usage in top["hosts"].items():
        assert by(values, "kob_host_cpu_usage_ratio", "host")[host] * 100 == pytest.approx(usage["cpu"], rel=1e-9)
        for metric, key in (("kob_host_memory_used_bytes", "mem_used"), ("kob_host_memory_capacity_bytes", "mem_total"),
                            ("kob_host_disk_used_bytes", "disk_used"), ("kob_host_disk_capacity_bytes", "disk_total"),
                            ("kob_host_cpus", "ncpu")):
            assert by(values, metric, "host")[host] == usage[key], metric
        assert by(values, "kob_host_load1", "host")[host] == usage["load"][0]
        assert by(values, "kob_host_containers", "host")[host] == len(usage["containers"])
    assert by(values, "kob_host_up", "host") == {h: 1.0 for h in top["hosts"]}

    (metered,) = status["services"]
    assert (metered["desired"], metered["running"], metered["healthy"]) == (2, 2, 2)
    for metric, key in (("kob_service_desired_replicas", "desired"), ("kob_service_running_replicas", "running"),
                        ("kob_service_healthy_replicas", "healthy")):
        assert by(values, metric, "service") == {"metered": metered[key]}, metric


def test_haproxy_servers_sessions_and_requests(page):
    values = scrape(page)
    up = {dict(labels)["server"]: v for labels, v in series(values, "kob_haproxy_server_up").items()
          if dict(labels)["backend"] == "metered"}
    assert sorted(up.values()) == [1.0, 1.0] and by(values, "kob_haproxy_stats_up", "lb") == {"vm1": 1.0}
    states = series(values, "kob_haproxy_server_state")
    assert sum(v for labels, v in states.items() if dict(labels)["state"] == "up") == 2
    assert sum(series(values, "kob_haproxy_server_sessions_total").values()) >= REQUESTS
    assert sum(series(values, "kob_haproxy_server_http_requests_total").values()) >= REQUESTS


def test_the_last_autoscale_decision_and_the_pass_durations(page):
    values = scrape(page)
    assert by(values, "kob_service_autoscale_last_desired_replicas", "service") == {"metered": 2}
    assert by(values, "kob_service_autoscale_last_direction", "direction") == {"up": 0, "down": 0, "hold": 1}
    assert by(values, "kob_pass_last_outcome", "outcome") == {"ok": 1, "skipped": 0, "failed": 0}
    durations = by(values, "kob_pass_last_duration_seconds", "pass")
    assert set(durations) == {"sample", "reconcile", "autoscale", "jobs"} and min(durations.values()) >= 0
    assert sum(by(values, "kob_jobs", "state").values()) == 0


def test_kob_serve_reports_its_leadership_and_its_own_passes(inventory, tmp_path):
    started = time.time()
    server = PageProcess("serve", inventory, "--refresh", "1", "--every", "2", "--lease", "4",
                         log=tmp_path / "serve.log", token=TOKEN)
    try:
        server.wait_ready()
        deadline, values = time.monotonic() + 120, {}
        while time.monotonic() < deadline:
            values = scrape(server)
            if values.get(("kob_serve_passes_total", ()), 0) >= 1 and \
                    values.get(("kob_pass_last_timestamp_seconds", ()), 0) >= started:
                break
            time.sleep(0.5)
        assert values[("kob_serve_leader", ())] == 1, server.output()
        assert values[("kob_pass_last_timestamp_seconds", ())] >= started, server.output()
        assert by(values, "kob_service_running_replicas", "service") == {"metered": 2}
        assert "reconcile" in by(values, "kob_pass_last_duration_seconds", "pass")
    finally:
        server.stop()
