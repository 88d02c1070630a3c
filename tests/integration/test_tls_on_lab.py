"""TLS at the load balancer on the lab: certificates made with openssl here, HAProxy on vm1 terminating HTTPS.

HTTP/1.1 and HTTP/2 (ALPN) through curl --cacert, the redirect from plain HTTP, a rotation under a load loop
with no failed request, a wrong key refused before anything is shipped, the key file's mode on the host, and
the PEM in neither the store nor any output.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import socket
import sqlite3
import ssl
import subprocess
import threading
import time
import urllib.request
from pathlib import Path

import pytest

from tests.helpers.lab_services import kob

pytestmark = pytest.mark.lab
WAIT = "30"
LOAD_SECONDS = 120  # a bound: the load stops 2 s after the deploy ends
LOAD_THREADS = 4
SERVICES = """\
services:
  web:
    image: kob-demo/web:1
    replicas: 2
    port: 80
    healthcheck: {http: /healthz, interval: 2s, timeout: 5s, retries: 5}   # slack for a busy machine
lb:
  frontends:
    https:
      bind: 443
      default: web
      tls: {cert: site.pem, redirect_http: true}
"""


def openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True, timeout=60)


def server_cert(folder: Path, name: str, address: str, days: int) -> Path:
    """A key and a certificate for ``address`` signed by the folder's CA; the PEM kob takes (cert, CA, key)."""
    (folder / f"{name}.ext").write_text(f"subjectAltName=IP:{address}\n")
    openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", f"{name}.key",
            "-out", f"{name}.csr", "-subj", f"/CN={name}", cwd=folder)
    openssl("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial",
            "-out", f"{name}.crt", "-days", str(days), "-extfile", f"{name}.ext", cwd=folder)
    pem = folder / f"{name}.pem"
    pem.write_bytes((folder / f"{name}.crt").read_bytes() + (folder / "ca.crt").read_bytes()
                    + (folder / f"{name}.key").read_bytes())
    return pem


@pytest.fixture(scope="module")
def pki(tmp_path_factory, lab) -> Path:
    folder = tmp_path_factory.mktemp("pki")
    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", "ca.key",
            "-out", "ca.crt", "-days", "30", "-subj", "/CN=kob lab test CA", cwd=folder)
    address = lab.layout.vm(1).address
    server_cert(folder, "first", address, 60)
    server_cert(folder, "second", address, 10)  # under 14 days: status warns
    (folder / "wrong.pem").write_bytes((folder / "first.crt").read_bytes() + (folder / "second.key").read_bytes())
    return folder


@pytest.fixture(scope="module")
def inventory(lab, pki, tmp_path_factory):
    """tls.yaml with a SQLite store beside it (readable by the test), serving first.pem."""
    folder = tmp_path_factory.mktemp("tls")
    lab_lines = [line for line in lab.layout.inventory.read_text().splitlines() if not line.startswith("state:")]
    path = folder / "tls.yaml"
    path.write_text("\n".join(lab_lines) + "\n" + SERVICES)
    shutil.copy(pki / "first.pem", folder / "site.pem")
    try:
        yield path
    finally:
        done = kob("down", str(path), "--wait", WAIT, timeout=240)
        assert done.returncode in (0, 2), done.stderr
        assert not list(etc_haproxy(lab).glob("kob-tls-*-certs")), "kob down leaves no certificate behind"


def tls_line(inventory: Path) -> int:
    return next(n for n, line in enumerate(inventory.read_text().splitlines(), 1) if line.strip().startswith("tls:"))


def etc_haproxy(lab) -> Path:
    return lab.layout.vm(1).dir / "etc-haproxy"


def cert_file(lab) -> Path:
    (folder,) = etc_haproxy(lab).glob("kob-tls-*-certs")
    return folder / "https.pem"


def config_file(lab) -> Path:
    (config,) = etc_haproxy(lab).glob("kob-tls-*.cfg")
    return config


def ok(*args: str) -> str:
    done = kob(*args, timeout=240)
    assert done.returncode == 0, f"kob {' '.join(args)}:\n{done.stdout}{done.stderr}"
    return done.stdout + done.stderr


def secret_lines(*pems: Path) -> list[str]:
    """Every base64 line of the private keys (and of the whole PEMs): none may appear anywhere."""
    return [line for pem in pems for line in pem.read_text().splitlines() if "-----" not in line and len(line) > 16]


def key_lines(pki: Path) -> list[str]:
    return [line for name in ("first.key", "second.key") for line in (pki / name).read_text().splitlines()
            if "-----" not in line]


def curl(pki: Path, *args: str) -> str:
    done = subprocess.run(["curl", "-sS", "--max-time", "10", "--cacert", str(pki / "ca.crt"), *args],
                          capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stderr
    return done.stdout


def served_fingerprint(address: str, pki: Path) -> str:
    context = ssl.create_default_context(cafile=str(pki / "ca.crt"))
    with socket.create_connection((address, 443), timeout=10) as raw, \
            context.wrap_socket(raw, server_hostname=address) as tls:
        return hashlib.sha256(tls.getpeercert(binary_form=True)).hexdigest()


def fingerprint_of(pki: Path, name: str) -> str:
    der = ssl.PEM_cert_to_DER_cert((pki / f"{name}.crt").read_text())
    return hashlib.sha256(der).hexdigest()


def test_1_https_on_http1_and_http2_and_a_redirect(lab, pki, inventory):
    out = ok("deploy", str(inventory), "--wait", WAIT)
    assert "certificate https written" in out
    address = lab.layout.vm(1).address
    assert curl(pki, "--http1.1", "-o", "/dev/null", "-w", "%{http_code} %{http_version}",
                f"https://{address}/") == "200 1.1"
    assert curl(pki, "--http2", "-o", "/dev/null", "-w", "%{http_code} %{http_version}",
                f"https://{address}/") == "200 2"
    assert "web" in curl(pki, f"https://{address}/")
    assert curl(pki, "-o", "/dev/null", "-w", "%{http_code} %{redirect_url}",
                f"http://{address}/a/b?c=1") == f"301 https://{address}/a/b?c=1"
    assert served_fingerprint(address, pki) == fingerprint_of(pki, "first")


def test_2_the_key_file_is_private_and_a_second_deploy_ships_nothing(lab, pki, inventory):
    pem = cert_file(lab)
    assert pem.stat().st_mode & 0o777 == 0o600 and pem.parent.stat().st_mode & 0o777 == 0o700
    assert pem.read_bytes().startswith((pki / "first.crt").read_bytes())
    before = pem.stat().st_mtime_ns
    out = ok("-v", "deploy", str(inventory), "--wait", WAIT)
    assert "certificate" not in out and "haproxy unchanged" in out
    assert out.strip().splitlines()[-1].startswith("ssh commands: 3 ")  # one per host: nothing shipped
    assert pem.stat().st_mtime_ns == before


def test_3_the_plan_shows_the_new_fingerprint_never_the_pem(lab, pki, inventory):
    shutil.copy(pki / "second.pem", inventory.parent / "site.pem")
    out = ok("deploy", str(inventory), "--check", "--diff")
    fingerprint = ":".join(fingerprint_of(pki, "second")[i:i + 2] for i in range(0, 64, 2)).upper()
    assert f"certificate https: would rotate (CN=second, SHA-256 {fingerprint[:23]}..." in out
    assert not any(line in out for line in secret_lines(pki / "second.pem", pki / "first.pem"))


def test_4_rotation_under_load_drops_no_request(lab, pki, inventory):
    address = lab.layout.vm(1).address
    worker_before, structure_before = haproxy_worker(lab), config_file(lab).read_text().splitlines()[0]
    with HttpsLoad(f"https://{address}/", pki / "ca.crt") as load:
        time.sleep(2)
        out = ok("deploy", str(inventory), "--wait", WAIT)
        time.sleep(2)
    assert "certificate https rotated" in out, out
    assert load.failures == [] and load.ok > 0, load.failures[:5]
    assert served_fingerprint(address, pki) == fingerprint_of(pki, "second")
    # no reload: the same worker serves, and the config's structure (all but its servers) is as it was
    assert haproxy_worker(lab) == worker_before and config_file(lab).read_text().splitlines()[0] == structure_before
    print(f"\nrotation under load: {load.ok} requests, {len(load.failures)} failed")


def test_5_a_wrong_key_is_refused_in_one_line_and_nothing_is_shipped(lab, pki, inventory):
    config_before, cert_before = config_file(lab).read_bytes(), cert_file(lab).read_bytes()
    shutil.copy(pki / "wrong.pem", inventory.parent / "site.pem")
    try:
        done = kob("deploy", str(inventory), "--wait", WAIT, timeout=240)
        assert done.returncode == 1
        (line,) = done.stderr.strip().splitlines()
        assert line == (f"kob: error: {inventory}:{tls_line(inventory)}: lb/frontends/https/tls/cert: {inventory.parent}/site.pem: "
                        "the private key does not belong to its certificate; put the matching key (or certificate) "
                        "in the file")
        assert not any(text in done.stdout + done.stderr for text in key_lines(pki))
    finally:
        shutil.copy(pki / "second.pem", inventory.parent / "site.pem")
    assert config_file(lab).read_bytes() == config_before and cert_file(lab).read_bytes() == cert_before


def test_6_status_shows_the_expiry_and_warns_under_fourteen_days(lab, pki, inventory):
    (cert,) = json.loads(ok("status", str(inventory), "--json"))["certificates"]
    assert cert["frontend"] == "https" and cert["subject"] == "CN=second" and cert["hosts"] == {"vm1": "serving"}
    assert 9 < cert["days_left"] <= 10  # openssl's -days 10, from when the test made it
    words = cert["warning"].split()
    assert words[:2] == ["expires", "in"] and abs(float(words[2]) - cert["days_left"]) <= 0.06
    text = ok("status", str(inventory))
    assert "CERTIFICATE" in text and "CN=second  ! expires in " in text


def test_7_the_store_and_its_export_hold_no_pem(lab, pki, inventory):
    store = inventory.parent / "tls.kob.db"
    with sqlite3.connect(store) as db:
        dump = "\n".join(db.iterdump())
    exported = ok("state", "export", str(inventory))
    assert "web" in dump and json.loads(exported)
    for text in (dump, exported, store.read_bytes().decode("latin-1")):
        assert "PRIVATE KEY" not in text and "BEGIN CERTIFICATE" not in text
        assert not any(line in text for line in secret_lines(pki / "first.pem", pki / "second.pem"))


def haproxy_worker(lab) -> str:
    """The pid of the HAProxy worker answering on the inventory's runtime socket (a reload starts another)."""
    (sock,) = (lab.layout.vm(1).run_dir / "haproxy").glob("kob-tls-*.sock")
    reply = subprocess.run(["socat", "-t", "5", "stdio", f"unix-connect:{sock}"], input="show info\n",
                           capture_output=True, text=True, timeout=10, check=True).stdout
    (pid,) = [line.split(": ", 1)[1] for line in reply.splitlines() if line.startswith("Pid: ")]
    return pid


class HttpsLoad:
    """LOAD_THREADS threads of GETs over HTTPS trusting ``ca``, bounded to LOAD_SECONDS and 20000 requests."""

    def __init__(self, url: str, ca: Path):
        self.url, self.context = url, ssl.create_default_context(cafile=str(ca))
        self.ok, self.failures, self.lock = 0, [], threading.Lock()
        self.stop = threading.Event()
        self.threads = [threading.Thread(target=self._run, daemon=True) for _ in range(LOAD_THREADS)]

    def _run(self) -> None:
        deadline = time.monotonic() + LOAD_SECONDS
        while not self.stop.is_set() and time.monotonic() < deadline and self.ok + len(self.failures) < 20000:
            try:
                with urllib.request.urlopen(self.url, context=self.context, timeout=10) as reply:
                    reply.read()
                    assert reply.status == 200
                with self.lock:
                    self.ok += 1
            except Exception as error:  # every kind of failure counts
                with self.lock:
                    self.failures.append(repr(error))
            time.sleep(0.01)

    def __enter__(self) -> HttpsLoad:
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join()
