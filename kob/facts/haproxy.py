"""Parse what HAProxy's runtime API answered (pure): `show stat` CSV and command replies."""

from __future__ import annotations

import csv
from dataclasses import dataclass

from kob.errors import ObservationError

SERVER_TYPE = "2"  # the `type` column: 0 frontend, 1 backend, 2 server, 3 listener

# Replies of the commands kob sends that mean success (HAProxy prints nothing for most others).
ADDED = "New server registered."
ALREADY_THERE = "Already exists a server with the same name in backend."
DELETED = "Server deleted."
NO_SUCH_SERVER = "No such server."
ADDRESS_NOTE = "by 'stats socket command'"  # ends `set server ... addr` replies, changed or not


@dataclass(frozen=True)
class ServerStat:
    """One server line of `show stat`."""

    backend: str
    server: str
    status: str  # UP | UP 1/2 | DOWN | DOWN 1/2 | DRAIN | MAINT | NOLB | no check ...
    current_sessions: int
    queued: int
    total_sessions: int
    weight: int
    check_status: str | None  # L7OK, L4CON, INI ...; None without checks or in maintenance
    address: str | None  # address:port
    session_rate: int = 0  # sessions per second over the last second (`rate`)
    requests: int | None = None  # HTTP requests sent to it since HAProxy started (`req_tot`); None in TCP mode

    @property
    def up(self) -> bool:
        """Taking new sessions (UP, also while one failed check does not yet count as down)."""
        return self.status.startswith("UP") or self.status == "no check"


def parse_show_stat(host: str, text: str) -> tuple[ServerStat, ...]:
    """The server lines of `show stat` output, in HAProxy's order."""
    lines = [line for line in text.splitlines() if line.strip()]
    if not lines or not lines[0].startswith("# "):
        raise ObservationError(f"{host}: unexpected reply to `show stat`: {text[:200]!r}")
    header = lines[0][2:].split(",")
    missing = {"pxname", "svname", "scur", "qcur", "stot", "status", "weight", "type"} - set(header)
    if missing:
        raise ObservationError(f"{host}: `show stat` has no column {', '.join(sorted(missing))}")
    rows = (dict(zip(header, fields)) for fields in csv.reader(lines[1:]))
    return tuple(_server(host, row) for row in rows if row.get("type") == SERVER_TYPE)


def _server(host: str, row: dict[str, str]) -> ServerStat:
    try:
        return ServerStat(
            backend=row["pxname"], server=row["svname"], status=row["status"],
            current_sessions=int(row["scur"] or 0), queued=int(row["qcur"] or 0),
            total_sessions=int(row["stot"] or 0), weight=int(row["weight"] or 0),
            check_status=row.get("check_status") or None, address=row.get("addr") or None,
            session_rate=int(row.get("rate") or 0), requests=int(row["req_tot"]) if row.get("req_tot") else None)
    except ValueError:
        raise ObservationError(f"{host}: cannot read `show stat` line for {row.get('pxname')}/{row.get('svname')}") \
            from None


def runtime_refusals(reply: str, accepted: tuple[str, ...] = ()) -> list[str]:
    """The lines of a runtime API reply that report a failure: all but the ``accepted`` ones."""
    return [line.strip() for line in reply.splitlines()
            if line.strip() and line.strip() not in accepted and not line.rstrip().endswith(ADDRESS_NOTE)]
