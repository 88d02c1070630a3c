"""Certificate expiry in `kob status` and on the page (pure): dates, the 14-day warning, which lb hosts serve it."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from kob.deploy.cert_status import certificate_statuses, render_certificates
from kob.deploy.observe import ClusterObservation
from kob.facts.containers import HaproxyFact, HostObservation
from kob.spec.inventory_model import Host, Inventory
from kob.spec.service_model import Frontend, LoadBalancer, Service
from kob.spec.tls_model import FrontendTls
from kob.view.overview import Live, StoreRecords, assemble
from tests.helpers.certs import bundle, checked_bundle, issue, make_ca

CA = make_ca()



def inventory(days: float) -> Inventory:
    cert = checked_bundle(bundle(issue(CA, "site.test", days=days)), "/srv/site.pem")

    frontends = (Frontend("http", 80, default_service="web"),
                 Frontend("https", 443, default_service="web", tls=FrontendTls(cert, line=7)))
    return Inventory(path=Path("/srv/inv.yaml"), hosts=(Host("vm1", "198.18.0.11", roles=frozenset({"lb"})),),
                     services=(Service("web", "kob-demo/web:1", port=80),), lb=LoadBalancer(frontends=frontends))


def seen(held: str | None) -> ClusterObservation:
    certs = (("https.pem", held),) if held else ()
    return ClusterObservation({"vm1": HostObservation("vm1", (), haproxy=HaproxyFact("d", True, certs=certs))}, {})


@pytest.mark.parametrize("days, warning", [(60, None), (13.5, "expires in 13."), (0.2, "expires in 0."),
                                           (-1, "EXPIRED")])
def test_the_status_warns_under_fourteen_days(days, warning):
    inv = inventory(days)
    (status,) = certificate_statuses(inv, seen(None))
    assert status.frontend == "https" and status.subject == "CN=site.test" and status.file == "/srv/site.pem"
    assert (status.warning or "").startswith(warning or "") and (status.warning is None) == (warning is None)
    assert abs(status.days_left - days) < 0.01
    line = render_certificates([status]).splitlines()[1]
    assert line.startswith("https ") and (f"! {status.warning}" in line) == (warning is not None)


def test_which_lb_hosts_serve_it():
    inv = inventory(60)
    digest = inv.lb.frontends[1].tls.cert.digest
    assert certificate_statuses(inv, seen(digest))[0].hosts == {"vm1": "serving"}
    other = certificate_statuses(inv, seen("0" * 64))[0]
    assert other.hosts == {"vm1": "other"} and "vm1: another certificate" in render_certificates([other])
    assert certificate_statuses(inv, seen(None))[0].hosts == {"vm1": "missing"}
    assert certificate_statuses(inv, None)[0].hosts == {}


def test_no_tls_frontend_no_certificate_lines():
    inv = inventory(60)
    bare = Inventory(path=inv.path, hosts=inv.hosts, services=inv.services,
                     lb=LoadBalancer(frontends=inv.lb.frontends[:1]))
    assert certificate_statuses(bare, seen(None)) == [] and render_certificates([]) == ""


def test_the_page_data_has_the_certificate_and_never_its_pem():
    inv = inventory(10)
    digest = inv.lb.frontends[1].tls.cert.digest
    overview = assemble(inv, StoreRecords(), Live(seen(digest), lb={"vm1": []}), now=time.time())
    (cert,) = overview["certificates"]
    assert cert["frontend"] == "https" and cert["warning"].startswith("expires in ") and cert["hosts"] == {
        "vm1": "serving"}
    assert [f["tls"] for f in overview["lb"][0]["frontends"]] == [False, True]
    assert assemble(inv, StoreRecords(), None, now=time.time())["certificates"][0]["hosts"] == {}
    pem = inv.lb.frontends[1].tls.cert.pem.reveal().decode()
    assert not any(line in repr(overview) for line in pem.splitlines() if "-----" not in line)
