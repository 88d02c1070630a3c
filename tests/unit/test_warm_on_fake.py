"""The warm transport against a real holder on a real Unix socket, with the scripted fake in place of SSH:
every Transport call gives what the fake gives directly; a holder that goes away ends the command in one
HolderError naming it and the hosts, and nothing is sent twice."""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from kob.errors import HolderError, HostUnreachable
from kob.transport.holder import ConnectionHolder
from kob.transport.holder_socket import probe
from kob.transport.warm import WarmTransport
from tests.helpers.fake_transport import Reply, ScriptedTransport, target


class HeldFake(ScriptedTransport):
    """The fake as a holder's pool: `sleep` commands wait until released; broken connections are dropped."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.dropped: list[str] = []
        self.sleeping = 0

    def drop_broken(self, target) -> None:
        self.dropped.append(target.name)

    async def run(self, target, argv, *, input=None, timeout=None):
        if argv[0] == "sleep":
            self.sleeping += 1
            await asyncio.sleep(float(argv[1]))
        return await super().run(target, argv, input=input, timeout=timeout)


TABLE = [
    ("vm1", "hostname", Reply(stdout="vm1\n")),
    ("vm2", "hostname", Reply(rc=3, stdout="", stderr="no\n")),
    ("vm3", "", HostUnreachable("vm3", "no answer from vm3.invalid:22 within 1 s")),
    ("*", "cat", lambda host, argv, data: Reply(stdout=(data or b"").decode("latin-1"))),
    ("*", "journal", Reply(stdout="a\nb\n\nc\n")),
]


@pytest.fixture
async def held():
    """A holder serving a fresh fake on a socket in a private folder; the client; the fake."""
    folder = Path(tempfile.mkdtemp(prefix="kob-w-", dir="/tmp"))
    os.chmod(folder, 0o700)
    fake = HeldFake(TABLE)
    holder = ConnectionHolder(fake, folder / "h.sock", "inv.yaml", lambda line: None)
    await holder.start()
    try:
        info = await asyncio.to_thread(probe, holder.path)
        yield holder, WarmTransport(info), fake
    finally:
        await holder.stop()
        shutil.rmtree(folder)


async def test_the_socket_is_private_and_the_hello_names_the_holder(held):
    holder, client, _ = held
    assert oct(os.stat(holder.path).st_mode & 0o777) == "0o600"
    assert (client.holder.pid, client.holder.inventory) == (os.getpid(), "inv.yaml")


@pytest.mark.parametrize("host, rc, stdout, stderr", [("vm1", 0, "vm1\n", ""), ("vm2", 3, "", "no\n")])
async def test_run_gives_the_result_the_pool_gives(held, host, rc, stdout, stderr):
    _, client, fake = held
    result = await client.run(target(host), ["hostname"])
    assert (result.host, result.argv, result.rc, result.stdout, result.stderr) == (
        host, ("hostname",), rc, stdout, stderr)
    assert fake.commands(host) == ["hostname"] and client.exec_count[host] == 1


async def test_input_travels_as_bytes(held):
    _, client, fake = held
    data = bytes(range(256)).decode("latin-1").encode()
    result = await client.run(target("vm1"), ["cat"], input=b"\x00binary\xff" + data)
    assert fake.sent[-1].input == b"\x00binary\xff" + data
    assert result.stdout == (b"\x00binary\xff" + data).decode("latin-1")


async def test_a_transport_error_is_raised_as_if_met_directly_and_the_connection_dropped(held):
    _, client, fake = held
    with pytest.raises(HostUnreachable, match="^vm3: no answer from vm3.invalid:22 within 1 s$"):
        await client.run(target("vm3"), ["hostname"])
    assert fake.dropped.count("vm3") == 2  # looked at before the request, dropped after its failure


async def test_lines_come_as_they_are(held):
    _, client, _ = held
    assert [line async for line in client.lines(target("vm1"), ["journal"])] == ["a", "b", "", "c"]


async def test_feed_streams_chunks_and_reports_progress(held):
    _, client, fake = held
    heard: list[int] = []

    async def chunks() -> AsyncIterator[bytes]:
        for piece in (b"abc", b"", b"\x00" * 70000):
            yield piece

    _, moved = await client.feed(target("vm2"), ["cat"], chunks(), heard.append)
    assert moved == 70003 and fake.sent[-1].input == b"abc" + b"\x00" * 70000
    assert heard[-1] == 70003 and heard == sorted(heard)


async def test_relay_gives_both_results(held):
    _, client, fake = held
    sent, loaded, moved = await client.relay(target("vm1"), ["hostname"], target("vm2"), ["cat"])
    assert (sent.host, loaded.host, moved) == ("vm1", "vm2", 4)
    assert fake.sent[-1].input == b"vm1\n"


async def test_many_requests_at_once_are_served_concurrently(held):
    _, client, fake = held
    results = await asyncio.gather(*(client.run(target(f"h{n}"), ["sleep", "0.2"]) for n in range(30)))
    assert [r.host for r in results] == [f"h{n}" for n in range(30)]
    assert fake.sleeping == 30


async def test_a_holder_gone_mid_command_ends_it_naming_the_holder_and_hosts_and_sends_nothing_twice(held):
    holder, client, fake = held
    out = [asyncio.ensure_future(client.run(target(name), ["sleep", "30"])) for name in ("vm1", "vm2")]
    while fake.sleeping < 2:
        await asyncio.sleep(0.01)
    await holder.stop()  # as when it is killed: every client's connection closes at once
    with pytest.raises(HolderError) as lost:
        await out[0]
    message = str(lost.value)
    assert "\n" not in message
    assert f"the connection holder of inv.yaml (pid {os.getpid()}, {holder.path}) went away" in message
    assert "while running on vm1, vm2; not tried again" in message
    with pytest.raises(HolderError):
        await out[1]
    with pytest.raises(HolderError, match="went away while running on vm1, vm2"):
        await client.run(target("vm1"), ["hostname"])  # later requests are not sent anywhere either
    assert fake.commands() == []  # the sleeps never finished; nothing else was sent


async def test_a_holder_that_stops_answering_is_given_up_on_in_one_line(held, monkeypatch):
    from kob.transport import warm

    monkeypatch.setattr(warm, "ANSWER_SLACK", 0.0)  # the fake's target: 1 s to connect, 1 s per command
    _, client, fake = held
    with pytest.raises(HolderError, match=r"did not answer within 2 s while running on vm1; not tried again"):
        await client.run(target("vm1"), ["sleep", "30"])
    assert fake.commands() == []


@pytest.mark.parametrize("no_holder, chosen", [(None, "WarmTransport"), ("1", "SshPool")])
async def test_commands_choose_a_live_holder_unless_told_not_to(tmp_path, monkeypatch, no_holder, chosen):
    from kob.cli.runner import open_transport
    from kob.spec.inventory import load_inventory
    from kob.transport.holder_socket import holder_socket_path

    (tmp_path / "inv.yaml").write_text("hosts:\n  vm1: {address: 10.0.0.1}\n")
    inventory = load_inventory(tmp_path / "inv.yaml")
    folder = Path(tempfile.mkdtemp(prefix="kob-c-", dir="/tmp"))
    monkeypatch.setenv("KOB_HOLDER_DIR", str(folder))
    if no_holder:
        monkeypatch.setenv("KOB_NO_HOLDER", no_holder)
    assert type(await asyncio.to_thread(open_transport, inventory)).__name__ == "SshPool"  # none runs yet
    holder = ConnectionHolder(HeldFake(), holder_socket_path(inventory.path, inventory.state_url), "i", print)
    await holder.start()
    try:
        assert type(await asyncio.to_thread(open_transport, inventory)).__name__ == chosen
    finally:
        await holder.stop()
        shutil.rmtree(folder)
    assert type(await asyncio.to_thread(open_transport, inventory)).__name__ == "SshPool"  # gone again
