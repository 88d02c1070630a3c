"""Is a cron daemon there to run the entry kob installs? (A made-up /proc, and the install command's warning.)"""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from kob.cli.main import cli
from kob.cron import install as cron_install


def fake_proc(tmp_path: Path, processes: dict[int, tuple[str, str]]) -> Path:
    """pid → (comm, state letter)."""
    proc = tmp_path / "proc"
    for pid, (comm, state) in processes.items():
        (proc / str(pid)).mkdir(parents=True)
        (proc / str(pid) / "comm").write_text(comm + "\n")
        (proc / str(pid) / "status").write_text(f"Name:\t{comm}\nState:\t{state} (x)\n")
    (proc / "self").mkdir(parents=True, exist_ok=True)
    return proc


@pytest.mark.parametrize("processes, pidfile, found", [
    ({1: ("systemd", "S"), 42: ("cron", "S")}, "42\n", 42),  # Debian's pid file
    ({1: ("systemd", "S"), 42: ("cron", "S")}, None, 42),  # no pid file: found by name
    ({7: ("crond", "S")}, None, 7),  # cronie
    ({7: ("busybox-crond", "S")}, "99\n", 7),  # a stale pid file
    ({42: ("cron", "Z")}, "42\n", None),  # a zombie runs nothing
    ({1: ("systemd", "S"), 5: ("sshd", "S"), 6: ("crontab", "S")}, None, None),
    ({}, "garbage", None),
])
def test_cron_daemon(tmp_path, processes, pidfile, found):
    proc = fake_proc(tmp_path, processes)
    path = tmp_path / "crond.pid"
    if pidfile is not None:
        path.write_text(pidfile)
    assert cron_install.cron_daemon(proc, path) == found


@pytest.mark.parametrize("daemon, warned", [(None, True), (42, False)])
def test_install_warns_in_one_line_when_no_cron_daemon_runs(tmp_path, monkeypatch, daemon, warned):
    inventory = tmp_path / "inventory.yaml"
    inventory.write_text("hosts: {vm1: {address: 127.0.0.1}}\n")
    monkeypatch.setattr(cron_install, "install", lambda path, every, passes: tmp_path / "kob-inventory")
    monkeypatch.setattr(cron_install, "cron_daemon", lambda: daemon)
    result = CliRunner().invoke(cli, ["cron", "install", str(inventory)])
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("installed ")
    warning = [line for line in result.stderr.splitlines() if line.startswith("! no cron daemon runs")]
    assert len(warning) == int(warned), result.stderr
    if warned:
        assert "systemctl enable --now cron" in warning[0]
