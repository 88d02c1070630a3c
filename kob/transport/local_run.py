"""Run one command on the manager itself, as the transport runs one on a host: an argv (no shell), stdin,
a time limit, and a Result. ``delegate_to: localhost`` in kob run goes through here."""

from __future__ import annotations

import asyncio
import shlex
import time
from collections.abc import Sequence

from kob.errors import CommandTimeout, HostUnreachable
from kob.transport.result import Result

LOCAL_NAME = "localhost"
DEFAULT_TIMEOUT = 3600.0


async def run_local(argv: Sequence[str], input: bytes | None = None, timeout: float | None = None) -> Result:
    """``argv`` run here, its words given to the program as they are; never raises for a non-zero exit."""
    started = time.monotonic()
    try:
        process = await asyncio.create_subprocess_exec(
            *argv, stdin=asyncio.subprocess.PIPE if input is not None else asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    except OSError as error:
        raise HostUnreachable(LOCAL_NAME, f"cannot start {shlex.join(argv)[:200]}: {error}") from None
    try:
        out, err = await asyncio.wait_for(process.communicate(input), timeout or DEFAULT_TIMEOUT)
    except TimeoutError:
        process.kill()
        await process.wait()
        raise CommandTimeout(LOCAL_NAME, f"{shlex.join(argv)[:200]} did not finish within "
                                         f"{timeout or DEFAULT_TIMEOUT:g} s") from None
    return Result(LOCAL_NAME, tuple(argv), process.returncode if process.returncode is not None else -1,
                  out.decode(errors="replace"), err.decode(errors="replace"), time.monotonic() - started)
