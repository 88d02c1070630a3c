"""`kob deploy` run by the inventory's connection holder, for a command of the same user (the client side).

A holder that lends deploys (`kob connect`, `kob serve`) has the deploy code loaded, the SSH connections
open and the store open, so a deploy through it costs the command only its start and one Unix socket:

    client → {"op": "deploy", "inventory": PATH, "check": B, "diff_lb": B, "wait": S, "adopt": B, "progress": B}
    holder → {"say": TEXT} ... {"progress": LINE} ... {"alive": true} ...   while it runs
             {"report": SUMMARY} | {"kob_error": MESSAGE} | {"error": HOLDER_ERROR}   at the end

The command prints what the holder says as it comes, then the recap from the summary: the same lines and
exit code as a deploy of its own. The client leaving (Ctrl-C) cancels the deploy in the holder, as Ctrl-C
cancels one of its own. A holder that goes away or stops answering ends the command in one HolderError;
the deploy is not started again: it may have done some of its steps (as a killed deploy may have).

This side imports no asyncio and no deploy code; kob.deploy.lent is the holder's side.
"""

from __future__ import annotations

import socket
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from kob.errors import HolderError, KobError
from kob.transport.holder_socket import HolderInfo, code_identity
from kob.transport.holder_wire import BYTES, error_from_wire, json_frame, split_frame

SILENCE_BOUND = 60.0  # s without a frame (the holder sends one at least every ALIVE_EVERY) before it counts as lost


@dataclass(frozen=True)
class DeploySummary:
    """What the recap of a deploy prints (kob.cli.recap), from a DeployReport here or through a holder."""

    hosts: list[str]
    unreachable: list[str] = field(default_factory=list)
    changed: dict[str, int] = field(default_factory=dict)
    lb: dict[str, str] = field(default_factory=dict)
    sent: dict[str, int] = field(default_factory=dict)
    outcome: dict[str, dict[str, int]] = field(default_factory=dict)
    rolled_back: list[str] = field(default_factory=list)
    exec_count: dict[str, int] = field(default_factory=dict)
    failure: str | None = None

    @classmethod
    def of(cls, report: Any) -> DeploySummary:
        """The summary of a kob.deploy.converge.DeployReport."""
        return cls(hosts=list(report.observation.hosts), unreachable=list(report.observation.unreachable),
                   changed=dict(report.changed), lb=dict(report.lb), sent=dict(report.sent),
                   outcome={service: dict(counts) for service, counts in report.outcome.items()},
                   rolled_back=list(report.rolled_back), exec_count=dict(Counter(report.exec_count)),
                   failure=report.failure)

    def to_wire(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_wire(cls, data: Any) -> DeploySummary:
        if not isinstance(data, dict) or not isinstance(data.get("hosts"), list):
            raise HolderError("the connection holder answered a deploy without its summary")
        known = {name: data[name] for name in cls.__dataclass_fields__ if name in data}
        return cls(**known)


def holder_deploys(holder: HolderInfo | None) -> bool:
    """Whether ``holder`` runs deploys for this kob: it lends them and runs this very kob."""
    from kob import __version__

    return holder is not None and holder.lends_deploy and holder.version == __version__ \
        and holder.code == code_identity()


def deploy_through(holder: HolderInfo, request: dict[str, Any], say: Callable[[str], None],
                   progress: Callable[[str], None] | None) -> DeploySummary:
    """Ask ``holder`` to deploy; print its lines with ``say`` (progress lines with ``progress``) as they come.
    A KobError the deploy met is raised here as one; a lost holder is a HolderError."""
    request = {**request, "op": "deploy", "progress": progress is not None}
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(SILENCE_BOUND)
        try:
            sock.connect(str(holder.path))
            sock.sendall(json_frame(request))
        except OSError as error:
            raise _lost(holder, f"could not be reached ({error.strerror or error})") from None
        for answer in _answers(sock, holder):
            if "say" in answer:
                say(str(answer["say"]))
            elif "progress" in answer:
                if progress is not None:
                    progress(str(answer["progress"]))
            elif "report" in answer:
                return DeploySummary.from_wire(answer["report"])
            elif "kob_error" in answer:
                raise KobError(str(answer["kob_error"]))
            elif "error" in answer:
                error = error_from_wire(answer["error"])
                raise error if isinstance(error, KobError) else _lost(holder, f"failed ({error})")
    raise _lost(holder, "went away")


def _answers(sock: socket.socket, holder: HolderInfo):
    """The holder's JSON frames as they come, until it closes the connection."""
    buffer = b""
    while True:
        while (frame := _split(buffer, holder)) is not None:
            kind, value, buffer = frame
            if kind == BYTES or not isinstance(value, dict):
                raise _lost(holder, "answered something that is not a deploy's")
            yield value
        try:
            chunk = sock.recv(1 << 16)
        except TimeoutError:
            raise _lost(holder, f"stopped answering for {SILENCE_BOUND:g} s") from None
        except OSError as error:
            raise _lost(holder, f"broke off ({error.strerror or error})") from None
        if not chunk:
            return
        buffer += chunk


def _split(buffer: bytes, holder: HolderInfo):
    try:
        return split_frame(buffer)
    except HolderError as error:
        raise _lost(holder, f"answered something that is not a deploy's ({error})") from None


def _lost(holder: HolderInfo, how: str) -> HolderError:
    return HolderError(f"{holder.describe()} {how} while deploying; not tried again, since the deploy may have "
                       "done some of its steps: check with `kob status`, then deploy again")
