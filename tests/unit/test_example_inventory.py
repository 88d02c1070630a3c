"""The top-level inventory.yaml (what `make demo` deploys) loads, with its service behind HAProxy."""

from __future__ import annotations

from pathlib import Path

from kob.spec.inventory import load_inventory

EXAMPLE = Path(__file__).resolve().parents[2] / "inventory.yaml"


def test_the_example_inventory_loads(tmp_path):
    for name in ("id_ed25519", "known_hosts"):
        (tmp_path / name).write_text("")
    copy = tmp_path / "inventory.yaml"
    copy.write_text(EXAMPLE.read_text().replace("/var/lib/kob-lab/", f"{tmp_path}/"))
    inventory = load_inventory(copy)
    assert [h.name for h in inventory.hosts] == ["vm1", "vm2", "vm3"]
    web = inventory.service("web")
    assert (web.image, web.replicas, web.port, web.healthcheck.http_path) == ("kob-demo/web:1", 4, 80, "/healthz")
    (frontend,) = inventory.lb.frontends
    assert (frontend.bind, frontend.default_service) == (80, "web")


def test_the_example_inventory_has_a_job_template(tmp_path):
    for name in ("id_ed25519", "known_hosts"):
        (tmp_path / name).write_text("")
    copy = tmp_path / "inventory.yaml"
    copy.write_text(EXAMPLE.read_text().replace("/var/lib/kob-lab/", f"{tmp_path}/"))
    hello = load_inventory(copy).job("hello")
    assert (hello.image, hello.cpus, hello.retries, hello.command[:2]) == ("kob-demo/web:1", 1.0, 1, ("sh", "-c"))
