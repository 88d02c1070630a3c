"""Reaching an etcd cluster through whichever of its members answers.

aetcd's Client talks to one host:port and never moves to another, so kob keeps a
client per member and does the failing over itself (etcd's Go client does the same
inside its balancer). An operation goes to the member that answered last; when that
member refuses, times out or says it has no leader, the operation is tried on the
next one, round after round with a short pause, until one answers or ``retry_for``
seconds have passed. When two whole rounds were refused by every member, the
cluster is down and the operation fails at once instead of waiting out the time.

An operation is told whether an earlier attempt of it failed: that attempt may have
reached etcd before its answer was lost, so a write checks what is there before it
reports failure (see EtcdStore).

The failure a person reads names every endpoint, each with a short reason:

    etcd at 10.0.0.1:2379,10.0.0.2:2379 does not answer (10.0.0.1:2379: connection refused;
    10.0.0.2:2379: no answer within 2 s); check that its members run and that state: names them
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

import aetcd
import aetcd.exceptions
import aetcd.rpc

from kob.errors import StoreError

T = TypeVar("T")

ATTEMPT_TIMEOUT = 2.0  # one request to one member
RETRY_FOR = 8.0  # one operation across members: long enough for etcd to elect a new leader
PAUSE_FIRST, PAUSE_MOST = 0.1, 1.0  # between rounds, doubling
REFUSED_ROUNDS = 2  # every member refused this many rounds in a row: the cluster is down

CLIENT_ERRORS = (aetcd.exceptions.ClientError, aetcd.rpc.AioRpcError, asyncio.TimeoutError)

# gRPC waits up to 2 minutes before it reconnects to a member that went away; a member back from a
# restart should be used again within a second.
CHANNEL_OPTIONS = {
    "grpc.initial_reconnect_backoff_ms": 200,
    "grpc.min_reconnect_backoff_ms": 200,
    "grpc.max_reconnect_backoff_ms": 1000,
    "grpc.max_receive_message_length": 64 << 20,  # bytes of one reply (gRPC's default, 4 MiB, is 64 job outputs)
}

Operation = Callable[[aetcd.Client, bool], Awaitable[T]]


@dataclass(frozen=True)
class Failure:
    """Why one member did not do a request: ``elsewhere`` says another member (or a later try) may."""

    elsewhere: bool
    reason: str
    refused: bool = False


def classify(error: BaseException, timeout: float = ATTEMPT_TIMEOUT) -> Failure:
    """What a client error means for a person, and whether another member is worth asking (pure)."""
    if isinstance(error, asyncio.TimeoutError):
        return Failure(True, f"no answer within {timeout:g} s")
    rpc_error = error if isinstance(error, aetcd.rpc.AioRpcError) else error.__cause__
    if not isinstance(rpc_error, aetcd.rpc.AioRpcError):
        return Failure(False, _short(str(error) or type(error).__name__))
    return classify_status(rpc_error.code(), rpc_error.details() or "", timeout)


def classify_status(code: aetcd.rpc.StatusCode, details: str, timeout: float = ATTEMPT_TIMEOUT) -> Failure:
    """``classify`` of a gRPC status code and its details (pure)."""
    codes = aetcd.rpc.StatusCode
    if code == codes.DEADLINE_EXCEEDED:
        return Failure(True, f"no answer within {timeout:g} s")
    if code == codes.UNAVAILABLE:
        return _unavailable(details)
    http = re.search(r"http2 header with status: (\d+)", details)
    if http:
        return Failure(True, f"answered HTTP {http.group(1)}, which is not etcd's client port")
    if code in (codes.RESOURCE_EXHAUSTED, codes.CANCELLED):
        return Failure(True, _short(details) or code.name.lower())
    return Failure(False, f"{code.name}: {_short(details)}")


_UNAVAILABLE = [
    (("Connection refused",), "connection refused", True),
    (("before receiving SETTINGS frame",), "it took the connection but never answered (is it etcd's client port?)",
     False),
    (("Failed parsing HTTP/2", "http1.x server"), "it does not speak HTTP/2, so it is not etcd's client port", False),
    (("No route to host", "Network is unreachable", "Host is unreachable"), "no route to it", False),
    (("no leader",), "it has no leader (are most members down?)", False),
    (("leader changed",), "its leader changed", False),
    (("request timed out",), "etcd timed out the request", False),
    (("Connection reset", "Socket closed", "Broken pipe"), "the connection broke", False),
    (("DNS resolution failed", "Name or service not known"), "its name does not resolve", False),
]


def _unavailable(details: str) -> Failure:
    for needles, reason, refused in _UNAVAILABLE:
        if any(needle in details for needle in needles):
            return Failure(True, reason, refused)
    return Failure(True, _short(details) or "unavailable")


_CONNECT_PREFIX = re.compile(r"^failed to connect to all addresses; last error: \w+: (?:ipv[46]:)?\S+?: ")


def _short(details: str) -> str:
    """The first line of gRPC's details, without its "failed to connect to all addresses ..." preamble."""
    first = details.strip().splitlines()[0] if details.strip() else ""
    return _CONNECT_PREFIX.sub("", first)[:160]


def unanswered(endpoints_text: str, failures: dict[str, str]) -> str:
    """The one line that says no member answered (pure)."""
    reasons = "; ".join(f"{endpoint}: {reason}" for endpoint, reason in failures.items())
    return (f"etcd at {endpoints_text} does not answer ({reasons}); "
            "check that its members run and that state: names them")


class Members:
    """One aetcd client per member, and ``call``, which moves on to the next member when one fails."""

    def __init__(self, endpoints: list[tuple[str, int]], *, attempt_timeout: float = ATTEMPT_TIMEOUT,
                 retry_for: float = RETRY_FOR):
        if not endpoints:
            raise ValueError("at least one etcd endpoint is needed")
        self.endpoints = endpoints
        self.names = [f"{host}:{port}" for host, port in endpoints]
        self.text = ",".join(self.names)
        self.attempt_timeout, self.retry_for = attempt_timeout, retry_for
        self._clients: dict[int, aetcd.Client] = {}
        self._current = 0

    @property
    def current(self) -> str:
        """The member asked first: the one that answered last."""
        return self.names[self._current]

    def client(self, index: int) -> aetcd.Client:
        if index not in self._clients:
            host, port = self.endpoints[index]
            self._clients[index] = aetcd.Client(host, port, timeout=self.attempt_timeout, options=CHANNEL_OPTIONS)
        return self._clients[index]

    async def call(self, operation: Operation[T]) -> T:
        """``operation(client, retried)`` on the first member that does it; StoreError when none does."""
        deadline = time.monotonic() + self.retry_for
        failures: dict[str, str] = {}
        retried, pause, refused_rounds, tried, round_refused = False, PAUSE_FIRST, 0, 0, True
        while True:
            index = self._current
            try:
                return await operation(self.client(index), retried)
            except CLIENT_ERRORS as error:
                failure = classify(error, self.attempt_timeout)
                if not failure.elsewhere:
                    raise StoreError(f"etcd at {self.text}: {self.names[index]}: {failure.reason}") from error
                failures[self.names[index]] = failure.reason
                round_refused = round_refused and failure.refused
            retried, tried = True, tried + 1
            if self._current == index:  # another task may have moved on already
                self._current = (index + 1) % len(self.endpoints)
            round_done = tried % len(self.endpoints) == 0
            if round_done:
                refused_rounds, round_refused = (refused_rounds + 1 if round_refused else 0), True
            remaining = deadline - time.monotonic()
            if tried >= len(self.endpoints) and (refused_rounds >= REFUSED_ROUNDS or remaining <= 0):
                raise StoreError(unanswered(self.text, {n: failures[n] for n in self.names if n in failures}))
            if round_done:
                await asyncio.sleep(min(pause, remaining))
                pause = min(2 * pause, PAUSE_MOST)

    async def close(self) -> None:
        clients, self._clients = list(self._clients.values()), {}
        for client in clients:
            await client.close()
