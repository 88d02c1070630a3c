"""Colour only on a terminal and never with NO_COLOR: plan lines (+ green, ~ yellow, - red) and error
lines, through kob.cli.colour. CliRunner(color=True) stands for a terminal; a pseudo-terminal checks the
real `kob` process."""

from __future__ import annotations

import os
import subprocess
import sys

import click
import pytest
from click.testing import CliRunner

from kob.cli.colour import say, say_error
from tests.helpers.terminal import kob_on_a_terminal

PLAN = "+ web replica 3 on vm2\n~ web replica 1 on vm1 (image changed)\n- web replica 4 on vm3\n\nPlan: 1 to create."
GREEN, YELLOW, RED, RESET = "\x1b[32m", "\x1b[33m", "\x1b[31m", "\x1b[0m"


@click.command()
def speak() -> None:
    say(PLAN)
    say("kob-demo/web:1 → vm2: 12.0 MB in 0.4 s")
    say_error("kob: error: something went wrong")


def test_on_a_terminal_plan_and_error_lines_are_coloured(monkeypatch):
    monkeypatch.delenv("NO_COLOR", raising=False)
    out = CliRunner().invoke(speak, color=True).output
    assert out.splitlines() == [
        f"{GREEN}+ web replica 3 on vm2{RESET}", f"{YELLOW}~ web replica 1 on vm1 (image changed){RESET}",
        f"{RED}- web replica 4 on vm3{RESET}", "", "Plan: 1 to create.", "kob-demo/web:1 → vm2: 12.0 MB in 0.4 s",
        f"{RED}kob: error: something went wrong{RESET}"]


@pytest.mark.parametrize("no_color", ["1", "true", "0"])  # any non-empty value, as no-color.org says
def test_no_color_means_none_even_on_a_terminal(monkeypatch, no_color):
    monkeypatch.setenv("NO_COLOR", no_color)
    out = CliRunner().invoke(speak, color=True).output
    assert "\x1b" not in out and out.startswith("+ web replica 3 on vm2\n")


def test_an_empty_no_color_does_not_count(monkeypatch):
    monkeypatch.setenv("NO_COLOR", "")
    assert GREEN in CliRunner().invoke(speak, color=True).output


def test_not_a_terminal_means_no_colour(monkeypatch):
    monkeypatch.delenv("NO_COLOR", raising=False)
    out = CliRunner().invoke(speak, color=False).output
    assert "\x1b" not in out and "kob: error: something went wrong" in out


def test_the_kob_process_colours_its_error_line_on_a_terminal_only(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "NO_COLOR"}
    missing = str(tmp_path / "none.yaml")
    assert kob_on_a_terminal("status", missing, env=env) == (1, f"{RED}kob: error: {missing}: no such file{RESET}\r\n")
    assert kob_on_a_terminal("status", missing, env={**env, "NO_COLOR": "1"}) == (
        1, f"kob: error: {missing}: no such file\r\n")
    piped = subprocess.run([sys.executable, "-m", "kob", "status", missing], capture_output=True, text=True, env=env,
                           timeout=60)
    assert (piped.returncode, piped.stderr) == (1, f"kob: error: {missing}: no such file\n")
