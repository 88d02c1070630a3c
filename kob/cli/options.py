"""Arguments and options that several kob commands take, each defined once.

Only click is imported here: `kob --help` and `kob CMD --help` load this module.
"""

from __future__ import annotations

import math

import click

DAY = 86400.0


class Seconds(click.FloatRange):
    """Seconds within a range; nan and infinity are refused (click's FloatRange lets nan through)."""

    name = "seconds"

    def convert(self, value, param, ctx):
        seconds = super().convert(value, param, ctx)
        if not math.isfinite(seconds):
            self.fail(f"{value!r} is not a finite number of seconds", param, ctx)
        return seconds


INVENTORY = click.argument("inventory", type=click.Path())
WAIT = click.option("--wait", type=Seconds(min=0, max=DAY), default=0, help="Seconds to wait for another deploy's lock.")
JSON = click.option("--json", "as_json", is_flag=True, help="One JSON document.")
