"""Where image transfers report their progress (bytes and rate per host): nowhere unless the CLI says.

The CLI turns it on for a terminal or with -v, on stderr, so what a deploy prints on stdout stays
the same lines a script reads.
"""

from __future__ import annotations

import sys
import time
from typing import Callable

EVERY = 1.0  # seconds between two lines of one transfer

_shown: Callable[[str], None] | None = None


def show_on_stderr() -> None:
    global _shown
    _shown = lambda line: print(line, file=sys.stderr, flush=True)


def show_with(line_sink: Callable[[str], None] | None) -> None:
    """Send progress lines to ``line_sink`` (None: nowhere)."""
    global _shown
    _shown = line_sink


class HostProgress:
    """Hears the running total of bytes sent to one host; prints it with the rate, at most every EVERY s."""

    def __init__(self, label: str):
        self.label = label
        self.started = self.last = time.monotonic()

    def __call__(self, moved: int) -> None:
        now = time.monotonic()
        if _shown is not None and now - self.last >= EVERY:
            self.last = now
            _shown(f"{self.label}: {moved / 1e6:.1f} MB, {moved / 1e6 / (now - self.started):.1f} MB/s")

    def elapsed(self) -> float:
        return time.monotonic() - self.started
