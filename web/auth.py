"""The token a page bound beyond localhost requires of every request.

A request carries it as ``Authorization: Bearer <token>``, or as the cookie set after a
browser opened ``/?token=<token>`` once (the redirect drops it from the address bar).
"""

from __future__ import annotations

import hmac
import ipaddress
from urllib.parse import urlencode

from flask import Flask, Response, redirect, request

COOKIE = "kob_token"


def is_local(host: str) -> bool:
    """True for localhost and loopback addresses: nobody else can connect there."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def require_token(app: Flask, token: str) -> None:
    """Refuse every request without the token with 401."""

    @app.before_request
    def check_token():
        offered = request.args.get("token")
        if offered is not None and _same(offered, token):
            return _remember(token)
        header = request.headers.get("Authorization", "")
        presented = header[len("Bearer "):] if header.startswith("Bearer ") else request.cookies.get(COOKIE, "")
        if not _same(presented, token):
            return Response("401: this kob page needs its token: send 'Authorization: Bearer <token>', "
                            "or open /?token=<token> once in a browser\n", 401,
                            {"WWW-Authenticate": 'Bearer realm="kob"', "Content-Type": "text/plain"})
        return None


def _same(offered: str, token: str) -> bool:
    return hmac.compare_digest(offered.encode(), token.encode())


def _remember(token: str) -> Response:
    args = urlencode([(k, v) for k, v in request.args.items(multi=True) if k != "token"])
    response = redirect(request.path + (f"?{args}" if args else ""), 303)
    response.set_cookie(COOKIE, token, httponly=True, samesite="Strict", secure=request.is_secure)
    return response


def parse_bind(text: str, token: str | None) -> tuple[str, int]:
    """HOST:PORT (or :PORT, or [v6]:PORT) of `--bind`; beyond localhost only with a token."""
    host, colon, port = text.rpartition(":")
    if not colon or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"--bind {text!r}: write HOST:PORT, e.g. 127.0.0.1:8080 or 0.0.0.0:8080")
    host = host.strip("[]") or "0.0.0.0"
    if not is_local(host) and not token:
        raise ValueError(f"--bind {text}: other machines could reach the page there, so it needs a token: "
                         "set KOB_WEB_TOKEN (or --token); or bind 127.0.0.1")
    return host, int(port)
