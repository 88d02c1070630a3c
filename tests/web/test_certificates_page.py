"""The page shows each TLS frontend's certificate: not-after, days left, a warning under 14 days; never its PEM."""

from __future__ import annotations

import pytest

from tests.helpers.certs import bundle, issue, make_ca

CA = make_ca()
SOON = issue(CA, "soon.test", days=5)
LATER = issue(CA, "later.test", days=200)
INVENTORY = """\
hosts:
  vm1: {{address: 198.18.0.11, roles: [lb]}}
services:
  web: {{image: kob-demo/web:1, port: 80}}
lb:
  frontends:
    https: {{bind: 443, default: web, tls: {{cert: {cert}}}}}
"""


@pytest.mark.parametrize("leaf, warned", [(SOON, True), (LATER, False)])
def test_the_page_and_api_show_the_certificate_dates(make_client, leaf, warned):
    pem = bundle(leaf, CA).decode()
    client = make_client(INVENTORY.format(cert="site.pem"), files={"site.pem": pem})
    (cert,) = client.get("/api/v1/overview").get_json()["certificates"]
    assert cert["frontend"] == "https" and cert["subject"] == f"CN={leaf.cert.subject.rfc4514_string()[3:]}"
    assert (cert["warning"] is not None) == warned
    html = client.get("/").get_data(as_text=True)
    row = html[html.index('<tr data-certificate="https"'):]
    row = row[:row.index("</tr>")]
    assert (' class="warning"' in row) == warned and ("expires in 4." in row or "expires in 5.0" in row) == warned
    secret = [line for line in pem.splitlines() if "-----" not in line]
    for path in ("/", "/api/v1/overview", "/services/web"):
        body = client.get(path).get_data(as_text=True)
        assert not any(line in body for line in secret), path
