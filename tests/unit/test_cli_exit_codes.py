"""Exit codes, as the README lists them: 0 ok; 1 an error (one line); 2 hosts that did not answer or tasks
that failed (and click's usage errors); 130 interrupted. A host whose port nothing listens on stands for a
host that is away: no lab needed."""

from __future__ import annotations

import sys

import pytest

from kob.cli.main import main

HOSTS = "ssh: {known_hosts: kh}\nhosts:\n  vm1: {address: 127.0.0.1, port: 9}\n"
SERVICE = "services:\n  web: {image: img, autoscale: {min: 1, max: 2, cpu: 50}}\n"


@pytest.fixture
def folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "kh").write_text("")
    (tmp_path / "bare.yaml").write_text(HOSTS)
    (tmp_path / "inv.yaml").write_text(HOSTS + SERVICE)
    return tmp_path


def exit_code(monkeypatch, *args: str) -> int:
    monkeypatch.setattr(sys, "argv", ["kob", *args])
    try:
        main()
    except SystemExit as done:
        return done.code or 0
    return 0


@pytest.mark.parametrize("args", [
    ("status", "inv.yaml"), ("status", "inv.yaml", "--json"), ("top", "inv.yaml"), ("exec", "inv.yaml", "true"),
    ("deploy", "bare.yaml"), ("deploy", "bare.yaml", "--check"), ("down", "inv.yaml"), ("autoscale", "inv.yaml"),
    ("run", "play.yaml", "-i", "inv.yaml"),
], ids=" ".join)
def test_a_host_that_does_not_answer_is_exit_code_2(monkeypatch, capsys, folder, args):
    (folder / "play.yaml").write_text("- hosts: all\n  gather_facts: false\n  tasks:\n    - command: 'true'\n")
    assert exit_code(monkeypatch, *args) == 2


def test_reconcile_waits_for_a_host_that_does_not_answer_and_exits_0(monkeypatch, capsys, folder):
    assert exit_code(monkeypatch, "reconcile", "inv.yaml") == 0


@pytest.mark.parametrize("args", [("status", "none.yaml"), ("deploy", "inv.yaml"), ("exec", "inv.yaml", "true",
                                                                                    "--hosts", "nosuch"),
                                  ("history", "inv.yaml", "nosuch"), ("init", "inv.yaml")], ids=" ".join)
def test_an_error_is_exit_code_1_and_one_line(monkeypatch, capsys, folder, args):
    assert exit_code(monkeypatch, *args) == 1  # deploy: the image is nowhere to be found
    err = capsys.readouterr().err
    assert err.startswith("kob: error: ") and len(err.splitlines()) == 1


def test_a_usage_error_is_exit_code_2_as_click_makes_it(monkeypatch, capsys, folder):
    assert exit_code(monkeypatch, "status") == 2
    assert "Missing argument 'INVENTORY'" in capsys.readouterr().err


def test_ok_is_0(monkeypatch, capsys, folder):
    assert exit_code(monkeypatch, "events", "inv.yaml") == 0
    assert exit_code(monkeypatch, "completion", "bash") == 0


@pytest.mark.parametrize("args, code", [
    (("exec", "broken.yaml", "true"), 2),  # reaches its hosts (this one does not answer): exec needs only hosts:
    (("deploy", "broken.yaml"), 1),  # reads services: and names the mistake
], ids=["exec", "deploy"])
def test_a_wrong_services_section_stops_deploy_but_not_exec(monkeypatch, capsys, folder, args, code):
    (folder / "broken.yaml").write_text(HOSTS + "services:\n  web: {image: img, replicas: many}\n")
    assert exit_code(monkeypatch, *args) == code
    err = capsys.readouterr().err
    assert ("broken.yaml:5: services/web/replicas" in err) == (code == 1), err
