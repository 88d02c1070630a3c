"""``tls:`` of an lb frontend: the PEM file is read and checked here, on the manager, when the inventory loads.

    lb:
      frontends:
        https:
          bind: 443
          default: web
          tls:
            cert: certs/site.pem    # the certificate first, then its chain, and the unencrypted private key;
                                    # relative to this file's folder; read here, shipped to the lb hosts
                                    # (mode 0600), never stored, logged, planned or shown
            redirect_http: 80       # optional: a port where plain HTTP is answered 301 to https
                                    # (true means 80)
            http2: true             # the default: ALPN offers h2, then http/1.1; false: HTTP/1.1 only

A file that is missing, not PEM, holds no certificate or no key, an encrypted key, or a key that is not the
first certificate's is refused in one line naming the file:line of ``cert:``; nothing is shipped.
An expired certificate loads (status and the page show it); ``kob deploy`` refuses to ship it.
"""

from __future__ import annotations

import hashlib
import os
import re
import stat
from pathlib import Path

from kob.spec.tls_model import CertBundle, FrontendTls, SecretPem
from kob.spec.yaml_source import Node

TLS_KEYS = ("cert", "redirect_http", "http2")
MAX_PEM_BYTES = 1 << 20
_BLOCK = re.compile(rb"-----BEGIN ([A-Z0-9 ]+)-----\r?\n.*?-----END \1-----", re.DOTALL)
_KEY_KINDS = (b"PRIVATE KEY", b"RSA PRIVATE KEY", b"EC PRIVATE KEY")


def read_tls(node: Node, base: Path) -> FrontendTls:
    """The frontend's tls: mapping; ``base`` is the inventory's folder."""
    tls = node.record(TLS_KEYS)
    cert_node = tls.require("cert")
    path = cert_node.as_path(base, what="certificate file")
    return FrontendTls(cert=load_bundle(path, cert_node), redirect_http=_redirect_port(tls.get("redirect_http")),
                       http2=tls.get_bool("http2", default=True), line=node.line)


def _redirect_port(node: Node | None) -> int | None:
    if node is None:
        return None
    if node.raw in ("true", "True", "yes", "on") and not node.quoted:
        return 80
    if node.raw in ("false", "False", "no", "off") and not node.quoted:
        return None
    return node.as_int(min=1, max=65535, expected="true (port 80) or a port number")


def load_bundle(path: Path, node: Node) -> CertBundle:
    """Read and check the PEM file at ``path`` (``node`` is where it was named, for errors)."""
    data = _read_pem_file(path, node)
    return bundle_of(data, path, node)


def bundle_of(data: bytes, path: Path, node: Node) -> CertBundle:
    """The checked bundle of PEM text ``data``; errors name ``node`` and never quote the text."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes

    blocks = [(match.group(1), match.group(0)) for match in _BLOCK.finditer(data)]
    if not blocks:
        raise node.error(f"{path} is not a PEM file (no -----BEGIN ...----- block); give the certificate chain and "
                         "key in PEM")
    cert_blocks = [text for kind, text in blocks if kind == b"CERTIFICATE"]
    key_blocks = [text for kind, text in blocks if kind in _KEY_KINDS or kind == b"ENCRYPTED PRIVATE KEY"]
    if not cert_blocks:
        raise node.error(f"{path} holds no certificate; put the certificate, then its chain, in the file")
    if len(key_blocks) != 1:
        raise node.error(f"{path} holds {len(key_blocks) or 'no'} private keys; put exactly one, the certificate's, "
                         "in the file")
    try:
        certs = [x509.load_pem_x509_certificate(text) for text in cert_blocks]
    except ValueError:
        raise node.error(f"{path}: a certificate in it cannot be read; is the file damaged?") from None
    leaf_key = _public_key_of(_private_key(key_blocks[0], path, node))
    spki = [_spki(cert.public_key()) for cert in certs]
    if leaf_key not in spki:
        raise node.error(f"{path}: the private key does not belong to its certificate; put the matching key "
                         "(or certificate) in the file")
    if spki[0] != leaf_key:
        raise node.error(f"{path}: the key's certificate is not the first one; HAProxy serves the first, so put it "
                         "before its chain")
    leaf = certs[0]
    shipped = b"\n".join(cert_blocks + key_blocks) + b"\n"
    return CertBundle(
        path=path, pem=SecretPem(shipped), digest=hashlib.sha256(shipped).hexdigest(),
        fingerprint=leaf.fingerprint(hashes.SHA256()).hex(":").upper(),
        subject=leaf.subject.rfc4514_string() or "(no subject)", names=_alt_names(leaf),
        not_before=leaf.not_valid_before_utc.timestamp(), not_after=leaf.not_valid_after_utc.timestamp())


def _read_pem_file(path: Path, node: Node) -> bytes:
    """At most MAX_PEM_BYTES + 1 bytes of a regular file (opening a FIFO this way does not block)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except PermissionError:
        raise node.error(f"certificate file {path}: cannot read: permission denied") from None
    except OSError as error:
        raise node.error(f"certificate file {path}: cannot read: {error.strerror or error}") from None
    with os.fdopen(fd, "rb") as file:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise node.error(f"certificate file {path} is not a regular file")
        data = file.read(MAX_PEM_BYTES + 1)
    if len(data) > MAX_PEM_BYTES:
        raise node.error(f"certificate file {path} is larger than {MAX_PEM_BYTES >> 20} MiB; a PEM chain and key "
                         "is a few KiB")
    return data


def _private_key(block: bytes, path: Path, node: Node):
    from cryptography.exceptions import UnsupportedAlgorithm
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    if b"ENCRYPTED" in block.split(b"\n", 1)[0] or b"Proc-Type: 4,ENCRYPTED" in block:
        raise node.error(f"{path}: the private key is encrypted; HAProxy needs it unencrypted (openssl pkey -in "
                         "KEY -out KEY.plain)")
    try:
        return load_pem_private_key(block, password=None)
    except (ValueError, TypeError):
        raise node.error(f"{path}: the private key cannot be read; is the file damaged?") from None
    except UnsupportedAlgorithm:
        raise node.error(f"{path}: the private key is of a kind kob cannot check; use RSA or EC") from None


def _public_key_of(private_key) -> bytes:
    return _spki(private_key.public_key())


def _spki(public_key) -> bytes:
    from cryptography.hazmat.primitives import serialization

    return public_key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def _alt_names(cert) -> tuple[str, ...]:
    from cryptography import x509

    try:
        names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return ()
    return tuple(str(name.value) for name in names if isinstance(name, (x509.DNSName, x509.IPAddress)))
