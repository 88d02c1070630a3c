"""Failing over between etcd members, without etcd: operations that raise the errors gRPC raises."""

from __future__ import annotations

import grpc
import pytest

from kob.errors import StoreError
from kob.store import etcd_members
from kob.store.etcd_members import Failure, Members, classify_status, unanswered

Code = grpc.StatusCode
REFUSED = "failed to connect to all addresses; last error: UNKNOWN: ipv4:10.0.0.1:2379: Failed to connect to " \
          "remote host: Connection refused"


def rpc_error(code: grpc.StatusCode, details: str) -> grpc.aio.AioRpcError:
    return grpc.aio.AioRpcError(code, grpc.aio.Metadata(), grpc.aio.Metadata(), details=details)


@pytest.mark.parametrize(
    ("code", "details", "expected"),
    [
        (Code.UNAVAILABLE, REFUSED, Failure(True, "connection refused", refused=True)),
        (Code.UNAVAILABLE, "... connect: No route to host", Failure(True, "no route to it")),
        (Code.UNAVAILABLE, "etcdserver: no leader", Failure(True, "it has no leader (are most members down?)")),
        (Code.UNAVAILABLE, "etcdserver: leader changed", Failure(True, "its leader changed")),
        (Code.UNAVAILABLE, "etcdserver: request timed out", Failure(True, "etcd timed out the request")),
        (Code.UNAVAILABLE, "Socket closed", Failure(True, "the connection broke")),
        (Code.DEADLINE_EXCEEDED, "Deadline Exceeded", Failure(True, "no answer within 2 s")),
        (Code.UNAVAILABLE, ("failed to connect to all addresses; last error: UNKNOWN: ipv4:127.0.0.1:5: connection "
                           "attempt timed out before receiving SETTINGS frame"),
         Failure(True, "it took the connection but never answered (is it etcd's client port?)")),
        (Code.UNAVAILABLE, ("failed to connect to all addresses; last error: UNAVAILABLE: ipv4:127.0.0.1:5: Failed "
                           "parsing HTTP/2 (Expected SETTINGS frame as the first frame, got frame )"),
         Failure(True, "it does not speak HTTP/2, so it is not etcd's client port")),
        (Code.UNAVAILABLE, "failed to connect to all addresses; last error: UNKNOWN: ipv4:127.0.0.1:5: Something new",
         Failure(True, "Something new")),
        # the lab's address gone, and something else answering the port: what `kob serve` once logged raw
        (Code.UNKNOWN, "Received http2 header with status: 404",
         Failure(True, "answered HTTP 404, which is not etcd's client port")),
        (Code.INVALID_ARGUMENT, "etcdserver: key is not provided", Failure(False, "INVALID_ARGUMENT: etcdserver: key "
                                                                           "is not provided")),
        (Code.NOT_FOUND, "etcdserver: requested lease not found",
         Failure(False, "NOT_FOUND: etcdserver: requested lease not found")),
    ],
)
def test_each_grpc_failure_gets_a_reason_people_read_and_a_verdict_on_asking_another_member(code, details, expected):
    assert classify_status(code, details) == expected


def test_the_line_for_a_cluster_that_does_not_answer_names_the_store_and_each_member():
    assert unanswered("a:2379,b:2379", {"a:2379": "connection refused", "b:2379": "no answer within 2 s"}) == (
        "etcd at a:2379,b:2379 does not answer (a:2379: connection refused; b:2379: no answer within 2 s); "
        "check that its members run and that state: names them")


class Cluster:
    """Members whose answers are scripted per port: an exception to raise, or a value to return."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, ports: list[int], retry_for: float = 8.0):
        monkeypatch.setattr(etcd_members, "PAUSE_FIRST", 0.001)
        monkeypatch.setattr(etcd_members, "PAUSE_MOST", 0.002)
        self.members = Members([("127.0.0.1", port) for port in ports], retry_for=retry_for)
        self.answers: dict[int, list[object]] = {port: [] for port in ports}
        self.asked: list[tuple[int, bool]] = []

    async def call(self) -> object:
        async def operation(client, retried: bool) -> object:
            port = client._port
            self.asked.append((port, retried))
            answer = self.answers[port].pop(0) if len(self.answers[port]) > 1 else self.answers[port][0]
            if isinstance(answer, BaseException):
                raise answer
            return answer

        return await self.members.call(operation)


async def test_a_refusing_member_is_passed_over_and_the_one_that_answered_is_asked_first_next_time(monkeypatch):
    cluster = Cluster(monkeypatch, [1, 2, 3])
    cluster.answers.update({1: [rpc_error(Code.UNAVAILABLE, REFUSED)], 2: ["two"], 3: ["three"]})
    assert await cluster.call() == "two"
    assert await cluster.call() == "two"
    assert cluster.asked == [(1, False), (2, True), (2, False)]
    assert cluster.members.current == "127.0.0.1:2"


async def test_a_cluster_electing_a_leader_is_asked_again_round_after_round(monkeypatch):
    cluster = Cluster(monkeypatch, [1, 2])
    timeout = rpc_error(Code.DEADLINE_EXCEEDED, "Deadline Exceeded")
    cluster.answers.update({1: [timeout, timeout, "one"], 2: [rpc_error(Code.UNAVAILABLE, "etcdserver: no leader")]})
    assert await cluster.call() == "one"
    assert [port for port, _ in cluster.asked] == [1, 2, 1, 2, 1]


async def test_members_that_all_refuse_fail_after_two_rounds_in_one_line(monkeypatch):
    cluster = Cluster(monkeypatch, [1, 2, 3])
    for port in (1, 2, 3):
        cluster.answers[port] = [rpc_error(Code.UNAVAILABLE, REFUSED)]
    with pytest.raises(StoreError) as raised:
        await cluster.call()
    assert len(cluster.asked) == 6
    assert str(raised.value) == (
        "etcd at 127.0.0.1:1,127.0.0.1:2,127.0.0.1:3 does not answer (127.0.0.1:1: connection refused; "
        "127.0.0.1:2: connection refused; 127.0.0.1:3: connection refused); check that its members run and that "
        "state: names them")


async def test_members_that_time_out_are_asked_until_the_operation_runs_out_of_time(monkeypatch):
    cluster = Cluster(monkeypatch, [1, 2], retry_for=0.05)
    cluster.answers.update({1: [rpc_error(Code.DEADLINE_EXCEEDED, "")], 2: [rpc_error(Code.UNAVAILABLE, REFUSED)]})
    with pytest.raises(StoreError, match=r"^etcd at .* does not answer \(127.0.0.1:1: no answer within 2 s; "
                                         r"127.0.0.1:2: connection refused\)"):
        await cluster.call()
    assert len(cluster.asked) >= 2  # every member at least once


async def test_a_refusal_that_is_an_answer_is_not_tried_elsewhere(monkeypatch):
    cluster = Cluster(monkeypatch, [1, 2])
    cluster.answers.update({1: [rpc_error(Code.INVALID_ARGUMENT, "etcdserver: bad")], 2: ["two"]})
    with pytest.raises(StoreError, match=r"^etcd at 127.0.0.1:1,127.0.0.1:2: 127.0.0.1:1: INVALID_ARGUMENT: "):
        await cluster.call()
    assert cluster.asked == [(1, False)]
