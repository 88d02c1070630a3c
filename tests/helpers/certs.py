"""Certificates made in-process for tests (cryptography): a CA, server certificates it signs, PEM bundles."""

from __future__ import annotations

import datetime
import ipaddress
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID


@dataclass(frozen=True)
class Issued:
    cert: x509.Certificate
    key: ec.EllipticCurvePrivateKey

    @property
    def cert_pem(self) -> bytes:
        return self.cert.public_bytes(serialization.Encoding.PEM)

    def key_pem(self, password: bytes | None = None) -> bytes:
        crypt = (serialization.BestAvailableEncryption(password) if password else serialization.NoEncryption())
        return self.key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, crypt)


def make_ca(name: str = "kob test CA") -> Issued:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=365))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    return Issued(cert, key)


def issue(ca: Issued, name: str = "example.test", *, days: float = 90, start_days: float = -1,
          addresses: tuple[str, ...] = ()) -> Issued:
    """A server certificate for ``name`` (and IP ``addresses``) valid from ``start_days`` to ``days`` from now."""
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.timezone.utc)
    alt = [x509.DNSName(name)] + [x509.IPAddress(ipaddress.ip_address(a)) for a in addresses]
    cert = (x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
            .issuer_name(ca.cert.subject).public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now + datetime.timedelta(days=start_days))
            .not_valid_after(now + datetime.timedelta(days=days))
            .add_extension(x509.SubjectAlternativeName(alt), critical=False)
            .sign(ca.key, hashes.SHA256()))
    return Issued(cert, key)


def bundle(leaf: Issued, ca: Issued | None = None) -> bytes:
    """The PEM kob takes: the certificate, its chain, then the key."""
    return leaf.cert_pem + (ca.cert_pem if ca else b"") + leaf.key_pem()


class _Named:
    """Where a certificate was named, for kob.spec.tls.bundle_of: its errors become test failures."""

    def error(self, message: str) -> AssertionError:
        return AssertionError(message)


def checked_bundle(pem: bytes, path: str):
    """kob's CertBundle of ``pem`` as if read from ``path``."""
    from pathlib import Path

    from kob.spec.tls import bundle_of

    return bundle_of(pem, Path(path), _Named())
