"""`/metrics` scraped through Flask's test client over a memory store filled by kob's own books and a hand-made
live look (containers and HAProxy servers), parsed with prometheus_client's own parser."""

from __future__ import annotations

import json
import time

import pytest
from prometheus_client.parser import text_string_to_metric_families

from kob.deploy.observe import ClusterObservation
from kob.deploy.revisions import RevisionBook
from kob.errors import StoreError
from kob.facts.containers import ContainerFact, HostObservation
from kob.facts.haproxy import ServerStat
from kob.facts.samples import HostCounters
from kob.jobs.book import JobBook
from kob.jobs.model import Job, ended, started
from kob.metrics.history import MetricsBook
from kob.metrics.rates import HostUsage
from kob.plan.spec_hash import spec_hash
from kob.spec.inventory import load_inventory
from kob.store.memory import MemoryStore
from kob.view.overview import Live
from kob.view.watch import Watcher
from kob.web import create_app, site_of
from kob.web.metric_families import server_state
from kob.web.site import Site

INVENTORY = """\
ssh: {user: root}
hosts:
  vm1: {address: 10.0.0.1, roles: [lb]}
  vm2: {address: 10.0.0.2}
services:
  web: {image: nginx:1, replicas: 2, port: 80}
  worker:
    image: busybox:1
    replicas: 1
    autoscale: {min: 1, max: 4, cpu: 50}
lb:
  frontends:
    http: {bind: 80, default: web}
"""
NOW = time.time()
PASS = {"time": NOW - 30, "outcome": "ok", "summary": "reconcile: 0 actions", "who": "me@here",
        "durations": {"sample": 0.25, "reconcile": 1.5, "autoscale": 0.125, "jobs": 0.0625}}


def _container(replica: int, service: str = "web", state: str = "running", health: str | None = None):
    return ContainerFact(f"c{service}{replica}", f"{service}-{replica}", service, replica, 1, "h", 20000 + replica,
                         state, health, "sha256:i", "nginx:1", "", 0, 0)


class LookedWatcher(Watcher):
    """A Watcher whose live look is made by hand: vm1 runs web-1 (healthy) and web-2 (unhealthy), vm2 worker-1
    (exited); vm1's HAProxy has web-1 up and web-2 down."""

    async def _live(self) -> Live:
        seen = ClusterObservation(hosts={
            "vm1": HostObservation("vm1", (_container(1, health="healthy"), _container(2, health="unhealthy"))),
            "vm2": HostObservation("vm2", (_container(1, "worker", state="exited"),))})
        servers = [ServerStat("web", "web-1", "UP", 3, 0, 120, 1, "L7OK", "10.0.0.1:20001", 7, 118),
                   ServerStat("web", "web-2", "DOWN 1/2", 0, 0, 40, 1, "L7STS", "10.0.0.1:20002", 0, None)]
        return Live(seen, {}, {"vm1": servers})


def _usage(host: str, when: float, cpu: float | None) -> HostUsage:
    return HostUsage(host, when, 60.0, cpu, 2, (0.5, 0.25, 0.125), 1 << 30, 4 << 30, 10 << 30, 40 << 30, ())


async def _fill(store: MemoryStore, inventory) -> None:
    ns = "kob/" + inventory.path.stem
    book = RevisionBook(store, ns)
    for name in ("web", "worker"):
        await book.record(inventory.service(name), spec_hash(inventory.service(name)), "deploy")
    await book.set_scale("web", 3, 2)
    await store.put(f"{ns}/services/worker/autoscale", json.dumps(
        {"recommendations": [], "last": {"time": NOW - 10, "current": 1, "desired": 2, "changed": True,
                                         "reason": "cpu 90% of 50% target on 1 replica: 2"}}).encode())
    await store.put(f"{ns}/cron/last", json.dumps(PASS).encode())
    jobs = JobBook(store, ns)
    done = await jobs.submit(Job(0, "report", "busybox:1", ("true",), NOW - 60, "me@here"))
    await jobs.save(ended(started(done, "vm1", "kob-job-1-1", NOW - 50), "succeeded", NOW - 40, exit_code=0))
    for _ in range(2):
        await jobs.submit(Job(0, "later", "busybox:1", ("true",), NOW, "me@here"))
    metrics = MetricsBook(store, ns, 3600)
    counters = HostCounters(100.0, 10, 100, 2, (0.5, 0.25, 0.125), 4 << 30, 3 << 30, 40 << 30, 10 << 30, ())
    for minute, cpu in enumerate((10.0, 30.0, 45.5)):
        await metrics.record(_usage("vm1", NOW - 300 + 60 * minute, cpu), counters, None)
    await metrics.record(_usage("vm2", NOW - 100, None), counters, None)  # a first sample: no CPU rate yet


@pytest.fixture
def scrape(tmp_path, monkeypatch):
    """``scrape(headers={})``: (status, {(name, labels as a sorted tuple): value}) of one GET /metrics."""
    import asyncio
    monkeypatch.chdir(tmp_path)
    (tmp_path / "shop.yaml").write_text(INVENTORY)
    inventory, store = load_inventory("shop.yaml"), MemoryStore()
    asyncio.run(_fill(store, inventory))
    app = create_app(store, inventory, site=Site(LookedWatcher(inventory, store)), token="t0ken-42")
    client = app.test_client()

    def get(headers=None):
        response = client.get("/metrics", headers={"Authorization": "Bearer t0ken-42"} if headers is None else headers)
        return response, parsed(response.get_data(as_text=True)) if response.status_code == 200 else {}

    yield get
    site_of(app).close()


def parsed(text: str) -> dict[tuple[str, tuple], float]:
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def test_the_scrape_is_prometheus_text_with_kob_families(scrape):
    response, values = scrape()
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/plain; version=")
    assert all(name.startswith("kob_") for name, _ in values)


@pytest.mark.parametrize("name, labels, expected", [
    ("kob_host_up", {"host": "vm1"}, 1.0),  # in the live look
    ("kob_host_up", {"host": "vm2"}, 1.0),
    ("kob_host_sample_timestamp_seconds", {"host": "vm1"}, NOW - 180),  # the newest of three samples
    ("kob_host_cpu_usage_ratio", {"host": "vm1"}, 0.455),
    ("kob_host_cpus", {"host": "vm1"}, 2),
    ("kob_host_load5", {"host": "vm1"}, 0.25),
    ("kob_host_memory_used_bytes", {"host": "vm1"}, 1 << 30),
    ("kob_host_memory_capacity_bytes", {"host": "vm1"}, 4 << 30),
    ("kob_host_disk_used_bytes", {"host": "vm2"}, 10 << 30),
    ("kob_host_disk_capacity_bytes", {"host": "vm2"}, 40 << 30),
    ("kob_service_desired_replicas", {"service": "web"}, 3),  # kob scale's count, not the inventory's 2
    ("kob_service_running_replicas", {"service": "web"}, 2),
    ("kob_service_healthy_replicas", {"service": "web"}, 1),
    ("kob_service_running_replicas", {"service": "worker"}, 0),
    ("kob_service_revision", {"service": "worker"}, 1),
    ("kob_service_autoscale_last_desired_replicas", {"service": "worker"}, 2),
    ("kob_service_autoscale_last_current_replicas", {"service": "worker"}, 1),
    ("kob_service_autoscale_last_decision_timestamp_seconds", {"service": "worker"}, NOW - 10),
    ("kob_service_autoscale_last_direction", {"service": "worker", "direction": "up"}, 1),
    ("kob_service_autoscale_last_direction", {"service": "worker", "direction": "hold"}, 0),
    ("kob_haproxy_stats_up", {"lb": "vm1"}, 1),
    ("kob_haproxy_server_up", {"lb": "vm1", "backend": "web", "server": "web-1"}, 1),
    ("kob_haproxy_server_up", {"lb": "vm1", "backend": "web", "server": "web-2"}, 0),
    ("kob_haproxy_server_state", {"lb": "vm1", "backend": "web", "server": "web-2", "state": "down"}, 1),
    ("kob_haproxy_server_state", {"lb": "vm1", "backend": "web", "server": "web-2", "state": "up"}, 0),
    ("kob_haproxy_server_current_sessions", {"lb": "vm1", "backend": "web", "server": "web-1"}, 3),
    ("kob_haproxy_server_sessions_total", {"lb": "vm1", "backend": "web", "server": "web-1"}, 120),
    ("kob_haproxy_server_current_session_rate", {"lb": "vm1", "backend": "web", "server": "web-1"}, 7),
    ("kob_haproxy_server_http_requests_total", {"lb": "vm1", "backend": "web", "server": "web-1"}, 118),
    ("kob_jobs", {"state": "queued"}, 2),
    ("kob_jobs", {"state": "succeeded"}, 1),
    ("kob_jobs", {"state": "running"}, 0),
    ("kob_pass_last_timestamp_seconds", {}, NOW - 30),
    ("kob_pass_last_outcome", {"outcome": "ok"}, 1),
    ("kob_pass_last_outcome", {"outcome": "failed"}, 0),
    ("kob_pass_last_duration_seconds", {"pass": "reconcile"}, 1.5),
    ("kob_pass_last_duration_seconds", {"pass": "sample"}, 0.25),
    ("kob_pass_last_duration_seconds", {"pass": "jobs"}, 0.0625),
    ("kob_page_stale", {}, 0),
])
def test_values(scrape, name, labels, expected):
    _, values = scrape()
    assert values[(name, tuple(sorted(labels.items())))] == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("name, labels", [
    ("kob_host_cpu_usage_ratio", {"host": "vm2"}),  # its only sample has no rate yet
    ("kob_haproxy_server_http_requests_total", {"lb": "vm1", "backend": "web", "server": "web-2"}),  # TCP: none
    ("kob_service_autoscale_last_desired_replicas", {"service": "web"}),  # not autoscaled
    ("kob_serve_leader", {}),  # kob web, not kob serve
])
def test_what_is_not_known_is_left_out(scrape, name, labels):
    _, values = scrape()
    assert (name, tuple(sorted(labels.items()))) not in values


def test_a_state_set_has_exactly_one_state_per_server(scrape):
    _, values = scrape()
    for server in ("web-1", "web-2"):
        states = {dict(labels)["state"]: v for (name, labels), v in values.items()
                  if name == "kob_haproxy_server_state" and dict(labels)["server"] == server}
        assert sum(states.values()) == 1 and len(states) == 7


def test_no_free_text_becomes_a_label(scrape):
    response, _ = scrape()
    assert "cpu 90%" not in response.get_data(as_text=True)


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer wrong"}, {"Authorization": "t0ken-42"},
                                     {"Cookie": "kob_token=wrong"}])
def test_a_scrape_without_the_token_is_refused_as_the_api_is(scrape, headers):
    response, _ = scrape(headers)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert "t0ken-42" not in response.get_data(as_text=True)


@pytest.mark.parametrize("status, expected", [("UP", "up"), ("UP 1/2", "up"), ("DOWN 1/2", "down"), ("MAINT", "maint"),
                                              ("DRAIN", "drain"), ("no check", "no_check"), ("NOLB", "nolb"),
                                              ("MAINT (via web/web-1)", "maint"), ("weird", "other")])
def test_server_state(status, expected):
    assert server_state(status) == expected


def test_two_apps_in_one_process_each_show_their_own_inventory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    apps = []
    for name, service in (("one", "alpha"), ("two", "beta")):
        (tmp_path / f"{name}.yaml").write_text(f"hosts:\n  vm1: {{address: 10.0.0.1}}\nservices:\n"
                                               f"  {service}: {{image: busybox:1, replicas: 2}}\n")
        apps.append(create_app(MemoryStore(), load_inventory(f"{name}.yaml")))
    try:
        services = [{dict(labels)["service"] for (metric, labels) in parsed(app.test_client().get("/metrics").get_data(
            as_text=True)) if metric == "kob_service_desired_replicas"} for app in apps]
        assert services == [{"alpha"}, {"beta"}]
    finally:
        for app in apps:
            site_of(app).close()


class AwayStore(MemoryStore):
    async def list(self, prefix: str):
        raise StoreError("etcd at a:2379 does not answer")


def test_a_store_that_does_not_answer_is_a_503_in_one_line(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "shop.yaml").write_text(INVENTORY)
    app = create_app(AwayStore(), load_inventory("shop.yaml"))
    try:
        response = app.test_client().get("/metrics")
        assert response.status_code == 503
        assert response.get_data(as_text=True).count("\n") == 1 and "does not answer" in response.get_data(as_text=True)
    finally:
        site_of(app).close()
