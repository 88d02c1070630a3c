"""The cron module's edit of a crontab (pure), in Ansible's format so files come out the same:

    #Ansible: NAME
    MIN HOUR DAY MONTH WEEKDAY [USER] JOB      (USER in a cron_file only; '#' before it when disabled)
"""

from __future__ import annotations

SPECIAL_TIMES = ("reboot", "yearly", "annually", "monthly", "weekly", "daily", "hourly")
MARK = "#Ansible: "


def cron_line(job: str, minute: str = "*", hour: str = "*", day: str = "*", month: str = "*", weekday: str = "*",
              special_time: str | None = None, user: str | None = None, disabled: bool = False) -> str:
    """The job's line; ``user`` only for a cron_file (the system crontab format)."""
    who = f" {user}" if user else ""
    when = f"@{special_time}" if special_time else f"{minute} {hour} {day} {month} {weekday}"
    return f"{'#' if disabled else ''}{when}{who} {job}"


def cron_text(text: str, name: str, line: str | None) -> str:
    """The crontab with the job named ``name`` set to ``line`` (None: taken out with its comment).

    An existing job keeps its place; a new one goes at the end."""
    lines = text.splitlines()
    marker = MARK + name
    where = next((i for i, found in enumerate(lines) if found == marker), None)
    if where is None:
        if line is None:
            return text
        lines += [marker, line]
    elif line is None:
        del lines[where:where + 2]
    elif where + 1 < len(lines) and lines[where + 1] == line:
        return text
    elif where + 1 < len(lines):
        lines[where + 1] = line
    else:
        lines.append(line)
    joined = "\n".join(lines)
    return joined.rstrip("\r\n") + "\n" if joined else ""


def has_jobs(text: str) -> bool:
    """Whether a cron file still holds a job (any line but blanks)."""
    return any(line.strip() for line in text.splitlines())


def env_line(name: str, value: str) -> str:
    """An environment variable's line, quoted as Ansible writes it: NAME="value"."""
    return f'{name}="{value}"'


def env_text(text: str, name: str, line: str | None, insertafter: str | None = None,
             insertbefore: str | None = None) -> str:
    """The crontab with the variable ``name`` set by ``line`` (None: every line setting it taken out).

    A variable already set is rewritten where it is (every line that sets it); a new one goes at the top,
    or after (before) the first line that sets the variable insertafter (insertbefore) names: ValueError
    (Ansible's words) when no line sets it."""
    lines = text.splitlines()
    setting = [i for i, found in enumerate(lines) if found.startswith(name + "=")]
    if line is None and setting:
        lines = [found for i, found in enumerate(lines) if i not in setting]
    elif line is not None and setting and lines[setting[0]] != line:
        lines = [line if i in setting else found for i, found in enumerate(lines)]
    elif line is not None and not setting:
        lines.insert(_env_place(lines, insertafter, insertbefore), line)
    elif not text or text.endswith(("\n", "\r")):
        return text
    joined = "\n".join(lines)
    return joined.rstrip("\r\n") + "\n" if joined else ""


def _env_place(lines: list[str], insertafter: str | None, insertbefore: str | None) -> int:
    other = insertafter or insertbefore
    if not other:
        return 0
    where = next((i for i, found in enumerate(lines) if found.startswith(other + "=")), None)
    if where is None:
        raise ValueError(f"Variable named '{other}' not found.")
    return where + 1 if insertafter else where

