"""The holder's wire format as tables: frames split back into what was framed; malformed frames refused."""

from __future__ import annotations

import asyncio
import struct
from pathlib import Path

import pytest

from kob.errors import CommandTimeout, HolderError, HostKeyRejected, HostUnreachable
from kob.transport.base import SshTarget
from kob.transport.holder_wire import (MAX_FRAME, bytes_frame, error_from_wire, error_to_wire, json_frame, read_frame,
                                       result_from_wire, result_to_wire, split_frame, target_from_wire,
                                       target_to_wire)
from kob.transport.result import Result


@pytest.mark.parametrize("frame, kind, value", [
    (json_frame({"op": "hello"}), b"j", {"op": "hello"}),
    (json_frame({"line": "é \n x"}), b"j", {"line": "é \n x"}),
    (bytes_frame(b"\x00\xffraw"), b"b", b"\x00\xffraw"),
    (bytes_frame(b""), b"b", b""),
])
def test_a_frame_splits_back_into_its_kind_and_value(frame, kind, value):
    assert split_frame(frame + b"rest") == (kind, value, b"rest")


@pytest.mark.parametrize("cut", [0, 3, 4, 7])
def test_an_incomplete_frame_waits_for_more(cut):
    assert split_frame(json_frame({"a": 1})[:cut]) is None


@pytest.mark.parametrize("buffer, why", [
    (struct.pack(">I", 0), "a frame of 0 bytes"),
    (struct.pack(">I", MAX_FRAME + 1) + b"j", f"a frame of {MAX_FRAME + 1} bytes"),
    (struct.pack(">I", 3) + b"xab", "unknown kind"),
    (struct.pack(">I", 3) + b"j{]", "does not parse"),
    (struct.pack(">I", 3) + b"j[]", "not an object"),
])
def test_a_malformed_frame_is_refused(buffer, why):
    with pytest.raises(HolderError, match=why):
        split_frame(buffer)


async def _read_all(data: bytes) -> list:
    reader = asyncio.StreamReader()
    reader.feed_data(data)
    reader.feed_eof()
    frames = []
    while (frame := await read_frame(reader)) is not None:
        frames.append(frame)
    return frames


async def test_frames_read_from_a_stream_end_cleanly_between_frames():
    data = json_frame({"op": "run"}) + bytes_frame(b"input") + json_frame({"end": True})
    assert await _read_all(data) == [(b"j", {"op": "run"}), (b"b", b"input"), (b"j", {"end": True})]


@pytest.mark.parametrize("cut", [2, 6])
async def test_a_stream_cut_inside_a_frame_is_an_error(cut):
    with pytest.raises(HolderError, match="ended inside a frame"):
        await _read_all(json_frame({"op": "hello"}) + json_frame({"op": "run"})[:cut])


TARGET = SshTarget("vm1", "198.18.6.11", 22, "root", Path("/k/id"), Path("/k/known_hosts"), 5.0, 60.0)


@pytest.mark.parametrize("target", [TARGET, SshTarget("vm2", "h", 2222, "u", None, Path("kh"), 1, 2)])
def test_a_target_travels_unchanged(target):
    assert target_from_wire(target_to_wire(target)) == target


@pytest.mark.parametrize("change", [{"port": "22"}, {"name": None}, {"known_hosts": 3}, {"key": 1}])
def test_a_malformed_target_is_refused(change):
    with pytest.raises(HolderError, match="malformed target"):
        target_from_wire({**target_to_wire(TARGET), **change})


def test_a_target_without_a_field_is_refused():
    data = target_to_wire(TARGET)
    del data["user"]
    with pytest.raises(HolderError, match="malformed target"):
        target_from_wire(data)


def test_a_result_travels_unchanged():
    result = Result("vm1", ("sh", "-c", "echo ü"), 3, "ü\n", "warn\n", 0.25)
    assert result_from_wire(result_to_wire(result)) == result


@pytest.mark.parametrize("error", [
    HostUnreachable("vm1", "no answer from 198.18.6.11:22 within 5 s"),
    HostKeyRejected("vm2", "host key of h:22 is not trusted"),
    CommandTimeout("vm3", "sleep 9 did not finish within 1 s"),
])
def test_a_transport_error_is_raised_again_as_if_met_directly(error):
    again = error_from_wire(error_to_wire(error))
    assert (type(again), again.host, str(again)) == (type(error), error.host, str(error))


@pytest.mark.parametrize("error, message", [
    (RuntimeError("boom"), "RuntimeError: boom"),
    (HolderError("odd request"), "HolderError: odd request"),
])
def test_the_holders_own_failure_comes_back_as_its_message(error, message):
    assert error_from_wire(error_to_wire(error)) == message
