"""Whole `kob run` plays over the scripted fake: which hosts a task reaches, what they register, what is counted."""

from __future__ import annotations

import asyncio
import textwrap
from pathlib import Path

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
    assert [s.argv[9] for s in fake.sent] == [sent_check_flag, sent_check_flag]  # file's check word (after the script)


def test_ignore_errors_yes_counts_the_failure_as_ignored(tmp_path):
    run, fake, tally, printed = play(tmp_path, """\
        tasks:
          - command: "false"
            ignore_errors: yes
          - command: "true"
        """, [("*", "false", Reply(rc=1))])
    assert (tally["vm1"].ignored, tally["vm1"].failed, tally["vm1"].changed) == (1, 0, 1)


CORPUS = Path(__file__).resolve().parents[1] / "playbook_corpus"


def test_the_corpus_site_runs_its_roles_includes_blocks_and_handlers_in_ansibles_order(tmp_path):
    """tests/playbook_corpus/site.yml on one host whose files are all new: what is sent, in which order."""
    for name, text in {"inventory.yaml": INVENTORY.replace("  vm2: {address: 198.18.0.12}\n", ""), "id": "",
                       "known_hosts": ""}.items():
        (tmp_path / name).write_text(text)
    fake = ScriptedTransport([("*", "test -e", Reply(rc=1)), ("*", "grep -c", Reply(stdout="1\n")),
                              ("*", "|| exit 3; base64", Reply(rc=3)), ("*", "", Reply(stdout=f"{RESULT_MARK} changed\n"))])
    printed: list[str] = []
    site = CORPUS / "site.yml"
    run = PlaybookRun(load_inventory(tmp_path / "inventory.yaml"), load_playbook(site), site, fake, RunOptions(),
                      printed.append)
    tally = asyncio.run(run.run())["vm1"]
    # as ansible-playbook 2.19 reports this playbook on a fresh host: ok=23 changed=18 skipped=2 rescued=1
    assert (tally.ok, tally.changed, tally.skipped, tally.failed, tally.rescued) == (23, 18, 2, 0, 1)
    tasks = [line.split("[", 1)[1].split("]")[0] for line in printed if line.startswith(("\nTASK", "\nRUNNING"))]
    assert tasks == ["root folder", "base directories", "motd", "banner file", "settings", "sysctl-like settings",
                     "extra", "home", "flavour tasks", "plain flavour marker", "configuration", "users",
                     "user file", "user file",
                     "audit note", "audit note",  # the same role with other parameters runs again (once skipped)
                     "try", "rescued", "always", "marker with yes/no words",
                     "restart webapp", "record base change", "flags changed",  # flushed, in Ansible's order
                     "after the flush", "done"]
    sent = {s.argv[4]: s.input for s in fake.sent if s.input}  # copy: sh -c SCRIPT sh DEST ...
    conf = sent["/root/corpus/shop/app.conf"].decode()
    assert "port = 9090\n" in conf and "cache.size = 128\n" in conf and "cache.enabled = true\n" in conf
    assert conf.startswith("# Ansible managed\n[server]\n")  # trim_blocks: no empty line left by {% set %}
    assert sent["/root/corpus/etc/banner"] == b"AUTHORIZED USE ONLY\n"  # the role's files/
    assert sent["/root/corpus/flags"] == b"enabled=True disabled=False\n"
    assert sent["/root/corpus/shop/user-alice"] == b"alice admin\n"
    assert sent["/root/corpus/audit"] == b"noted by shop\n"  # a role parameter templated with the play's vars
    assert sent["/root/corpus/etc/motd"] == b"#\n# Ansible managed\n#\nWelcome to corpus\nmanaged by automation\n"
    assert "included: plain.yml for vm1" in printed  # the templated file name, rendered
    assert not any("not-reached" in s.command for s in fake.sent)


def test_variable_precedence_from_role_defaults_up_to_extra_vars(tmp_path):
    """Each variable is set at every level up to one; the debug shows which level won (Ansible's order)."""
    levels = ["default", "play", "role_var", "block", "task", "fact", "param", "extra"]
    role = tmp_path / "roles/r"
    for folder, text in {"defaults": {n: "default" for n in levels}, "vars": {n: "role_var" for n in levels[2:]},
                         "tasks": None}.items():
        (role / folder).mkdir(parents=True)
        if text is not None:
            (role / folder / "main.yml").write_text("".join(f"{k}: {v}\n" for k, v in text.items()))
    (role / "tasks/main.yml").write_text(textwrap.dedent("""\
        - set_fact: {fact: fact, param: fact, extra: fact}
        - block:
            - debug: {msg: "{{ [default, play, role_var, block, task, fact, param, extra] | join(' ') }}"}
              vars: {task: task, fact: task, param: task, extra: task}
          vars: {block: block, task: block, fact: block, param: block, extra: block}
        """))
    body = ("vars: {%s}\nroles:\n  - {role: r, param: param, extra: param}\n"
            % ", ".join(f"{n}: play" for n in levels[1:]))
    run, fake, tally, printed = play(tmp_path, body, options=RunOptions(extra_vars={"extra": "extra"}))
    assert '"msg": "default play role_var block task fact param extra"' in printed


def test_a_block_without_rescue_runs_always_and_the_host_stays_failed(tmp_path):
    run, fake, tally, printed = play(tmp_path, """\
        tasks:
          - block:
              - command: "false"
              - command: echo not reached
            always:
              - command: echo always
          - command: echo after
        """, [("vm1", "false", Reply(rc=1))])
    assert fake.commands("vm1") == ["false", "echo always"]
    assert fake.commands("vm2") == ["false", "echo not reached", "echo always", "echo after"]
    assert (tally["vm1"].failed, tally["vm1"].rescued, tally["vm2"].failed) == (1, 0, 0)


def test_rescue_sees_the_failed_task_and_its_result_as_ansible_failed_result(tmp_path):
    _, fake, tally, _ = play(tmp_path, """\
        tasks:
          - block:
              - name: the check
                command: /bin/check
            rescue:
              - command: "echo {{ ansible_failed_task.name }} exited {{ ansible_failed_result.rc }}"
        """, [("vm1", "/bin/check", Reply(rc=3))])
    assert fake.commands("vm1") == ["/bin/check", "echo the check exited 3"]
    assert fake.commands("vm2") == ["/bin/check"]
    assert (tally["vm1"].failed, tally["vm1"].rescued) == (0, 1)


def test_handlers_listen_and_flush_where_meta_says(tmp_path):
    run, fake, tally, printed = play(tmp_path, """\
        tasks:
          - command: echo one
            notify: topic
          - meta: flush_handlers
          - command: echo two
            notify: [named, topic]
        handlers:
          - name: named
            command: echo named
          - command: echo first listener
            listen: topic
          - name: second
            command: echo second listener
            listen: [topic]
        """)
    assert fake.commands("vm1") == ["echo one", "echo first listener", "echo second listener", "echo two",
                                    "echo named", "echo first listener", "echo second listener"]


def test_an_include_loops_and_decides_per_host(tmp_path):
    (tmp_path / "step.yml").write_text("- command: echo {{ item }} {{ word }}\n")
    run, fake, tally, printed = play(tmp_path, """\
        tasks:
          - include_tasks: step.yml
            loop: [a, b]
            vars: {word: "{{ inventory_hostname }}"}
            when: inventory_hostname == 'vm1' or item == 'b'
        """)
    assert fake.commands("vm1") == ["echo a vm1", "echo b vm1"] and fake.commands("vm2") == ["echo b vm2"]


def test_become_runs_commands_through_sudo_unless_already_that_user(tmp_path):
    run, fake, tally, printed = play(tmp_path, """\
        become: yes
        tasks:
          - command: echo as root
          - command: echo as www
            become_user: www-data
          - block:
              - command: echo as nobody
            become_user: nobody
          - command: echo as the ssh user
            become: no
        """)
    assert fake.commands("vm1") == ["echo as root", "sudo -n -H -u www-data -- echo as www",
                                    "sudo -n -H -u nobody -- echo as nobody", "echo as the ssh user"]


def test_remote_user_connects_as_that_user(tmp_path):
    users: list[tuple[str, str]] = []

    def answer(host, argv, input):
        return Reply()

    run, fake, tally, printed = play(tmp_path, """\
        remote_user: deploy
        tasks:
          - command: echo as deploy
          - command: echo as ops
            remote_user: ops
        """, [("*", "", answer)])
    original = fake.run

    async def recording(target, argv, **options):
        users.append((target.user, argv[-1]))
        return await original(target, argv, **options)

    fake.run = recording
    asyncio.run(run.run())
    assert sorted(set(users)) == [("deploy", "deploy"), ("ops", "ops")], users


def test_a_role_handler_is_notified_by_its_name_or_role_colon_name(tmp_path):
    (tmp_path / "roles/web/handlers").mkdir(parents=True)
    (tmp_path / "roles/web/handlers/main.yml").write_text("- name: reload\n  command: echo reload {{ who }}\n")
    (tmp_path / "roles/web/defaults").mkdir()
    (tmp_path / "roles/web/defaults/main.yml").write_text("who: web\n")
    run, fake, tally, printed = play(tmp_path, """\
        roles: [web]
        tasks:
          - command: echo one
            notify: "web : reload"
        """)
    assert fake.commands("vm1") == ["echo one", "echo reload web"]
