"""The status page's API and pages through Flask's test client, on a memory store filled by kob's own books."""

from __future__ import annotations

import json
import time

import pytest

from kob.deploy.events import EventLog
from kob.errors import StoreError
from kob.jobs.book import JobBook
from kob.jobs.model import Job, ended, started
from kob.deploy.revisions import RevisionBook
from kob.deploy.host_health import HostHealthBook
from kob.deploy.observe import ClusterObservation
from kob.facts.containers import HostObservation
from kob.facts.samples import ContainerCounters, HostCounters
from kob.metrics.history import MetricsBook
from kob.metrics.rates import ContainerUsage, HostUsage
from kob.plan.spec_hash import spec_hash
from kob.store.memory import MemoryStore

SECRET = "s3cr3t-Value-9f2"
INVENTORY = f"""\
ssh: {{user: root}}
hosts:
  vm1: {{address: 10.0.0.1, roles: [lb], labels: {{zone: a}}}}
  vm2: {{address: 10.0.0.2}}
services:
  web:
    image: nginx:1
    replicas: 2
    port: 80
    env: {{API_KEY: {SECRET}}}
    env_file: web.env
  worker:
    image: busybox:1
    replicas: 1
    autoscale: {{min: 1, max: 4, cpu: 50}}
lb:
  frontends:
    http: {{bind: 80, default: web}}
"""


def _usage(host: str, when: float, web_cpu: float) -> HostUsage:
    web = ContainerUsage("c-" + host, "web", 1 if host == "vm1" else 2, "running", 0, web_cpu, 20 << 20, None)
    return HostUsage(host, when, 60.0, 25.0, 2, (0.5, 0.4, 0.3), 1 << 30, 4 << 30, 10 << 30, 40 << 30, (web,))


def _counters() -> HostCounters:
    return HostCounters(100.0, 10, 100, 2, (0.5, 0.4, 0.3), 4 << 30, 3 << 30, 40 << 30, 10 << 30,
                        (ContainerCounters("c", "web", 1, "running", 0, 10, 1, None),))


async def _fill(store: MemoryStore, inventory) -> None:
    ns = "kob/" + inventory.path.stem
    book = RevisionBook(store, ns)
    web = inventory.service("web")
    await book.record(web, spec_hash(web), "deploy")
    await book.set_scale("web", 3, 2)
    events = EventLog(store, ns)
    await events.add("deploy", "web: created 2", service="web")
    await events.add("scale", "web: scaled to 3", service="web")
    await store.append_event("deploy", "another inventory's event", {"ns": "kob/other"})
    await store.put(f"{ns}/services/worker/autoscale", json.dumps(
        {"recommendations": [], "last": {"time": 1000.0, "current": 1, "desired": 2, "changed": True,
                                         "reason": "cpu 90% of 50% target on 1 replica: 2"}}).encode())
    seen = ClusterObservation(hosts={"vm1": HostObservation("vm1", ())}, unreachable={"vm2": "vm2: no route"})
    await HostHealthBook(store, ns).update(seen, 60, 50.0)
    jobs = JobBook(store, ns)
    done = await jobs.submit(Job(0, "report", "busybox:1", ("sh", "-c", "echo hi"), time.time() - 60, "me@here"))
    done = ended(started(done, "vm1", "kob-job-1-1", time.time() - 50), "succeeded", time.time() - 40, exit_code=0,
                 reason="exit 0")
    await jobs.save(done)
    await jobs.keep_log(done.id, 1, "hi <b>there</b>\n")
    await jobs.submit(Job(0, "later", "busybox:1", ("true",), time.time(), "me@here", priority=5))
    metrics = MetricsBook(store, ns, 3600)
    for host in ("vm1", "vm2"):
        for minute in range(3):
            await metrics.record(_usage(host, time.time() - 300 + 60 * minute, 10.0 * (minute + 1)), _counters(), None)


ENV_FILE = {"web.env": f"DB_PASSWORD={SECRET}\n"}


@pytest.fixture
def client(make_client):
    return make_client(INVENTORY, files=ENV_FILE, fill=_fill)


def test_overview_lists_hosts_services_and_this_inventorys_events(client):
    data = client.get("/api/v1/overview").get_json()
    assert data["inventory"] == "shop" and data["observed"] is False
    assert [(h["name"], h["state"]) for h in data["hosts"]] == [("vm1", "up"), ("vm2", "unanswered")]
    vm1 = data["hosts"][0]
    assert vm1["usage"]["cpu"] == 25.0 and vm1["usage"]["mem_total"] == 4 << 30 and vm1["roles"] == ["lb"]
    services = {s["name"]: s for s in data["services"]}
    assert (services["web"]["revision"], services["web"]["desired"]) == (1, 3)
    assert (services["worker"]["revision"], services["worker"]["deployed"]) == (None, False)
    assert services["worker"]["autoscale"]["last"]["reason"] == "cpu 90% of 50% target on 1 replica: 2"
    assert [e["message"] for e in data["events"]] == ["web: scaled to 3", "web: created 2"]


@pytest.mark.parametrize("path, look, expected", [
    ("/api/v1/hosts", lambda d: [h["name"] for h in d], ["vm1", "vm2"]),
    ("/api/v1/services", lambda d: [s["name"] for s in d], ["web", "worker"]),
    ("/api/v1/events", lambda d: [e["kind"] for e in d], ["scale", "deploy"]),
    ("/api/v1/lb", lambda d: d, []),  # no live look: no HAProxy state
    ("/api/v1/services/web", lambda d: [r["image"] for r in d["revisions"]], ["nginx:1"]),
    ("/api/v1/services/web", lambda d: [round(v) for _, v in d["cpu_series"]], [20, 40, 60]),
    ("/api/v1/hosts/vm1", lambda d: [round(v) for _, v in d["memory_series"]], [25, 25, 25]),
    ("/api/v1/hosts/vm1", lambda d: [(c["service"], c["replica"]) for c in d["container_rows"]], [("web", 1)]),
    ("/healthz", lambda d: d["status"], "ok"),
    ("/api/v1/jobs", lambda d: [(j["id"], j["state"], j["host"]) for j in d], [(2, "queued", None),
                                                                               (1, "succeeded", "vm1")]),
    ("/api/v1/jobs/1", lambda d: (d["exit_code"], d["logs"]), (0, {"1": "hi <b>there</b>\n"})),
])
def test_api_parts(client, path, look, expected):
    response = client.get(path)
    assert response.status_code == 200
    assert look(response.get_json()) == expected


@pytest.mark.parametrize("path", ["/api/v1/services/nope", "/api/v1/hosts/nope", "/api/v1/nope", "/services/nope",
                                  "/hosts/nope", "/nope", "/jobs/99", "/api/v1/jobs/99"])
def test_unknown_names_are_404(client, path):
    response = client.get(path)
    assert response.status_code == 404
    assert path.rsplit("/", 1)[1] in response.get_data(as_text=True)


@pytest.mark.parametrize("path", ["/", "/services/web", "/services/worker", "/hosts/vm1", "/hosts/vm2",
                                  "/api/v1/overview", "/api/v1/services/web", "/api/v1/hosts/vm1"])
def test_no_page_shows_env_values_or_env_files(client, path):
    text = client.get(path).get_data(as_text=True)
    assert client.get(path).status_code == 200
    assert SECRET not in text and "API_KEY" not in text and "web.env" not in text


def test_pages_render_the_tables_and_a_chart(client):
    overview = client.get("/").get_data(as_text=True)
    assert '<tr data-host="vm2">' in overview and '<tr data-service="web">' in overview
    assert '<td class="desired">3</td>' in overview
    assert "kob.js" in overview
    service = client.get("/services/web").get_data(as_text=True)
    assert "<svg" in service and "<polyline" in service


def test_a_partial_request_gets_only_the_main_part(client):
    response = client.get("/", headers={"X-Kob-Partial": "1"})
    text = response.get_data(as_text=True)
    assert '<tr data-service="web">' in text and "<html" not in text and "<script" not in text


def test_pages_send_security_headers(client):
    headers = client.get("/").headers
    assert "script-src" not in headers["Content-Security-Policy"]  # default-src 'self': no inline script
    assert headers["Content-Security-Policy"].startswith("default-src 'self'")
    assert headers["X-Content-Type-Options"] == "nosniff"


def test_the_page_is_read_only(client):
    for method in (client.post, client.put, client.delete):
        assert method("/api/v1/services/web").status_code == 405


@pytest.fixture
def guarded(make_client):
    return make_client(INVENTORY, files=ENV_FILE, token="t0ken-42")


@pytest.mark.parametrize("path", ["/", "/healthz", "/api/v1/overview", "/services/web", "/static/kob.css"])
@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer wrong"}, {"Authorization": "t0ken-42"},
                                     {"Cookie": "kob_token=wrong"}])
def test_without_the_token_every_request_is_refused(guarded, path, headers):
    response = guarded.get(path, headers=headers)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert "t0ken-42" not in response.get_data(as_text=True)


def test_the_token_as_bearer_header(guarded):
    assert guarded.get("/api/v1/overview", headers={"Authorization": "Bearer t0ken-42"}).status_code == 200


def test_a_browser_opens_the_token_link_once_then_uses_a_cookie(guarded):
    response = guarded.get("/services/web?token=t0ken-42&x=1")
    assert response.status_code == 303 and response.headers["Location"] == "/services/web?x=1"
    cookie = response.headers["Set-Cookie"]
    assert "kob_token=t0ken-42" in cookie and "HttpOnly" in cookie and "SameSite=Strict" in cookie
    assert guarded.get("/services/web").status_code == 200  # the test client keeps the cookie
    assert guarded.get("/?token=wrong").status_code == 200  # a wrong token= does not drop the good cookie


class BrokenStore(MemoryStore):
    async def list(self, prefix):
        raise StoreError("etcd at 10.9.9.9:2379: cannot reach it")


@pytest.mark.parametrize("path, kind", [("/api/v1/overview", "application/json"), ("/", "text/html"),
                                        ("/services/web", "text/html")])
def test_an_unreachable_store_is_a_503_saying_why(make_client, path, kind):
    response = make_client(INVENTORY, BrokenStore(), files=ENV_FILE).get(path)
    assert response.status_code == 503 and response.content_type.startswith(kind)
    assert "cannot reach it" in response.get_data(as_text=True)


def test_the_jobs_table_and_a_job_page_with_its_escaped_log(client):
    overview = client.get("/").get_data(as_text=True)
    assert '<tr data-job="1">' in overview and '<tr data-job="2">' in overview
    page = client.get("/jobs/1").get_data(as_text=True)
    assert '<pre class="log">hi &lt;b&gt;there&lt;/b&gt;' in page and "<b>there" not in page
    assert "Not started yet." in client.get("/jobs/2").get_data(as_text=True)
