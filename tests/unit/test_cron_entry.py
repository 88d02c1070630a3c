"""The cron.d entry: schedules, file names, quoting (tables)."""

from __future__ import annotations

from pathlib import Path

import pytest

from kob.cron.entry import cron_file, entry_name, run_argv, schedule


@pytest.mark.parametrize("every, fields", [
    ("1m", "* * * * *"), ("5m", "*/5 * * * *"), ("59m", "*/59 * * * *"), (" 2m ", "*/2 * * * *"),
    ("1h", "0 * * * *"), ("6h", "0 */6 * * *"), ("1d", "0 0 * * *"),
])
def test_schedules(every, fields):
    assert schedule(every) == fields


@pytest.mark.parametrize("every", ["30s", "0m", "60m", "24h", "2d", "m", "1", "5 m", "-1m"])
def test_refused_schedules(every):
    with pytest.raises(ValueError, match="give minutes .1m..59m., hours .1h..23h. or 1d"):
        schedule(every)


@pytest.mark.parametrize("path, prefix", [
    ("/srv/kob/inventory.yaml", "kob-inventory-"),
    ("/srv/kob/my.prod inventory.yaml", "kob-my-prod-inventory-"),
    ("/srv/kob/ü.yaml", "kob---"),
])
def test_entry_names_are_ones_cron_reads(path, prefix):
    name = entry_name(Path(path))
    assert name.startswith(prefix) and len(name) == len(prefix) + 8
    assert name.replace("-", "").replace("_", "").isalnum() and name.isascii()


def test_same_stem_elsewhere_gets_another_name():
    assert entry_name(Path("/a/inventory.yaml")) != entry_name(Path("/b/inventory.yaml"))


@pytest.mark.parametrize("passes, tail", [
    (("reconcile", "autoscale"), []), (("reconcile",), ["--no-autoscale"]), (("autoscale",), ["--no-reconcile"]),
])
def test_run_argv(passes, tail):
    assert run_argv(["/v/bin/kob"], Path("/srv/inv.yaml"), passes) == ["/v/bin/kob", "cron", "run", "/srv/inv.yaml",
                                                                       *tail]


def test_file_quotes_every_word_and_escapes_percent():
    inventory = Path("/srv/it's 100%/inv.yaml")
    text = cron_file("kob-inv-12345678", "5m", "root", inventory, run_argv(["/v/bin/kob"], inventory, ("reconcile",)),
                     ("reconcile",))
    lines = text.splitlines()
    assert lines[0] == "# kob: reconcile /srv/it's 100%/inv.yaml every 5m (kob cron install)"
    assert lines[1:3] == ["SHELL=/bin/sh", "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]
    assert lines[3] == ("*/5 * * * * root flock -n /run/lock/kob-inv-12345678.lock /v/bin/kob cron run "
                        "'/srv/it'\"'\"'s 100\\%/inv.yaml' --no-autoscale >>/var/log/kob/kob-inv-12345678.log 2>&1")
    assert len(lines) == 4 and text.endswith("\n")


def test_a_line_break_in_a_path_is_refused():
    inventory = Path("/srv/x\n* * * * * root touch /pwned/inv.yaml")
    with pytest.raises(ValueError, match="line break"):
        cron_file("kob-x-1", "1m", "root", inventory, run_argv(["kob"], inventory, ("reconcile",)), ("reconcile",))
