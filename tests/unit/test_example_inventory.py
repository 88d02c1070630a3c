"""The top-level inventory.yaml (what `make demo` deploys) loads, with its service behind HAProxy."""

from __future__ import annotations

from pathlib import Path

from kob.spec.inventory import load_inventory
from tests.helpers.certs import issue, make_ca

EXAMPLE = Path(__file__).resolve().parents[2] / "inventory.yaml"


def lab_files(tmp_path: Path) -> None:
    """What `kob lab up` writes and the example names: the client key, known_hosts, the demo certificate."""
    for name in ("id_ed25519", "known_hosts"):
        (tmp_path / name).write_text("")
    demo = issue(make_ca("self"), "kob lab demo", addresses=("198.18.0.11",))
    (tmp_path / "demo-tls.pem").write_bytes(demo.cert_pem + demo.key_pem())


def test_the_example_inventory_loads(tmp_path):
    lab_files(tmp_path)
    copy = tmp_path / "inventory.yaml"
    copy.write_text(EXAMPLE.read_text().replace("/var/lib/kob-lab/", f"{tmp_path}/"))
    inventory = load_inventory(copy)
    assert [h.name for h in inventory.hosts] == ["vm1", "vm2", "vm3"]
    web = inventory.service("web")
    assert (web.image, web.replicas, web.port, web.healthcheck.http_path) == ("kob-demo/web:1", 4, 80, "/healthz")
    http, https = inventory.lb.frontends
    assert (http.bind, http.default_service, http.tls) == (80, "web", None)
    assert (https.bind, https.default_service, https.tls.http2) == (443, "web", True)
    assert https.tls.cert.path == tmp_path / "demo-tls.pem" and "198.18.0.11" in https.tls.cert.names


def test_the_example_inventory_has_a_job_template(tmp_path):
    lab_files(tmp_path)
    copy = tmp_path / "inventory.yaml"
    copy.write_text(EXAMPLE.read_text().replace("/var/lib/kob-lab/", f"{tmp_path}/"))
    hello = load_inventory(copy).job("hello")
    assert (hello.image, hello.cpus, hello.retries, hello.command[:2]) == ("kob-demo/web:1", 1.0, 1, ("sh", "-c"))
