"""Ad-hoc commands on many hosts at once (`kob exec`)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Sequence

from kob.errors import TransportError
from kob.transport.result import Result
from kob.transport.base import SshTarget, Transport


@dataclass(frozen=True)
class HostOutcome:
    """One host's answer: a Result, or the transport error that kept it from one."""

    host: str
    result: Result | None = None
    error: TransportError | None = None

    @property
    def status(self) -> str:
        if self.error is not None:
            return "unreachable"
        return "ok" if self.result.ok else "failed"

    @property
    def recap(self) -> str:
        if self.error is not None:
            return f"unreachable: {self.error}"
        return "ok" if self.result.ok else f"failed rc={self.result.rc}"

    def as_json(self) -> dict:
        data: dict = {"host": self.host, "status": self.status}
        if self.result is not None:
            data.update(rc=self.result.rc, stdout=self.result.stdout, stderr=self.result.stderr,
                        duration=round(self.result.duration, 3))
        else:
            data["error"] = str(self.error)
        return data


async def run_everywhere(pool: Transport, targets: Sequence[SshTarget], argv: Sequence[str]) -> list[HostOutcome]:
    """Run argv on every target in parallel; outcomes in the targets' order."""
    async def one(target: SshTarget) -> HostOutcome:
        try:
            return HostOutcome(target.name, result=await pool.run(target, argv))
        except TransportError as error:
            return HostOutcome(target.name, error=error)

    return list(await asyncio.gather(*(one(target) for target in targets)))


def shell_argv(command: str) -> list[str]:
    """A user's shell command line as one quoted argument to sh -c."""
    return ["sh", "-c", command]
