"""Where image transfers report their progress (bytes and rate per host): nowhere unless the CLI says.

The CLI turns it on for a terminal or with -v, on stderr, so what a deploy prints on stdout stays
the same lines a script reads. A deploy a connection holder runs for a client sends its lines to that
client (``shown_by``, for its own task only), whatever the holder's process shows.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from contextvars import ContextVar

EVERY = 1.0  # seconds between two lines of one transfer

LineSink = Callable[[str], None]
_process_sink: LineSink | None = None
_task_sink: ContextVar[LineSink | None] = ContextVar("kob_progress_sink")


def show_on_stderr() -> None:
    """Every transfer of this process shows its progress on stderr (unless its task says otherwise)."""
    global _process_sink
    _process_sink = lambda line: print(line, file=sys.stderr, flush=True)


def shown_by(line_sink: LineSink | None) -> None:
    """Transfers started from now on in the current task (and the tasks it starts) send their lines to
    ``line_sink``; None: nowhere."""
    _task_sink.set(line_sink)


def process_sink() -> LineSink | None:
    """Where this process shows transfers (None: nowhere): a command deploying through a holder asks it to
    send its progress lines along, to show them here."""
    return _process_sink


def _current_sink() -> LineSink | None:
    return _task_sink.get(_process_sink)


class HostProgress:
    """Hears the running total of bytes sent to one host; prints it with the rate, at most every EVERY s."""

    def __init__(self, label: str):
        self.label = label
        self.sink = _current_sink()  # taken now: the bytes are heard from the transport's own callbacks
        self.started = self.last = time.monotonic()

    def __call__(self, moved: int) -> None:
        now = time.monotonic()
        if self.sink is not None and now - self.last >= EVERY:
            self.last = now
            self.sink(f"{self.label}: {moved / 1e6:.1f} MB, {moved / 1e6 / (now - self.started):.1f} MB/s")

    def elapsed(self) -> float:
        return time.monotonic() - self.started
