"""Arguments and options that several kob commands take, each defined once.

Only click is imported here: `kob --help` and `kob CMD --help` load this module.
"""

from __future__ import annotations

import click

INVENTORY = click.argument("inventory", type=click.Path())
WAIT = click.option("--wait", type=float, default=0, help="Seconds to wait for another deploy's lock.")
JSON = click.option("--json", "as_json", is_flag=True, help="One JSON document.")
