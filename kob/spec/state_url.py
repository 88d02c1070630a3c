"""The inventory's ``state:`` value: the one parser of state URLs.

The inventory loader and ``kob.store.open_store`` both call
``parse_state_url``; nothing else reads these URLs. The forms:

    data/kob.db                     a SQLite file; a relative path starts at ``folder``
                                    (the inventory's folder); ``~`` is expanded
    /var/lib/kob/kob.db, ~/kob.db   the same, absolute
    sqlite:///var/lib/kob/kob.db    the same, as a URL: the path must be absolute
                                    (SQLAlchemy's sqlite:////var/lib/kob/kob.db too)
    etcd://host[:port][,host[:port]...][/namespace]
                                    an etcd cluster reached without TLS; port 2379 when
                                    left out; IPv6 as [fd00::1]:2379; keys live under
                                    /namespace/ (default /kob/)
    http://...                      the same as etcd://...
    memory://                       this process only (tests; the inventory refuses it)

Everything else is refused with a ValueError whose message, written for the
user, says what to write instead (the loader adds file:line and ``state``,
open_store turns it into a StoreError). Refused on purpose: https:// (the etcd
client kob uses has no TLS), user:password@ (nor does it log in), a relative
sqlite:// path, host:port without a scheme (a typo for etcd://, not a file).
Pure: no file is looked at; the loader checks that a SQLite file's folder exists.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from kob.spec.addresses import canonical_address
from kob.spec.yaml_nodes import usable_path

ETCD_DEFAULT_PORT = 2379
DEFAULT_NAMESPACE = "/kob/"
STATE_FORMS = "etcd://host:port[,host:port], http://host:port, sqlite:///absolute/path or a file path"

_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*")
_NAMESPACE = re.compile(r"[A-Za-z0-9._-]+(?:/[A-Za-z0-9._-]+)*")
_LOOKS_LIKE_ENDPOINTS = re.compile(r"[A-Za-z0-9.-]+:\d+(?:,[A-Za-z0-9.-]+(?::\d+)?)*")


_USERINFO = re.compile(r"[^/,@]*@")


@dataclass(frozen=True)
class EtcdEndpoint:
    """One etcd member: an IPv4 address, DNS name or IPv6 address (without brackets), and a port."""

    host: str
    port: int = ETCD_DEFAULT_PORT

    @property
    def url_host(self) -> str:
        """The host as a URL or gRPC target writes it: IPv6 in brackets."""
        return f"[{self.host}]" if ":" in self.host else self.host

    def __str__(self) -> str:
        return f"{self.url_host}:{self.port}"


@dataclass(frozen=True)
class StateUrl:
    """A parsed state URL.

    ``url`` is the text to keep and show: a file becomes ``sqlite://<absolute path>``,
    an etcd URL stays as written (scheme in lower case). Parsing ``url`` again
    gives the same StateUrl. ``path`` is set for sqlite, ``endpoints`` and
    ``namespace`` (the key prefix, like "/kob/") for etcd.
    """

    kind: Literal["sqlite", "etcd", "memory"]
    url: str
    path: Path | None = None
    endpoints: tuple[EtcdEndpoint, ...] = ()
    namespace: str = ""


def parse_state_url(text: str, folder: Path) -> StateUrl:
    """Parse a state URL or path; a relative path starts at ``folder``. Raises ValueError, whose message
    never shows a user:password@ part of the URL."""
    try:
        return _parse(text, folder)
    except ValueError as error:
        message = str(error)
        for secret in _USERINFO.findall(text):
            message = message.replace(secret, "***@")
        raise ValueError(message) from None


def _parse(text: str, folder: Path) -> StateUrl:
    scheme, separator, rest = text.partition("://")
    if not separator:
        return _file(text, folder)
    if not _SCHEME.fullmatch(scheme):
        raise ValueError(f"unsupported state URL {text!r}; use {STATE_FORMS}")
    scheme = scheme.lower()
    if scheme == "sqlite":
        return _sqlite_url(text, rest)
    if scheme in ("etcd", "http"):
        return _etcd(scheme, rest)
    if scheme == "memory":
        return _memory(text, rest)
    if scheme == "https":
        raise ValueError(
            f"{text!r}: https:// (TLS) is not supported, kob's etcd client connects in plain text; "
            f"write etcd://{rest.rstrip('/') or 'host:port'} for an etcd that listens without TLS"
        )
    raise ValueError(f"unsupported state URL {text!r}; use {STATE_FORMS}")


def _file(text: str, folder: Path) -> StateUrl:
    if not text:
        raise ValueError(f"the state URL is empty; use {STATE_FORMS}")
    if _LOOKS_LIKE_ENDPOINTS.fullmatch(text):
        raise ValueError(
            f"{text!r} looks like an etcd address; write etcd://{text} (or ./{text} for a file of that name)"
        )
    return _sqlite(text, Path(os.path.abspath(folder / usable_path(text))))


def _sqlite_url(text: str, rest: str) -> StateUrl:
    if not rest.startswith("/"):
        raise ValueError(
            f"{text!r}: sqlite URLs need an absolute path, like sqlite:///var/lib/kob/state.db; "
            "or write a plain path relative to the inventory's folder"
        )
    return _sqlite(text, Path(os.path.normpath("/" + str(usable_path(rest).as_posix()).lstrip("/"))))  # sqlite:////abs as SQLAlchemy writes it


def _sqlite(text: str, path: Path) -> StateUrl:
    if text.endswith(("/", "/.", "/..")) or text in (".", "..", "~"):
        raise ValueError(f"{text!r} names a folder; name the database file in it, like {path / 'kob.db'}")
    return StateUrl("sqlite", f"sqlite://{path}", path=path)


def _memory(text: str, rest: str) -> StateUrl:
    if rest:
        raise ValueError(f"{text!r}: memory:// takes nothing after it; write memory://")
    return StateUrl("memory", "memory://")


def _etcd(scheme: str, rest: str) -> StateUrl:
    if "://" in rest:
        raise ValueError(
            f"state URL {scheme}://{rest} repeats its scheme; write it once, like {scheme}://a:2379,b:2379"
        )
    hosts, _, namespace = rest.partition("/")
    if not hosts:
        raise ValueError(f"{scheme}:// needs at least one endpoint, like {scheme}://198.18.0.1:2379")
    endpoints = tuple(_endpoint(text) for text in hosts.split(","))
    for n, endpoint in enumerate(endpoints):
        if endpoint in endpoints[:n]:
            raise ValueError(f"state URL names endpoint {endpoint} twice; list each etcd member once")
    return StateUrl("etcd", f"{scheme}://{rest}", endpoints=endpoints, namespace=_namespace(namespace))


def _namespace(text: str) -> str:
    name = text.strip("/")
    if not name:
        return DEFAULT_NAMESPACE
    if not _NAMESPACE.fullmatch(name):
        raise ValueError(
            f"state URL namespace {text!r} may hold only letters, digits, '.', '_' and '-', in parts joined by '/'"
        )
    return f"/{name}/"


def _endpoint(text: str) -> EtcdEndpoint:
    if not text:
        raise ValueError(f"empty endpoint in state URL; use {STATE_FORMS}")
    if "@" in text:
        raise ValueError(
            f"state URL endpoint {text!r} carries a user name; kob's etcd client does not log in, "
            "so write host:port"
        )
    host, port = _split_endpoint(text)
    return EtcdEndpoint(_endpoint_host(text, host), _port(text, port))


def _split_endpoint(text: str) -> tuple[str, str | None]:
    """("host", "port" or None); an IPv6 host comes out without its brackets."""
    if text.startswith("["):
        host, bracket, after = text[1:].partition("]")
        if not bracket or (after and not after.startswith(":")):
            raise ValueError(f"state URL endpoint {text!r} is not [IPv6 address]:port, like [fd00::1]:2379")
        if ":" not in host:
            raise ValueError(f"state URL endpoint {text!r}: brackets are for IPv6 addresses only; write {host}{after}")
        return host, after[1:] if after else None
    if text.count(":") > 1:
        raise ValueError(f"state URL endpoint {text!r}: write an IPv6 address in brackets, like [fd00::1]:2379")
    host, colon, port = text.partition(":")
    return host, port if colon else None


def _endpoint_host(text: str, host: str) -> str:
    try:
        canonical_address(host)
    except ValueError as error:
        raise ValueError(f"state URL endpoint {text!r}: {error}") from None
    return host


def _port(text: str, port: str | None) -> int:
    if port is None:
        return ETCD_DEFAULT_PORT
    if not (port.isascii() and port.isdigit()) or not 1 <= int(port) <= 65535:
        raise ValueError(f"state URL endpoint {text!r} has a bad port; use a number from 1 to 65535")
    return int(port)
