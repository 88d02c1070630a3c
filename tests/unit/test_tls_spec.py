"""lb.frontends.NAME.tls: the PEM read and checked on the manager; errors in one line, never quoting the PEM."""

from __future__ import annotations

import pytest

from kob.errors import SpecError
from kob.spec.inventory import load_inventory
from kob.spec.tls_model import expiry_note
from tests.helpers.certs import bundle, issue, make_ca

CA = make_ca()
LEAF = issue(CA, "site.test", addresses=("198.18.0.11",))
OTHER = issue(CA, "other.test")

INVENTORY = """\
ssh: {{user: root, key: lab/id_ed25519, known_hosts: lab/known_hosts}}
hosts:
  vm1: {{address: 198.18.0.11, roles: [lb]}}
services:
  web: {{image: kob-demo/web:1, port: 80}}
lb:
  frontends:
    http: {{bind: 8000, default: web}}
    https:
      bind: 443
      default: web
      tls: {tls}
"""
TLS_LINE = 12

PEMS = {
    "site.pem": bundle(LEAF, CA),
    "key-first.pem": LEAF.key_pem() + LEAF.cert_pem + CA.cert_pem,
    "blank-lines.pem": LEAF.cert_pem + b"\n\n" + CA.cert_pem + b"\nBag Attributes: junk\n" + LEAF.key_pem(),
    "not-pem.pem": b"hello, I am not a certificate\n",
    "no-cert.pem": LEAF.key_pem(),
    "no-key.pem": LEAF.cert_pem + CA.cert_pem,
    "two-keys.pem": LEAF.cert_pem + LEAF.key_pem() + OTHER.key_pem(),
    "wrong-key.pem": LEAF.cert_pem + OTHER.key_pem(),
    "chain-first.pem": CA.cert_pem + LEAF.cert_pem + LEAF.key_pem(),
    "encrypted.pem": LEAF.cert_pem + LEAF.key_pem(b"secret"),
    "damaged.pem": LEAF.cert_pem.replace(b"M", b"!", 3) + LEAF.key_pem(),
}


@pytest.fixture
def folder(tmp_path, monkeypatch):
    (tmp_path / "lab").mkdir()
    (tmp_path / "lab" / "id_ed25519").write_text("not really a key\n")
    (tmp_path / "lab" / "known_hosts").write_text("")
    (tmp_path / "certs").mkdir()
    for name, data in PEMS.items():
        (tmp_path / "certs" / name).write_bytes(data)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def pem_body_lines() -> set[str]:
    """Every base64 line of the test PEMs: none may reach a message."""
    return {line for data in PEMS.values() for line in data.decode(errors="replace").splitlines()
            if len(line) > 20 and "-----" not in line}


def load(folder, tls: str):
    (folder / "inventory.yaml").write_text(INVENTORY.format(tls=tls))
    return load_inventory("inventory.yaml")


@pytest.mark.parametrize("tls, redirect, http2", [
    ("{cert: certs/site.pem}", None, True),
    ("{cert: certs/site.pem, redirect_http: true}", 80, True),
    ("{cert: certs/site.pem, redirect_http: 8080}", 8080, True),
    ("{cert: certs/site.pem, redirect_http: false, http2: false}", None, False),
])
def test_a_tls_frontend_reads_its_options(folder, tls, redirect, http2):
    https = load(folder, tls).lb.frontends[1]
    assert (https.tls.redirect_http, https.tls.http2) == (redirect, http2)
    assert https.ports() == (443,) + ((redirect,) if redirect else ())
    assert load(folder, "{cert: certs/site.pem}").lb.frontends[0].tls is None


def test_the_certificate_is_described_by_fingerprint_names_and_dates(folder):
    cert = load(folder, "{cert: certs/site.pem}").lb.frontends[1].tls.cert
    assert cert.path == folder / "certs" / "site.pem"
    assert cert.subject == "CN=site.test" and cert.names == ("site.test", "198.18.0.11")
    assert cert.fingerprint == LEAF.cert.fingerprint(__import__("cryptography.hazmat.primitives.hashes",
                                                                fromlist=["SHA256"]).SHA256()).hex(":").upper()
    assert abs(cert.not_after - LEAF.cert.not_valid_after_utc.timestamp()) < 1
    assert 89 < cert.days_left() < 90


@pytest.mark.parametrize("name", ["key-first.pem", "blank-lines.pem"])
def test_what_is_shipped_is_the_chain_then_the_key_without_blank_lines(folder, name):
    shipped = load(folder, f"{{cert: certs/{name}}}").lb.frontends[1].tls.cert.pem.reveal()
    assert shipped.startswith(LEAF.cert_pem) and shipped.endswith(LEAF.key_pem())
    assert b"\n\n" not in shipped and b"Bag Attributes" not in shipped


ERRORS = [
    ("missing", "{cert: certs/nope.pem}", "certificate file", "not found"),
    ("not pem", "{cert: certs/not-pem.pem}", "not-pem.pem is not a PEM file", ""),
    ("no certificate", "{cert: certs/no-cert.pem}", "holds no certificate", ""),
    ("no key", "{cert: certs/no-key.pem}", "holds no private keys", ""),
    ("two keys", "{cert: certs/two-keys.pem}", "holds 2 private keys", ""),
    ("key of another certificate", "{cert: certs/wrong-key.pem}", "the private key does not belong to its "
                                                                  "certificate", ""),
    ("chain first", "{cert: certs/chain-first.pem}", "is not the first one", ""),
    ("encrypted key", "{cert: certs/encrypted.pem}", "the private key is encrypted", ""),
    ("damaged", "{cert: certs/damaged.pem}", "cannot be read", ""),
    ("a folder", "{cert: certs}", "is a directory", ""),
    ("no cert key", "{redirect_http: 80}", "cert", ""),
    ("unknown key", "{cert: certs/site.pem, ciphers: x}", "ciphers", ""),
    ("redirect on a bound port", "{cert: certs/site.pem, redirect_http: 8000}", "port 8000 is already bound by "
                                                                              "frontend http", ""),
    ("redirect on a replica port", "{cert: certs/site.pem, redirect_http: 20001}", "where kob publishes replicas",
     ""),
    ("redirect not a port", "{cert: certs/site.pem, redirect_http: maybe}", "true (port 80) or a port number", ""),
]


@pytest.mark.parametrize("tls, fragment, more", [case[1:] for case in ERRORS], ids=[case[0] for case in ERRORS])
def test_bad_tls_is_one_line_naming_the_file_and_line_and_never_the_pem(folder, tls, fragment, more):
    with pytest.raises(SpecError) as caught:
        load(folder, tls)
    message = str(caught.value)
    assert message.startswith(f"inventory.yaml:{TLS_LINE}: lb/frontends/https/tls"), message
    assert fragment in message and more in message and "\n" not in message
    assert not any(line in message for line in pem_body_lines())


def test_a_redirect_port_in_use_by_another_frontend_is_refused_there(folder):
    text = INVENTORY.format(tls="{cert: certs/site.pem, redirect_http: 8080}") + "    alt: {bind: 8080, default: web}\n"
    (folder / "inventory.yaml").write_text(text)
    with pytest.raises(SpecError, match=r"inventory.yaml:13: lb/frontends/alt/bind: port 8080 is already bound by "
                                        r"frontend https"):
        load_inventory("inventory.yaml")


def test_an_expired_certificate_loads_so_status_can_show_it(folder):
    (folder / "certs" / "old.pem").write_bytes(bundle(issue(CA, "old.test", days=-2, start_days=-30)))
    cert = load(folder, "{cert: certs/old.pem}").lb.frontends[1].tls.cert
    assert cert.days_left() < 0 and expiry_note(cert.not_after) == "EXPIRED"


def test_the_pem_never_shows_in_the_inventory_repr(folder):
    inventory = load(folder, "{cert: certs/site.pem}")
    text = repr(inventory) + str(inventory.lb) + repr(inventory.lb.frontends[1].tls.cert.pem)
    assert "BEGIN" not in text and not any(line in text for line in pem_body_lines()) and "<redacted>" in text


@pytest.mark.parametrize("days, note", [(-0.5, "EXPIRED"), (0.5, "expires in 0.5 days"),
                                        (13.9, "expires in 13.9 days"), (14.1, None), (300, None)])
def test_expiry_warns_under_fourteen_days(days, note):
    assert expiry_note(1_000_000 + days * 86400, now=1_000_000) == note
