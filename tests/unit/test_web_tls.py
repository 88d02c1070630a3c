"""The page over HTTPS: kob.web.tls_server on 127.0.0.1 with certificates made in the test."""

from __future__ import annotations

import socket
import ssl
import threading
import urllib.request

import pytest
from click.testing import CliRunner
from kob.web.tls_server import TlsWsgiServer, tls_context

from kob.cli.main import cli
from tests.helpers.certs import bundle, issue, make_ca
from tests.helpers.free_port import free_port

CA = make_ca()
LEAF = issue(CA, "localhost", addresses=("127.0.0.1",))
OTHER = issue(CA, "other.test")


def app(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [f"{environ['wsgi.url_scheme']} {environ['PATH_INFO']}".encode()]


@pytest.fixture
def served(tmp_path):
    """A TLS server of ``app`` on a free port, and a client context trusting the test CA."""
    (tmp_path / "page.pem").write_bytes(bundle(LEAF, CA))
    (tmp_path / "ca.pem").write_bytes(CA.cert_pem)
    server = TlsWsgiServer("127.0.0.1", free_port(), app, tls_context(str(tmp_path / "page.pem")))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        yield server.server_address[1], ssl.create_default_context(cafile=str(tmp_path / "ca.pem"))
    finally:
        server.shutdown()
        server.close()
        thread.join(timeout=10)


def get(port: int, context: ssl.SSLContext, path: str = "/") -> str:
    with urllib.request.urlopen(f"https://127.0.0.1:{port}{path}", context=context, timeout=10) as reply:
        return reply.read().decode()


def test_the_page_answers_over_https_with_a_secure_scheme(served):
    port, context = served
    assert get(port, context, "/api/v1/overview") == "https /api/v1/overview"


def test_a_silent_client_does_not_hold_up_the_others(served):
    port, context = served
    with socket.create_connection(("127.0.0.1", port)):  # connects, never says a word
        assert [get(port, context, f"/{n}") for n in range(3)] == ["https /0", "https /1", "https /2"]


def test_plain_http_on_the_https_port_gets_no_page(served):
    port, context = served
    with pytest.raises(OSError):
        urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=10).read()
    assert get(port, context) == "https /"  # and the server still serves


@pytest.mark.parametrize("content, fragment", [
    (None, "no such file"),
    (b"not a certificate\n", "give one PEM file holding the certificate"),
    (LEAF.cert_pem + OTHER.key_pem(), "key values mismatch"),
    (LEAF.cert_pem + LEAF.key_pem(b"pw"), "give one PEM file"),
])
def test_a_bad_tls_cert_is_refused_in_one_line_before_anything_starts(tmp_path, content, fragment):
    pem = tmp_path / "page.pem"
    if content is not None:
        pem.write_bytes(content)
    done = CliRunner().invoke(cli, ["web", str(tmp_path / "none.yaml"), "--tls-cert", str(pem)])
    assert done.exit_code == 1
    (line,) = done.output.strip().splitlines()
    assert line.startswith(f"kob: error: --tls-cert {pem}: ") and fragment in line, line
    assert "PRIVATE" not in line and "none.yaml" not in line
