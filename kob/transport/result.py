"""What running one command on one host gave."""

from __future__ import annotations

import shlex
from dataclasses import dataclass

from kob.errors import CommandFailed


@dataclass(frozen=True)
class Result:
    host: str
    argv: tuple[str, ...]
    rc: int
    stdout: str
    stderr: str
    duration: float

    @property
    def ok(self) -> bool:
        return self.rc == 0

    @property
    def command_line(self) -> str:
        """The argv as the remote shell receives it: every word quoted."""
        return shlex.join(self.argv)

    def check(self) -> "Result":
        """This result, or CommandFailed naming the host when the command failed."""
        if not self.ok:
            raise CommandFailed(self)
        return self
