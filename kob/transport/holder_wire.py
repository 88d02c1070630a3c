"""What a connection holder and its clients say on the local socket: frames, and the values in them.

    frame = length · kind · body     length: 4 bytes, big-endian, of kind and body together
    kind  = b"j"  body is one JSON object
          | b"b"  body is raw bytes (a command's stdin, a chunk of a stream)

One Unix connection carries one request. The client sends a JSON frame
``{"op": "hello" | "run" | "lines" | "feed" | "relay", ...}``; ``run`` with input is followed by
one bytes frame, ``feed`` by its chunks as bytes frames and ``{"end": true}``. The holder answers
``{"line": ...}`` frames (lines) or ``{"moved": N}`` frames (feed, relay) as they come, then one
last frame: ``{"result": R}``, ``{"results": [R, R], "moved": N}``, ``{"done": true}`` or
``{"error": E}``. The client closing its end stops the request's remote command.

Pure: no I/O here beyond reading frames from an asyncio stream.
"""

from __future__ import annotations

import json
import struct
from dataclasses import asdict, fields
from pathlib import Path
from typing import Any

from kob.errors import AuthFailed, CommandTimeout, HolderError, HostKeyRejected, HostUnreachable, TransportError
from kob.transport.base import SshTarget
from kob.transport.result import Result

MAX_FRAME = 16 << 20  # bytes in one frame: a request, an answer, a chunk of a stream
_HEAD = struct.Struct(">I")
JSON, BYTES = b"j", b"b"

ALIVE_EVERY = 5.0  # s between the frames a holder sends while it runs a deploy for a client
TRANSPORT_ERRORS = {cls.__name__: cls for cls in (HostUnreachable, AuthFailed, HostKeyRejected, CommandTimeout)}


def json_frame(value: dict[str, Any]) -> bytes:
    body = JSON + json.dumps(value, separators=(",", ":")).encode()
    return _HEAD.pack(len(body)) + body


def bytes_frame(data: bytes) -> bytes:
    return _HEAD.pack(len(data) + 1) + BYTES + data


def split_frame(buffer: bytes) -> tuple[bytes, Any, bytes] | None:
    """(kind, value, what follows) of the first whole frame in ``buffer``, or None while it is incomplete.

    Raises HolderError for a frame no holder or client writes (too long, empty, of an unknown kind).
    """
    if len(buffer) < _HEAD.size:
        return None
    (length,) = _HEAD.unpack_from(buffer)
    _check_length(length)
    end = _HEAD.size + length
    if len(buffer) < end:
        return None
    kind, body = buffer[_HEAD.size:_HEAD.size + 1], buffer[_HEAD.size + 1:end]
    return kind, _decoded(kind, body), buffer[end:]


async def read_frame(reader) -> tuple[bytes, Any] | None:
    """The next frame of an asyncio StreamReader as (kind, value); None at a clean end between frames.

    A stream cut inside a frame, or a malformed frame, raises HolderError."""
    import asyncio

    try:
        head = await reader.readexactly(_HEAD.size)
    except asyncio.IncompleteReadError as cut:
        if cut.partial:
            raise HolderError("the stream ended inside a frame") from None
        return None
    (length,) = _HEAD.unpack(head)
    _check_length(length)
    try:
        body = await reader.readexactly(length)
    except asyncio.IncompleteReadError:
        raise HolderError("the stream ended inside a frame") from None
    return body[:1], _decoded(body[:1], body[1:])


def _check_length(length: int) -> None:
    if not 1 <= length <= MAX_FRAME:
        raise HolderError(f"a frame of {length} bytes (1 to {MAX_FRAME} allowed)")


def _decoded(kind: bytes, body: bytes) -> Any:
    if kind == BYTES:
        return body
    if kind != JSON:
        raise HolderError(f"a frame of unknown kind {kind!r}")
    try:
        value = json.loads(body)
    except ValueError:
        raise HolderError("a JSON frame that does not parse") from None
    if not isinstance(value, dict):
        raise HolderError("a JSON frame that is not an object")
    return value


def target_to_wire(target: SshTarget) -> dict[str, Any]:
    data = asdict(target)
    data["key"] = str(target.key) if target.key else None
    data["known_hosts"] = str(target.known_hosts)
    return data


def target_from_wire(data: dict[str, Any]) -> SshTarget:
    """The target a request names; HolderError when a field is missing or of the wrong type."""
    types = {"name": str, "address": str, "port": int, "user": str, "key": (str, type(None)), "known_hosts": str,
             "connect_timeout": (int, float), "command_timeout": (int, float)}
    if not all(isinstance(data.get(name), kind) for name, kind in types.items()):
        raise HolderError("a request with a malformed target")
    values = {f.name: data[f.name] for f in fields(SshTarget)}
    values["key"] = Path(values["key"]) if values["key"] else None
    values["known_hosts"] = Path(values["known_hosts"])
    return SshTarget(**values)


def result_to_wire(result: Result) -> dict[str, Any]:
    return {"host": result.host, "argv": list(result.argv), "rc": result.rc, "stdout": result.stdout,
            "stderr": result.stderr, "duration": result.duration}


def result_from_wire(data: dict[str, Any]) -> Result:
    try:
        return Result(data["host"], tuple(data["argv"]), int(data["rc"]), data["stdout"], data["stderr"],
                      float(data["duration"]))
    except (KeyError, TypeError, ValueError):
        raise HolderError("an answer with a malformed result") from None


def error_to_wire(error: BaseException) -> dict[str, Any]:
    """A transport error as its class, host and message; anything else as the holder's own failure."""
    if isinstance(error, TransportError) and type(error).__name__ in TRANSPORT_ERRORS:
        message = str(error).removeprefix(f"{error.host}: ")
        return {"kind": type(error).__name__, "host": error.host, "message": message}
    return {"kind": "holder", "message": f"{type(error).__name__}: {error}"}


def error_from_wire(data: dict[str, Any]) -> TransportError | str:
    """The transport error the holder met, raised as if the host had been reached directly; or, for the
    holder's own failure, its message."""
    kind = TRANSPORT_ERRORS.get(str(data.get("kind")))
    if kind is None:
        return str(data.get("message", "no reason given"))
    return kind(str(data.get("host", "?")), str(data.get("message", "")))
