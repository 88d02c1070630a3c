"""Deploys a connection holder runs for its clients (kob.lend.deploys, kob.deploy.lent, the holder's "deploy"
request): the summary on the wire, requests the holder refuses, messages naming the inventory as the user
did, the client against holders that answer, fail, go silent or go away, and a client that leaves. The same
through `kob connect` on real hosts: tests/integration/test_warm_on_lab.py."""

from __future__ import annotations

import asyncio
import socket
import threading
from collections import Counter
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace

import pytest

import kob.lend.deploys as client
from kob import __version__
from kob.deploy import lent
from kob.deploy.transfer_progress import HostProgress, shown_by
from kob.errors import HolderError, KobError
from kob.lend.deploys import DeploySummary, deploy_through, holder_deploys
from kob.transport.holder_socket import HolderInfo, code_identity, holder_socket_path
from kob.transport.holder_wire import bytes_frame, json_frame, read_frame
from tests.helpers.fake_transport import Reply, ScriptedTransport
from tests.helpers.lending_holder import lending_holder

SUMMARY = DeploySummary(hosts=["vm1", "vm2"], unreachable=["vm3"], changed={"vm2": 1}, lb={"vm1": "unchanged"},
                        sent={"vm2": 1234}, outcome={"web": {"created": 1}}, rolled_back=["api"],
                        exec_count={"vm1": 1, "vm2": 3}, failure="web: replica 2 did not become healthy")


def test_a_summary_comes_back_as_it_went():
    import json

    assert DeploySummary.from_wire(json.loads(json.dumps(SUMMARY.to_wire()))) == SUMMARY


def test_the_summary_of_a_report_has_what_the_recap_prints():
    report = SimpleNamespace(observation=SimpleNamespace(hosts={"vm1": object(), "vm2": object()},
                                                         unreachable={"vm3": "no route"}),
                             changed={"vm2": 1}, lb={"vm1": "unchanged"}, sent={"vm2": 1234},
                             outcome={"web": Counter(created=1)}, rolled_back=["api"],
                             exec_count=Counter(vm1=1, vm2=3), failure="web: replica 2 did not become healthy")
    assert DeploySummary.of(report) == SUMMARY


@pytest.mark.parametrize("answer", [None, [], "x", {"changed": {}}, {"hosts": "vm1"}])
def test_a_summary_without_its_hosts_is_the_holders_fault(answer):
    with pytest.raises(HolderError, match="without its summary"):
        DeploySummary.from_wire(answer)


def holder(**changes) -> HolderInfo:
    info = HolderInfo(Path("/nowhere.sock"), 42, "inv.yaml", lends_store=True, lends_deploy=True,
                      version=__version__, code=code_identity())
    return replace(info, **changes)


@pytest.mark.parametrize("info, deploys", [
    (holder(), True),
    (None, False),
    (holder(lends_deploy=False), False),  # an older holder, or one that lends only connections
    (holder(version="0.0.1"), False),  # another kob version
    (holder(code="/opt/other/kob"), False),  # the same version from another install or checkout
])
def test_only_a_holder_running_this_very_kob_deploys_for_it(info, deploys):
    assert holder_deploys(info) is deploys


@pytest.mark.parametrize("path, shown_as, text, seen", [
    ("/home/ann/ops/inv.yaml", "inv.yaml", "/home/ann/ops/inv.yaml:12: services/web: bad", "inv.yaml:12: services/web: bad"),
    ("/home/ann/ops/inv.yaml", "inv.yaml", "env file /home/ann/ops/web.env not found", "env file web.env not found"),
    ("/home/ann/ops/inv.yaml", "ops/inv.yaml", "cert /home/ann/ops/tls/a.pem", "cert ops/tls/a.pem"),
    ("/home/ann/ops/inv.yaml", "../ops/inv.yaml", "/home/ann/ops/inv.yaml: x", "../ops/inv.yaml: x"),
    ("/home/ann/ops/inv.yaml", "/home/ann/ops/inv.yaml", "/home/ann/ops/inv.yaml: x", "/home/ann/ops/inv.yaml: x"),
    ("/home/ann/ops/inv.yaml", None, "/home/ann/ops/inv.yaml: x", "/home/ann/ops/inv.yaml: x"),
    ("/home/ann/ops/inv.yaml", "inv.yaml", "/home/ann/other/file", "/home/ann/other/file"),
])
def test_messages_name_the_inventory_and_its_files_as_the_user_did(path, shown_as, text, seen):
    assert lent._as_named(path, shown_as)(text) == seen


@pytest.mark.parametrize("request_", [
    {"inventory": "/x.yaml", "check": "yes"},
    {"inventory": "/x.yaml", "wait": -1},
    {"inventory": "/x.yaml", "wait": True},
    {"inventory": "/x.yaml", "wait": "10"},
    {"inventory": "/x.yaml", "adopt": 1},
    {"inventory": ""},
    {"inventory": ["/x.yaml"]},
    {},
])
def test_a_request_no_kob_client_sends_is_refused_before_anything_runs(request_, monkeypatch):
    ran = []
    monkeypatch.setattr(lent, "load_inventory", lambda path: ran.append(path))
    desk = lent.DeployDesk(ScriptedTransport([]), lambda: None, Path("/nowhere.sock"))
    answer = asyncio.run(desk.run(request_, lambda frame: None))
    assert list(answer) == ["kob_error"] and ran == []


INVENTORY = """\
hosts:
  vm1: {address: 198.18.0.11}
  vm2: {address: 198.18.0.12}
services:
  web: {image: "nginx:1.27", replicas: 2, port: 80}
"""


def test_the_holder_deploys_the_file_as_it_reads_it_now_with_its_own_count(tmp_path, monkeypatch):
    path = tmp_path / "inv.yaml"
    path.write_text(INVENTORY)
    seen = []

    async def deploy(inventory, *, store, pool, say, **options):
        seen.append((inventory.path, [s.name for s in inventory.services], store, options))
        say(f"planned for {inventory.path}")
        for host in inventory.hosts:
            await pool.run(SimpleNamespace(name=host.name), ["docker", "ps"])
        return SimpleNamespace(observation=SimpleNamespace(hosts={"vm1": 1, "vm2": 2}, unreachable={}),
                               changed={}, lb={}, sent={}, outcome={}, rolled_back=[],
                               exec_count=Counter(pool.exec_count), failure=None)

    monkeypatch.setattr(lent, "deploy", deploy)
    from kob.spec.inventory import load_inventory

    inv = load_inventory(path)
    pool = ScriptedTransport([("*", "docker ps", Reply())])
    pool.exec_count.update({"vm1": 40})  # other clients' commands through the same pool
    desk = lent.DeployDesk(pool, lambda: "the lent store", holder_socket_path(inv.path, inv.state_url))
    frames = []
    answer = asyncio.run(desk.run({"inventory": str(path), "shown_as": "inv.yaml", "wait": 5, "check": True},
                                  frames.append))
    assert frames == [{"say": "planned for inv.yaml"}]
    assert answer == {"report": DeploySummary(hosts=["vm1", "vm2"], exec_count={"vm1": 1, "vm2": 1}).to_wire()}
    assert seen == [(path, ["web"], "the lent store", {"check": True, "diff_lb": False, "adopt": False,
                                                       "wait": 5.0})]


def test_the_holder_refuses_an_inventory_whose_socket_is_not_its_own(tmp_path, monkeypatch):
    path = tmp_path / "inv.yaml"
    path.write_text(INVENTORY)
    monkeypatch.setattr(lent, "deploy", lambda *a, **k: pytest.fail("deployed another inventory"))
    desk = lent.DeployDesk(ScriptedTransport([]), lambda: None, tmp_path / "someone-else.sock")
    answer = asyncio.run(desk.run({"inventory": str(path), "shown_as": "inv.yaml"}, lambda frame: None))
    assert answer == {"kob_error": "inv.yaml (with its state:) is not the inventory this holder serves"}


def test_a_task_sends_its_transfer_progress_where_it_says_and_no_other_task_does():
    heard: dict[str, list[str]] = {"a": [], "b": []}

    async def transfer(name: str, sink) -> None:
        shown_by(sink)
        progress = HostProgress(f"image to {name}")
        progress.last -= 10  # as if the last line were long ago
        progress(5_000_000)

    async def both() -> None:
        await asyncio.gather(transfer("a", heard["a"].append), transfer("b", None))

    asyncio.run(both())
    assert [line.split(":")[0] for line in heard["a"]] == ["image to a"] and heard["b"] == []


class ScriptedHolder:
    """A Unix socket that reads one request and answers with ``frames`` (bytes), then closes or stays silent."""

    def __init__(self, folder: Path, frames: list[bytes], silent: bool = False):
        self.path, self.frames, self.silent = folder / "h.sock", frames, silent
        self.requests: list[dict] = []
        self.server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.server.bind(str(self.path))
        self.server.listen(1)
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        conn, _ = self.server.accept()
        with conn:
            self.requests.append(_request_of(conn))
            conn.sendall(b"".join(self.frames))
            if self.silent:
                conn.recv(1)  # until the client gives up and closes

    def info(self) -> HolderInfo:
        return holder(path=self.path)


def _request_of(conn: socket.socket) -> dict:
    import json
    import struct

    head = conn.recv(4)
    (length,) = struct.unpack(">I", head)
    body = b""
    while len(body) < length:
        body += conn.recv(length - len(body))
    return json.loads(body[1:])


def frames(*answers: dict) -> list[bytes]:
    return [json_frame(answer) for answer in answers]


def test_the_client_prints_as_the_holder_says_and_returns_its_summary(tmp_path):
    scripted = ScriptedHolder(tmp_path, frames({"say": "+ web replica 1 on vm1"}, {"alive": True},
                                               {"progress": "image to vm1: 1.0 MB"}, {"say": "Plan: 1 to create"},
                                               {"report": SUMMARY.to_wire()}))
    said, progress = [], []
    summary = deploy_through(scripted.info(), {"inventory": "/i.yaml", "wait": 0}, said.append, progress.append)
    assert summary == SUMMARY
    assert said == ["+ web replica 1 on vm1", "Plan: 1 to create"] and progress == ["image to vm1: 1.0 MB"]
    assert scripted.requests == [{"inventory": "/i.yaml", "wait": 0, "op": "deploy", "progress": True}]


@pytest.mark.parametrize("answers, error, words", [
    (frames({"kob_error": "inv.yaml:3: services/web: unknown key"}), KobError, "inv.yaml:3: services/web: unknown key"),
    (frames({"error": {"kind": "holder", "message": "TypeError: boom"}}), HolderError, "failed (TypeError: boom)"),
    (frames({"say": "+ web replica 1 on vm1"}), HolderError, "went away while deploying"),
    ([bytes_frame(b"x")], HolderError, "answered something that is not a deploy's"),
    ([b"\x00\x00\x00\x04jnot"], HolderError, "answered something that is not a deploy's"),
    ([b"\x00\x00\x00\x09j{\"say\""], HolderError, "went away while deploying"),  # cut in the middle of a frame
])
def test_a_holder_that_fails_or_goes_away_ends_the_command_in_one_line(tmp_path, answers, error, words):
    scripted = ScriptedHolder(tmp_path, answers)
    with pytest.raises(error) as raised:
        deploy_through(scripted.info(), {"inventory": "/i.yaml"}, lambda text: None, None)
    assert words in str(raised.value) and "\n" not in str(raised.value)
    assert type(raised.value) is error


def test_a_holder_that_stops_answering_ends_the_command(tmp_path, monkeypatch):
    monkeypatch.setattr(client, "SILENCE_BOUND", 0.3)
    scripted = ScriptedHolder(tmp_path, frames({"say": "waiting for the deploy lock"}), silent=True)
    with pytest.raises(HolderError, match="stopped answering for 0.3 s while deploying"):
        deploy_through(scripted.info(), {"inventory": "/i.yaml"}, lambda text: None, None)


class SlowDeploys:
    """A holder's deploys that say one line, then run until cancelled (or ``seconds``)."""

    def __init__(self, seconds: float = 60):
        self.seconds, self.cancelled = seconds, threading.Event()

    async def run(self, request: dict, send) -> dict:
        send({"say": f"deploying {request['inventory']}"})
        try:
            await asyncio.sleep(self.seconds)
        except asyncio.CancelledError:
            self.cancelled.set()
            raise
        return {"report": SUMMARY.to_wire()}


def test_a_holder_says_it_lends_deploys_and_keeps_a_long_one_alive(tmp_path, monkeypatch):
    import kob.transport.holder as holder_module

    monkeypatch.setattr(holder_module, "ALIVE_EVERY", 0.05)
    with lending_holder(f"sqlite:///{tmp_path}/s.db", SlowDeploys(0.5)) as info:
        assert info.lends_deploy and info.version == __version__ and info.code == code_identity()
        answers = asyncio.run(_all_answers(info.path, {"op": "deploy", "inventory": "/i.yaml"}))
    assert answers[0] == {"say": "deploying /i.yaml"} and answers[-1] == {"report": SUMMARY.to_wire()}
    assert {"alive": True} in answers[1:-1] and len(answers) >= 4


def test_a_client_that_leaves_cancels_its_deploy_in_the_holder(tmp_path):
    deploys = SlowDeploys()
    with lending_holder(f"sqlite:///{tmp_path}/s.db", deploys) as info:
        asyncio.run(_leave_after_first_line(info.path))
        assert deploys.cancelled.wait(30)


async def _all_answers(path: Path, request: dict) -> list[dict]:
    reader, writer = await asyncio.open_unix_connection(str(path))
    writer.write(json_frame(request))
    answers = []
    while (frame := await read_frame(reader)) is not None:
        answers.append(frame[1])
    writer.close()
    return answers


async def _leave_after_first_line(path: Path) -> None:
    reader, writer = await asyncio.open_unix_connection(str(path))
    writer.write(json_frame({"op": "deploy", "inventory": "/i.yaml"}))
    assert (await read_frame(reader))[1] == {"say": "deploying /i.yaml"}
    writer.close()
