"""The status page in headless Chromium, over a real `kob web` (waitress) watching the lab.

The service is "shop" behind frontend 8082, so nothing here is mistaken for the other tests' services.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.helpers.lab_services import kob
from tests.helpers.page_process import PageProcess

SECRET = "hunter2-Browser-Secret"
SHOP = """
services:
  shop:
    image: kob-demo/web:1
    replicas: {replicas}
    port: 80
    env_file: shop.env
    healthcheck: {{http: /healthz, interval: 500ms, timeout: 1s, retries: 2}}
    update: {{monitor: 0s}}
lb:
  frontends:
    http: {{bind: 8082, default: shop}}
"""
HOSTS = ["vm1", "vm2", "vm3"]
WAIT = 30_000  # ms


def write(path: Path, lab, replicas: int) -> None:
    (path.parent / "shop.env").write_text(f"SHOP_PASSWORD={SECRET}\n")
    path.write_text(lab.layout.inventory.read_text() + SHOP.format(replicas=replicas))


def ok(*args: str) -> str:
    done = kob(*args)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


@pytest.fixture(scope="module")
def inventory(lab, tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("browser") / "browser.yaml"
    write(path, lab, replicas=2)
    ok("deploy", str(path), "--wait", "30")
    yield path
    write(path, lab, replicas=0)
    kob("deploy", str(path), "--wait", "30")
    kob("down", str(path), "--wait", "30")


@pytest.fixture(scope="module")
def page_server(inventory):
    server = PageProcess("web", inventory, "--refresh", "1", log=inventory.parent / "web.log")
    try:
        server.wait_ready()
        yield server
    finally:
        assert server.stop() == 0, server.output()


def shop(page, cell: str):
    """A cell of the shop service's row: desired, running or healthy."""
    return page.locator(f"tr[data-service=shop] td.{cell}")


def expect_counts(page, count: int) -> None:
    """The shop row shows ``count`` desired, running and healthy (the page refreshes itself: waited for)."""
    for cell in ("desired", "running", "healthy"):
        expect(shop(page, cell)).to_have_text(str(count), timeout=WAIT)


def test_overview_lists_every_host_and_service_with_its_replica_counts(browser, page_server, artifacts):
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(page_server.url)
    expect_counts(page, 2)
    for host in HOSTS:
        row = page.locator(f"tr[data-host={host}]")
        expect(row.locator(".host-state")).to_have_text("up", timeout=WAIT)
        expect(row.locator("meter")).to_have_count(3, timeout=WAIT)  # CPU, memory, disk
    servers = page.locator("table.servers tbody tr")
    expect(servers).to_have_count(2, timeout=WAIT)  # HAProxy's two shop servers
    expect(servers.filter(has=page.locator(".state-up"))).to_have_count(2, timeout=WAIT)  # once checked healthy
    assert SECRET not in page.content()
    page.screenshot(path=artifacts / "overview.png", full_page=True)
    page.close()


def test_after_kob_scale_the_page_shows_the_new_count_without_a_reload(browser, page_server, inventory, artifacts):
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(page_server.url)
    expect(shop(page, "desired")).to_have_text("2", timeout=WAIT)
    page.evaluate("window.kobNotReloaded = true")
    try:
        ok("scale", str(inventory), "shop=3", "--wait", "30")
        expect_counts(page, 3)
        expect(page.locator("#events")).to_contain_text("scaled to 3", timeout=WAIT)
        assert page.evaluate("window.kobNotReloaded") is True  # the same document: updated in place
        page.screenshot(path=artifacts / "overview-after-scale.png", full_page=True)
    finally:
        ok("scale", str(inventory), "shop=2", "--wait", "30")
        page.close()


def test_service_page_shows_replicas_revisions_and_a_cpu_chart(browser, page_server, artifacts):
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(page_server.url)
    page.click("tr[data-service=shop] a")
    page.wait_for_url("**/services/shop")
    rows = page.locator("table.replicas tbody tr")
    assert rows.count() >= 2
    assert all(text.split("\t")[2].isdigit() for text in rows.all_inner_texts())  # each replica's host port
    assert page.locator("table.revisions tbody tr").count() >= 1
    assert page.locator("svg.chart").count() == 1
    page.screenshot(path=artifacts / "service.png", full_page=True)
    page.click("table.replicas a")  # the first replica's host
    page.wait_for_url("**/hosts/vm*")
    assert page.locator("svg.chart").count() == 2  # CPU and memory
    assert SECRET not in page.content()
    page.close()


def test_without_javascript_the_page_is_complete(browser, page_server):
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    page.goto(page_server.url)
    assert sorted(page.locator("tr[data-host]").evaluate_all("rows => rows.map(r => r.dataset.host)")) == HOSTS
    assert page.locator("tr[data-service=shop] td.desired").inner_text() == "2"
    context.close()


def test_a_page_bound_beyond_localhost_wants_its_token(browser, inventory):
    refused = kob("web", str(inventory), "--bind", "0.0.0.0:8765", env={"KOB_WEB_TOKEN": ""})
    assert refused.returncode == 1 and "needs a token" in refused.stderr and "Traceback" not in refused.stderr
    server = PageProcess("web", inventory, log=inventory.parent / "token.log", bind_host="0.0.0.0",
                         token="tok-3141")
    try:
        server.wait_ready()
        page = browser.new_page()
        assert page.goto(server.url).status == 401
        assert page.goto(server.url + "?token=tok-3141").status == 200
        assert page.url == server.url  # the token left the address bar; a cookie carries it
        assert page.locator("tr[data-service=shop]").count() == 1
        page.close()
    finally:
        assert server.stop() == 0, server.output()
    assert "tok-3141" not in server.output()


def test_a_job_shows_in_the_jobs_table_and_its_page_shows_its_log(browser, page_server, inventory, artifacts):
    queued = ok("job", "submit", str(inventory), "--image", "kob-demo/web:1", "--name", "hello", "--",
                "sh", "-c", "echo hello from the job")
    job_id = queued.split()[1]
    ok("job", "dispatch", str(inventory), "--until-done", "--every", "0.5")
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(page_server.url)
    row = page.locator(f"tr[data-job='{job_id}']")
    expect(row.locator(".job-state")).to_have_text("succeeded", timeout=WAIT)
    row.locator("a").click()
    page.wait_for_url(f"**/jobs/{job_id}")
    assert page.locator("pre.log").inner_text() == "hello from the job\n"
    page.screenshot(path=artifacts / "job.png", full_page=True)
    page.close()
