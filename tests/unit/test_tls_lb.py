"""TLS frontends in HAProxy: the rendered config, the certificate commands, facts, the driver and the plan.

The PEM may travel only on a command's stdin: never in an argv, a config, a preview line or an error.
"""

from __future__ import annotations

import hashlib
import time

import pytest

from kob.commands.docker import observe_argv
from kob.commands.haproxy import HaproxyPaths
from kob.commands.haproxy_certs import (
    EXIT_CERT_REFUSED,
    install_cert_argv,
    prune_certs_argv,
)
from kob.errors import LbError, ObservationError
from kob.facts.containers import HaproxyFact, _cert_digests
from kob.lb import HaproxyDriver, LbBackend, LbConfig, LbFrontend, LbServer, LbTls
from kob.lb.certificates import cert_preview
from kob.plan.preflight import expired_certificates
from kob.spec.service_model import Frontend, LoadBalancer
from kob.spec.tls_model import CertBundle, FrontendTls, SecretPem
from tests.helpers.certs import bundle, checked_bundle, issue, make_ca
from tests.helpers.fake_transport import Reply, ScriptedTransport, target

PATHS = HaproxyPaths.of("inv-0123abcd")
CRT = f"{PATHS.certs}/https.pem"
CA = make_ca()



def cert(name: str = "site.test", **dates) -> CertBundle:
    return checked_bundle(bundle(issue(CA, name, **dates), CA), f"/srv/{name}.pem")


SITE, NEXT = cert(), cert("next.test")


def config(tls: LbTls | None, servers=()) -> LbConfig:
    frontends = (LbFrontend("https", 443, default_backend="web", tls=tls),)
    return LbConfig(frontends, (LbBackend("web", servers=tuple(servers)),), PATHS.admin_socket)


def tls(bundle: CertBundle = SITE, http2: bool = True, redirect: int | None = None) -> LbTls:
    return LbTls(CRT, bundle, http2, redirect)


def body_lines(*bundles: CertBundle) -> list[str]:
    return [line for b in bundles for line in b.pem.reveal().decode().splitlines() if "-----" not in line]


@pytest.mark.parametrize("wanted, lines, absent", [
    (tls(), [f"bind :443 ssl crt {CRT} alpn h2,http/1.1", "http-request set-header X-Forwarded-Proto https if "
                                                             "{ ssl_fc }"], ["redirect"]),
    (tls(http2=False), [f"bind :443 ssl crt {CRT} alpn http/1.1"], ["h2", "redirect"]),
    (tls(redirect=80), ["bind :80", "http-request redirect location https://%[req.hdr(host),regsub(:[0-9]+$,)]"
                                    "%[capture.req.uri] code 301 unless { ssl_fc }"], []),
    (LbTls(CRT, SITE, True, 8080), ["bind :8080"], []),
    (None, ["bind :443"], ["ssl", "crt", "alpn", "redirect"]),
])
def test_the_config_binds_tls_with_alpn_and_an_optional_redirect(wanted, lines, absent):
    text = config(wanted).render()
    frontend = text[text.index("frontend https"):text.index("backend web")]
    for line in lines:
        assert f"    {line}\n" in frontend
    for word in absent:
        assert word not in frontend
    assert "BEGIN" not in text and not any(line in text for line in body_lines(SITE))


def test_a_redirect_to_another_port_names_it_in_the_location():
    frontends = (LbFrontend("https", 8443, default_backend="web", tls=tls(redirect=8080)),)
    text = LbConfig(frontends, (LbBackend("web"),)).render()
    assert "regsub(:[0-9]+$,)]:8443%[capture.req.uri]" in text


def test_a_new_certificate_changes_no_config_and_no_structure():
    assert config(tls(SITE)).render() == config(tls(NEXT)).render()
    assert config(tls(SITE)).structure_digest() != config(None).structure_digest()


def test_the_certificate_goes_on_stdin_and_its_folder_is_private():
    argv = install_cert_argv(CRT, PATHS.admin_socket)
    script = argv[2]
    assert argv[-2:] == [CRT, PATHS.admin_socket] and "umask 077" in script and 'chmod 700 "$dir"' in script
    assert 'chmod 600 "$tmp"' in script and "set ssl cert" in script and "commit ssl cert" in script
    assert script.index("commit ssl cert") < script.index('mv -f "$tmp" "$path"')  # replaced once HAProxy took it
    assert prune_certs_argv(PATHS.certs, ["https.pem"])[-2:] == [PATHS.certs, "https.pem"]
    assert PATHS.certs == "/etc/haproxy/kob-inv-0123abcd-certs"


def test_the_observation_reports_certificate_digests_only_when_asked():
    assert PATHS.certs in observe_argv((PATHS.config, PATHS.pidfile, PATHS.certs))[2]
    assert "sha256sum <\"$f\"" in observe_argv((PATHS.config, PATHS.pidfile, PATHS.certs))[2]
    assert "certs" not in observe_argv((PATHS.config, PATHS.pidfile))[2]


@pytest.mark.parametrize("line, expected", [
    ("-", ()),
    (f"https.pem:{'a' * 64} b.pem:{'0' * 64} -", (("b.pem", "0" * 64), ("https.pem", "a" * 64))),
])
def test_certificate_digests_parse(line, expected):
    assert _cert_digests("vm1", line) == expected


@pytest.mark.parametrize("line", ["https.pem:xyz -", ":" + "a" * 64])
def test_unreadable_certificate_digests_are_an_observation_error(line):
    with pytest.raises(ObservationError, match="vm1: cannot read a certificate's digest"):
        _cert_digests("vm1", line)


def fact(of: LbConfig, certs: tuple = (), running: bool = True) -> HaproxyFact:
    return HaproxyFact(of.digest(), running, of.structure_digest(), certs=certs)


async def ensure(wanted: LbConfig, seen: HaproxyFact | None, table) -> tuple[dict, ScriptedTransport]:
    fake = ScriptedTransport(table, default=None)
    driver = HaproxyDriver(fake, [target("vm1")], config_path=PATHS.config, pidfile=PATHS.pidfile,
                           admin_socket=PATHS.admin_socket, certs_dir=PATHS.certs)
    return await driver.ensure_config(wanted, {"vm1": seen}), fake


async def test_a_changed_certificate_is_rotated_alone_on_stdin():
    wanted = config(tls(NEXT))
    steps, fake = await ensure(wanted, fact(wanted, (("https.pem", SITE.digest),)),
                               [("vm1", "kob-install-cert", Reply(stdout="rotated\n"))])
    assert steps == {"vm1": "unchanged, certificate https rotated"}
    (sent,) = fake.sent
    assert sent.input == NEXT.pem.reveal() and sent.argv == tuple(install_cert_argv(CRT, PATHS.admin_socket))
    assert not any(line in " ".join(sent.argv) for line in body_lines(NEXT))


async def test_the_same_certificate_ships_nothing():
    wanted = config(tls(SITE))
    steps, fake = await ensure(wanted, fact(wanted, (("https.pem", SITE.digest),)), [])
    assert steps == {"vm1": "unchanged"} and fake.sent == []


async def test_the_certificate_goes_before_the_config_that_reads_it_and_an_unused_one_is_removed():
    before, wanted = config(None), config(tls(SITE))
    seen = fact(before, (("old.pem", "1" * 64),))
    steps, fake = await ensure(wanted, seen, [("vm1", "kob-install-cert", Reply(stdout="written\n")),
                                              ("vm1", "kob-install-haproxy", Reply(stdout="reloaded\n")),
                                              ("vm1", "kob-prune-certs", Reply())])
    assert steps == {"vm1": "reloaded, certificate https written"}
    assert [s.argv[3] for s in fake.sent] == ["kob-install-cert", "kob-install-haproxy", "kob-prune-certs"]
    assert fake.sent[2].argv[-1] == "https.pem"


async def test_a_certificate_haproxy_refuses_is_one_line_without_the_pem():
    wanted = config(tls(NEXT))
    refused = Reply(rc=EXIT_CERT_REFUSED, stderr="HAProxy refused the certificate: unable to load\n")
    with pytest.raises(LbError) as caught:
        await ensure(wanted, fact(wanted, (("https.pem", SITE.digest),)), [("vm1", "kob-install-cert", refused)])
    message = str(caught.value)
    assert message == ("vm1: certificate of frontend https (/srv/next.test.pem): HAProxy refused the certificate: "
                       "unable to load; the old one keeps serving")


@pytest.mark.parametrize("held, expected", [
    ((("https.pem", SITE.digest),), []),
    ((("https.pem", NEXT.digest),), ["certificate https: would rotate (CN=site.test, SHA-256 "]),
    ((), ["certificate https: would install (CN=site.test, SHA-256 "]),
    ((("https.pem", SITE.digest), ("gone.pem", "2" * 64)), ["certificate gone.pem: would remove"]),
])
def test_the_plan_names_fingerprint_and_not_after_never_the_pem(held, expected):
    lines = cert_preview(config(tls(SITE)), fact(config(tls(SITE)), held))
    assert len(lines) == len(expected)
    assert all(line.startswith(prefix) for line, prefix in zip(lines, expected, strict=True))
    day = time.strftime("%Y-%m-%d", time.gmtime(SITE.not_after))
    assert all(day in line for line in lines if "would remove" not in line)
    assert not any(body in line for line in lines for body in body_lines(SITE, NEXT))


def test_the_bundle_digest_is_of_the_shipped_bytes():
    assert SITE.digest == hashlib.sha256(SITE.pem.reveal()).hexdigest()
    assert repr(SITE).count("<redacted>") == 0 and "pem=" not in repr(SITE)  # the field is left out of repr
    assert str(SecretPem(b"x")) == "<redacted>"


@pytest.mark.parametrize("dates, problem", [
    ({}, None),
    ({"days": -1, "start_days": -20}, "the certificate expired on"),
    ({"days": 30, "start_days": 2}, "the certificate is valid only from"),
])
def test_a_deploy_refuses_a_certificate_out_of_its_dates(dates, problem):
    bundle = cert("dated.test", **dates)
    lb = LoadBalancer(frontends=(Frontend("https", 443, default_service="web", tls=FrontendTls(bundle, line=9)),))
    problems = expired_certificates(lb, time.time())
    if problem is None:
        assert problems == []
    else:
        (line,) = problems
        assert line.startswith("/srv/dated.test.pem (frontend https, line 9): " + problem)


def test_servers_still_render_beside_tls():
    text = config(tls(SITE), [LbServer("web", "web-1", "198.18.0.12", 20000)]).render()
    assert "server web-1 198.18.0.12:20000 check" in text
