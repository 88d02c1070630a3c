"""`kob status -w`: a round every --interval seconds on the same connections; redrawn on a terminal,
printed round after round elsewhere; --rounds bounds it, Ctrl-C ends it cleanly. A host that does not
answer (nothing listens on its port) is enough to watch: no lab needed."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

import pytest
from click.testing import CliRunner

from kob.cli.main import cli
from tests.helpers.terminal import kob_on_a_terminal

INVENTORY = "ssh: {known_hosts: kh}\nhosts:\n  vm1: {address: 127.0.0.1, port: 9}\nservices:\n  web: {image: img}\n"
CLEAR = "\x1b[2J\x1b[1;1H"  # what click.clear() writes on a terminal


@pytest.fixture
def inventory(tmp_path, monkeypatch) -> str:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "kh").write_text("")
    (tmp_path / "inv.yaml").write_text(INVENTORY)
    return "inv.yaml"


def test_off_a_terminal_each_round_is_printed_plainly_after_the_last(inventory):
    done = CliRunner().invoke(cli, ["status", inventory, "-w", "--interval", "0.5", "--rounds", "3"])
    assert done.exit_code == 2, done.output  # the last round had a host that did not answer
    rounds = done.stdout.split("\n\n")
    assert len(rounds) == 3 and "\x1b" not in done.stdout
    for text in rounds:
        header, table, web, unreachable = text.strip("\n").split("\n")
        assert header.startswith(f"kob status {inventory}  every 0.5 s  ")
        assert table.startswith("SERVICE") and web.split()[:4] == ["web", "1", "0", "0"]
        assert unreachable.startswith("! vm1: cannot connect to 127.0.0.1:9")


def test_watching_with_json_prints_one_document_a_round(inventory):
    done = CliRunner().invoke(cli, ["status", inventory, "--json", "-w", "--interval", "0.5", "--rounds", "2"])
    documents = [json.loads(line) for line in done.stdout.splitlines()]
    assert done.exit_code == 2 and len(documents) == 2
    assert all(set(d) == {"services", "unreachable", "certificates"} for d in documents)


def test_on_a_terminal_each_round_redraws_the_screen(tmp_path, inventory):
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    code, out = kob_on_a_terminal("status", inventory, "-w", "--interval", "0.5", "--rounds", "2", env=env)
    assert code == 2
    assert out.count(CLEAR) == 2 and out.startswith(CLEAR) and out.count("SERVICE") == 2


def test_without_w_there_is_one_round_and_no_header(inventory):
    done = CliRunner().invoke(cli, ["status", inventory])
    assert done.exit_code == 2 and done.stdout.startswith("SERVICE") and "every" not in done.stdout


@pytest.mark.parametrize("interval", ["0", "nan", "inf", "3601"])
def test_the_interval_is_bounded(inventory, interval):
    done = CliRunner().invoke(cli, ["status", inventory, "-w", "--interval", interval])
    assert done.exit_code == 2 and "Invalid value for '--interval'" in done.output


def test_ctrl_c_ends_watching_cleanly(inventory):
    watching = subprocess.Popen([sys.executable, "-m", "kob", "status", inventory, "-w", "--interval", "0.5"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
    try:
        for _ in range(2):  # two rounds drawn: it is in its loop
            line = "-"
            while line and not line.startswith("! vm1"):
                line = watching.stdout.readline()
            assert line, "kob status -w ended by itself"
        watching.send_signal(signal.SIGINT)
        out, err = watching.communicate(timeout=60)
    finally:
        watching.kill()
    assert (watching.returncode, err) == (0, "")
