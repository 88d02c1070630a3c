"""HTTPS for the page (`kob web|serve --tls-cert FILE`): a threaded stdlib WSGI server whose connections are TLS.

Why this and not waitress: waitress has no TLS, and its single asyncore loop cannot run a TLS handshake (several
reads and writes) without stalling every other connection. Here each accepted connection gets a thread of its
own and its handshake runs in that thread, under a timeout, never in the accepting one: a client that connects
and says nothing holds only its own thread until the timeout. At most MAX_CONNECTIONS are served at once; more
wait in the listen queue. The TLS is the standard library's (OpenSSL; TLS 1.2 at least). Requests are not logged
(a ``?token=`` in an address must not reach a log).
"""

from __future__ import annotations

import socket
import ssl
import threading
from socketserver import ThreadingMixIn
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer

from kob.errors import KobError

MAX_CONNECTIONS = 16
CONNECTION_TIMEOUT = 30.0  # s: the handshake, and each read or write of a request after it


def tls_context(cert_file: str) -> ssl.SSLContext:
    """A server context from one PEM holding the certificate (then its chain) and the unencrypted key."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.set_alpn_protocols(["http/1.1"])
    try:
        context.load_cert_chain(cert_file, password=lambda: b"")  # an encrypted key fails instead of prompting
    except FileNotFoundError:
        raise KobError(f"--tls-cert {cert_file}: no such file") from None
    except (ssl.SSLError, OSError, ValueError) as error:
        reason = getattr(error, "reason", None) or "not a PEM certificate with its matching unencrypted key"
        raise KobError(f"--tls-cert {cert_file}: {str(reason).lower().replace('_', ' ')}; give one PEM file "
                       "holding the certificate, its chain and its unencrypted key") from None
    return context


class _QuietHandler(WSGIRequestHandler):
    def get_environ(self) -> dict:
        environ = super().get_environ()
        environ["HTTPS"] = "on"  # wsgi.url_scheme https: the token cookie is marked Secure
        return environ

    def log_message(self, format, *args) -> None:
        """Requests are not logged: their addresses may carry the token."""


class TlsWsgiServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True
    block_on_close = False

    def __init__(self, host: str, port: int, app, context: ssl.SSLContext):
        self.address_family = socket.AF_INET6 if ":" in host else socket.AF_INET
        super().__init__((host, port), _QuietHandler)
        self.set_app(app)
        self.context, self.slots = context, threading.BoundedSemaphore(MAX_CONNECTIONS)

    def process_request(self, request, client_address) -> None:
        self.slots.acquire()
        try:
            super().process_request(request, client_address)
        except BaseException:
            self.slots.release()
            raise

    def process_request_thread(self, request, client_address) -> None:
        """In the connection's own thread: the handshake, then the request."""
        try:
            request.settimeout(CONNECTION_TIMEOUT)
            try:
                secured = self.context.wrap_socket(request, server_side=True)
            except (ssl.SSLError, OSError):  # not TLS, a failed handshake, a client gone or silent
                self.shutdown_request(request)
                return
            super().process_request_thread(secured, client_address)
        finally:
            self.slots.release()

    def handle_error(self, request, client_address) -> None:
        """A connection that broke mid-request ends quietly; the page's own errors are Flask's to report."""

    # waitress's server interface, as web.serve drives it
    def run(self) -> None:
        self.serve_forever(poll_interval=0.5)

    def close(self) -> None:
        self.server_close()
