"""The scripted fake transport itself: rows answer in order, answers in turn, raises, records."""

from __future__ import annotations

import pytest

from kob.errors import HostUnreachable
from tests.helpers.fake_transport import Reply, ScriptedTransport, UnscriptedCommand, target


async def test_first_matching_row_answers_and_everything_is_recorded():
    fake = ScriptedTransport([("vm1", "docker ps", Reply(stdout="a\n")), ("*", "docker", Reply(rc=3))])
    first = await fake.run(target("vm1"), ["docker", "ps", "-a"])
    other = await fake.run(target("vm2"), ["docker", "ps"])
    assert (first.rc, first.stdout, other.rc) == (0, "a\n", 3)
    assert fake.commands() == ["docker ps -a", "docker ps"]
    assert fake.commands("vm2") == ["docker ps"] and fake.exec_count == {"vm1": 1, "vm2": 1}


async def test_a_list_answers_in_turn_and_its_last_repeats():
    fake = ScriptedTransport([("*", "probe", [Reply(rc=1), Reply(rc=0)])])
    codes = [(await fake.run(target("h"), ["probe"])).rc for _ in range(3)]
    assert codes == [1, 0, 0]


async def test_an_exception_is_raised_and_unscripted_commands_fail_without_a_default():
    fake = ScriptedTransport([("vm2", "", HostUnreachable("vm2", "no route"))], default=None)
    with pytest.raises(HostUnreachable):
        await fake.run(target("vm2"), ["true"])
    with pytest.raises(UnscriptedCommand):
        await fake.run(target("vm1"), ["true"])


async def test_feed_and_relay_carry_the_bytes_and_the_input_is_kept():
    fake = ScriptedTransport([("src", "docker save", Reply(stdout="IMAGE"))])

    async def chunks():
        yield b"ab"
        yield b"cd"

    heard = []
    loaded, moved = await fake.feed(target("vm1"), ["docker", "load"], chunks(), heard.append)
    sent, loaded2, moved2 = await fake.relay(target("src"), ["docker", "save", "x"], target("vm2"), ["docker", "load"])
    assert (loaded.rc, moved, heard, moved2) == (0, 4, [2, 4], 5)
    assert [s.input for s in fake.sent if s.host != "src"] == [b"abcd", b"IMAGE"]
    assert [line async for line in fake.lines(target("src"), ["docker", "save", "x"])] == ["IMAGE"]
