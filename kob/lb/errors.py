"""Errors of the load balancer layer; each names the lb host.

    KobError
    └── LbError
        ├── LbConfigInvalid   haproxy -c refused the new config; the old one keeps serving
        ├── LbNotApplied      HAProxy did not start, or a reload did not take (e.g. a port in use)
        └── LbRuntimeRefused  the runtime API refused a command (add/drain/del server)
"""

from __future__ import annotations

from kob.errors import KobError


class LbError(KobError):
    """Something went wrong with HAProxy on one lb host."""

    def __init__(self, host: str, message: str):
        self.host = host
        super().__init__(f"{host}: {message}")


class LbConfigInvalid(LbError):
    """HAProxy's own check refused the config kob rendered."""

    def __init__(self, host: str, errors: list[str]):
        self.errors = errors
        super().__init__(host, "HAProxy refused the new config (the old one keeps serving): " + "; ".join(errors))


class LbNotApplied(LbError):
    """The config is valid, but HAProxy did not start or reload with it."""


class LbRuntimeRefused(LbError):
    """The runtime API answered a command with an error."""

    def __init__(self, host: str, command: str, errors: list[str]):
        self.command, self.errors = command, errors
        super().__init__(host, f"HAProxy's runtime API refused `{command}`: {'; '.join(errors[:3])}")
