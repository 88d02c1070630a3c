"""Whole `kob run` plays over the scripted fake: which hosts a task reaches, what they register, what is counted."""

from __future__ import annotations

import asyncio
import textwrap

import pytest

from kob.commands.tasks import RESULT_MARK
from kob.playbook.loader import load_playbook
from kob.playbook.run import PlaybookRun, RunOptions
from kob.spec.inventory import load_inventory
from tests.helpers.fake_transport import Reply, ScriptedTransport

INVENTORY = """\
ssh: {user: root, key: id, known_hosts: known_hosts}
hosts:
  vm1: {address: 198.18.0.11}
  vm2: {address: 198.18.0.12}
"""


def play(folder, body: str, script=(), options: RunOptions | None = None):
    """Run a one-play playbook (no facts) on vm1 and vm2; the run, the fake and what was printed."""
    for name, text in {"inventory.yaml": INVENTORY, "id": "", "known_hosts": ""}.items():
        (folder / name).write_text(text)
    (folder / "site.yml").write_text("- hosts: all\n  gather_facts: no\n" + textwrap.indent(textwrap.dedent(body), "  "))
    fake = ScriptedTransport(script)
    printed: list[str] = []
    run = PlaybookRun(load_inventory(folder / "inventory.yaml"), load_playbook(folder / "site.yml"),
                      folder / "site.yml", fake, options or RunOptions(), printed.append)
    tally = asyncio.run(run.run())
    return run, fake, tally, "\n".join(printed)


def test_run_once_runs_on_the_first_host_and_every_host_gets_its_result(tmp_path):
    run, fake, tally, printed = play(tmp_path, """\
        tasks:
          - shell: echo hello
            run_once: yes
            register: out
          - set_fact: {picked: "{{ out.stdout }}"}
            run_once: true
          - debug: {msg: "{{ out.stdout }} {{ picked }}"}
        """, [("vm1", "echo hello", Reply(stdout="from-vm1\n"))])
    assert [s.host for s in fake.sent] == ["vm1"]
    assert run.host_vars["vm2"]["out"]["stdout"] == "from-vm1" and run.host_vars["vm2"]["picked"] == "from-vm1"
    assert '"msg": "from-vm1 from-vm1"' in printed.split("TASK [debug]")[1]
    assert (tally["vm1"].changed, tally["vm2"].changed) == (1, 0)


@pytest.mark.parametrize("task_mode, play_mode, cli, sent_check_flag", [
    ("check_mode: yes", "", False, "1"),
    ("check_mode: no", "", True, "0"),
    ("", "check_mode: on", False, "1"),
    ("check_mode: off", "check_mode: yes", True, "0"),
    ("", "", True, "1"),
    ("", "", False, "0"),
])
def test_check_mode_of_a_task_wins_over_the_play_and_the_command_line(tmp_path, task_mode, play_mode, cli,
                                                                      sent_check_flag):
    body = f"{play_mode}\ntasks:\n  - file: {{path: /tmp/a, state: touch}}\n    {task_mode}\n"
    run, fake, tally, printed = play(tmp_path, body, [("*", "", Reply(stdout=f"{RESULT_MARK} ok\n"))],
                                     RunOptions(check=cli))
    assert [s.argv[-1] for s in fake.sent] == [sent_check_flag, sent_check_flag]  # file's last word: check


def test_ignore_errors_yes_counts_the_failure_as_ignored(tmp_path):
    run, fake, tally, printed = play(tmp_path, """\
        tasks:
          - command: "false"
            ignore_errors: yes
          - command: "true"
        """, [("*", "false", Reply(rc=1))])
    assert (tally["vm1"].ignored, tally["vm1"].failed, tally["vm1"].changed) == (1, 0, 1)
