"""Colour in what kob prints: only on a terminal, and never when NO_COLOR is set (https://no-color.org).

    say(render_plan(actions))        # "+ ..." green, "~ ..." yellow, "- ..." red, one line at a time
    say_error("kob: error: ...")     # red, on stderr

Everything else kob prints stays plain. click.echo strips the styles when the stream is not a
terminal; NO_COLOR (any non-empty value) strips them everywhere.
"""

from __future__ import annotations

import os

import click

PLAN_COLOURS = {"+ ": "green", "~ ": "yellow", "- ": "red"}


def colour_wanted() -> bool | None:
    """False when NO_COLOR is set; otherwise None: click colours a terminal and nothing else."""
    return False if os.environ.get("NO_COLOR") else None


def styled(line: str) -> str:
    """A plan line in its colour; any other line as it is."""
    colour = PLAN_COLOURS.get(line[:2])
    return click.style(line, fg=colour) if colour else line


def say(text: str = "", nl: bool = True, err: bool = False) -> None:
    """click.echo, with each plan line of ``text`` coloured where colour is wanted."""
    click.echo("\n".join(styled(line) for line in str(text).split("\n")), nl=nl, err=err, color=colour_wanted())


def say_error(line: str) -> None:
    """An error line on stderr, red where colour is wanted."""
    click.echo(click.style(line, fg="red"), err=True, color=colour_wanted())
