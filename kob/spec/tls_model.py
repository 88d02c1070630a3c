"""A TLS frontend's certificate as kob holds it (frozen, pure): what may be shown, and the secret apart.

The PEM text (certificate chain and private key) sits in a ``SecretPem``, whose repr and str say
"<redacted>": printing a spec, a plan or an error that holds one never shows the key. Only
``SecretPem.reveal()`` gives the bytes, and only the code that ships the file calls it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

EXPIRY_WARNING_DAYS = 14  # `kob status` and the page warn when a certificate ends sooner than this
DAY = 86400.0


class SecretPem:
    """Bytes that must never be printed, stored or logged: compared by digest, shown as <redacted>."""

    __slots__ = ("_data",)

    def __init__(self, data: bytes):
        self._data = data

    def reveal(self) -> bytes:
        return self._data

    def __repr__(self) -> str:
        return "<redacted>"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, SecretPem) and other._data == self._data

    def __hash__(self) -> int:
        return hash(self._data)

    def __deepcopy__(self, memo: dict) -> SecretPem:
        return self


@dataclass(frozen=True)
class CertBundle:
    """A PEM file's leaf certificate, chain and key, checked to belong together."""

    path: Path  # on the manager
    pem: SecretPem = field(repr=False)  # the chain then the key, as shipped to the lb hosts
    digest: str  # sha256 of the shipped bytes: what the lb hosts report for the file they hold
    fingerprint: str  # SHA-256 of the leaf certificate (DER), as browsers show it: AB:CD:...
    subject: str  # the leaf's subject, e.g. CN=example.com
    names: tuple[str, ...]  # its DNS names and addresses (subjectAltName)
    not_before: float  # Unix seconds
    not_after: float

    def days_left(self, now: float | None = None) -> float:
        return (self.not_after - (time.time() if now is None else now)) / DAY

    def summary(self) -> str:
        """What a plan or a status line shows: never the PEM."""
        return (f"{self.subject}, SHA-256 {self.fingerprint[:23]}..., "
                f"not after {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime(self.not_after))}")


@dataclass(frozen=True)
class FrontendTls:
    """``tls:`` of an lb frontend: HTTPS on its bind: port, optionally a port that redirects HTTP to it."""

    cert: CertBundle
    redirect_http: int | None = None  # a plain-HTTP port answering 301 to the https URL
    http2: bool = True  # ALPN offers h2 before http/1.1
    line: int = field(default=0, compare=False)


def expiry_note(not_after: float, now: float | None = None) -> str | None:
    """A warning when the certificate has ended or ends within EXPIRY_WARNING_DAYS, else None."""
    days = (not_after - (time.time() if now is None else now)) / DAY
    if days < 0:
        return "EXPIRED"
    if days < EXPIRY_WARNING_DAYS:
        return f"expires in {days:.1f} days"
    return None
