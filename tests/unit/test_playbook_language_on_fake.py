"""Issue 15's play and task keywords over the scripted fake: which hosts a task reaches, with what, and what counts."""

from __future__ import annotations

import asyncio
import textwrap

import pytest

from kob.commands.tasks import RESULT_MARK
from kob.errors import SpecError
from kob.playbook.loader import load_playbook
from kob.playbook.run import PlaybookRun, RunOptions
from kob.spec.inventory import load_inventory
from tests.helpers.fake_transport import Reply, ScriptedTransport
from tests.unit.test_ansible_facts import UBUNTU, output
from tests.unit.test_playbook_run_on_fake import play


def test_until_retries_until_it_holds_and_registers_the_attempts(tmp_path):
    run, fake, tally, printed = play(tmp_path, """\
        tasks:
          - command: probe
            register: out
            until: out.stdout == 'ready'
            retries: 4
            delay: 0
          - debug: {msg: "{{ out.attempts }}"}
        """, [("vm1", "probe", [Reply(stdout="wait\n"), Reply(stdout="wait\n"), Reply(stdout="ready\n")]),
              ("vm2", "probe", Reply(stdout="ready\n"))])
    assert (fake.commands("vm1"), fake.commands("vm2")) == (["probe"] * 3, ["probe"])
    assert run.host_vars["vm1"]["out"]["attempts"] == 3 and run.host_vars["vm2"]["out"]["attempts"] == 1
    assert printed.count("FAILED - RETRYING: [vm1]: command (") == 2
    assert (tally["vm1"].failed, tally["vm1"].changed) == (0, 1)


def test_until_that_never_holds_fails_after_retries_plus_one_attempts(tmp_path):
    run, fake, tally, _printed = play(tmp_path, """\
        tasks:
          - command: probe
            register: out
            until: out.rc == 0
            retries: 2
            delay: 0
        """, [("*", "probe", Reply(rc=1))])
    assert fake.commands("vm1") == ["probe"] * 3  # as ansible-core: the first run and 2 retries
    assert run.host_vars["vm1"]["out"]["attempts"] == 2  # one less, as ansible-core 2.19 registers it
    assert (tally["vm1"].failed, tally["vm2"].failed) == (1, 1)


def test_loop_control_names_the_item_counts_it_and_labels_it(tmp_path):
    run, fake, _tally, printed = play(tmp_path, """\
        tasks:
          - command: "useradd {{ user.name }} --index {{ i }}"
            loop: [{name: ann, uid: 1}, {name: bob, uid: 2}]
            loop_control: {loop_var: user, index_var: i, label: "{{ user.name }}"}
            register: made
        """)
    assert fake.commands("vm1") == ["useradd ann --index 0", "useradd bob --index 1"]
    assert "changed: [vm1] => (item=ann)" in printed and "uid" not in printed
    results = run.host_vars["vm1"]["made"]["results"]
    assert [(r["user"]["name"], r["i"], r["ansible_loop_var"]) for r in results] == [("ann", 0, "user"),
                                                                                      ("bob", 1, "user")]


@pytest.mark.parametrize("loop, expected", [
    ("with_dict: {b: 2, a: 1}", ["echo b=2", "echo a=1"]),
    ("with_items: [[x, y], z]", ["echo x", "echo y", "echo z"]),  # with_items flattens one level
    ("loop: [[x, y], z]", ["echo '[x,' 'y]'", "echo z"]),  # command splits the rendered list like a shell
])
def test_with_dict_and_with_items_are_loops_as_in_ansible(tmp_path, loop, expected):
    command = "echo {{ item.key }}={{ item.value }}" if "dict" in loop else "echo {{ item }}"
    _run, fake, _tally, _printed = play(tmp_path, f"tasks:\n  - command: \"{command}\"\n    {loop}\n")
    assert fake.commands("vm1") == expected


def test_delegate_to_a_host_of_the_inventory_runs_there_with_the_delegating_hosts_variables(tmp_path):
    run, fake, tally, _printed = play(tmp_path, """\
        tasks:
          - command: "register-backend {{ inventory_hostname }}"
            delegate_to: vm2
          - command: "once {{ inventory_hostname }}"
            delegate_to: "{{ 'vm' ~ 1 }}"
            run_once: true
            register: once
        """)
    assert fake.commands("vm1") == ["once vm1"]
    assert fake.commands("vm2") == ["register-backend vm1", "register-backend vm2"]
    assert run.host_vars["vm2"]["once"]["cmd"] == "once vm1"  # run_once: every host has the first's result
    assert (tally["vm1"].changed, tally["vm2"].changed) == (2, 1)


def test_delegate_to_localhost_runs_on_the_manager_with_argv_words_kept(tmp_path):
    marker = tmp_path / "made here; and $(not) a shell"
    _run, fake, _tally, _printed = play(tmp_path, f"""\
        tasks:
          - command:
              argv: [touch, "{marker}"]
            delegate_to: localhost
          - shell: printf '%s' "$GREETING" > "{tmp_path}/greeting"
            delegate_to: localhost
            environment: {{GREETING: "hello {{{{ inventory_hostname }}}}"}}
            run_once: yes
        """)
    assert marker.is_file() and fake.sent == []
    assert (tmp_path / "greeting").read_text() == "hello vm1"


def test_delegate_to_an_unknown_host_fails_the_task_naming_it(tmp_path):
    _run, _fake, tally, printed = play(tmp_path, "tasks:\n  - command: ls\n    delegate_to: nowhere\n")
    assert "delegate_to: 'nowhere' is no host of the inventory" in printed and tally["vm1"].failed == 1


def test_environment_of_play_block_and_task_reaches_the_command_through_env(tmp_path):
    _run, fake, _tally, _printed = play(tmp_path, """\
        environment: {A: play, B: play}
        become: yes
        become_user: app
        tasks:
          - block:
              - command: run-it
                environment: {C: "{{ inventory_hostname }}"}
            environment: {B: block}
        """)
    assert fake.commands("vm1") == ["sudo -n -H -u app -- env A=play B=block C=vm1 run-it"]


def test_any_errors_fatal_ends_the_play_on_every_host(tmp_path):
    _run, fake, tally, printed = play(tmp_path, """\
        any_errors_fatal: true
        tasks:
          - command: step one
          - command: step two
        handlers: []
        """, [("vm1", "step one", Reply(rc=1))])
    assert fake.commands("vm2") == ["step one"] and "NO MORE HOSTS LEFT" in printed
    assert (tally["vm1"].failed, tally["vm2"].failed, tally["vm2"].changed) == (1, 0, 1)


@pytest.mark.parametrize("percentage, vm2_runs_step_two", [(49, False), (50, True)])
def test_max_fail_percentage_ends_the_play_once_more_hosts_failed(tmp_path, percentage, vm2_runs_step_two):
    _run, fake, _tally, _printed = play(tmp_path, f"""\
        max_fail_percentage: {percentage}
        tasks:
          - command: step one
          - command: step two
        """, [("vm1", "step one", Reply(rc=1))])
    assert ("step two" in fake.commands("vm2")) == vm2_runs_step_two  # 1 of 2 is 50%: more than 49, not than 50


def test_meta_end_host_and_end_play(tmp_path):
    _run, fake, tally, _printed = play(tmp_path, """\
        tasks:
          - command: first
          - meta: end_host
            when: inventory_hostname == 'vm2'
          - command: second
          - meta: end_play
          - command: never
        """)
    assert fake.commands("vm1") == ["first", "second"] and fake.commands("vm2") == ["first"]
    assert (tally["vm1"].failed, tally["vm2"].failed) == (0, 0)


def test_diff_per_task_wins_over_the_command_line(tmp_path):
    _run, fake, _tally, _printed = play(tmp_path, """\
        tasks:
          - copy: {content: "a\\n", dest: /tmp/a}
            diff: no
          - copy: {content: "b\\n", dest: /tmp/b}
            diff: yes
        """, [("*", "", Reply(stdout=f"{RESULT_MARK} ok\n"))], RunOptions(diff=False))
    copies = [s.argv for s in fake.sent if s.host == "vm1"]
    assert [argv[10] for argv in copies] == ["0", "1"]  # copy's diff flag, after path, sum, mode, owner, group, check


def test_no_log_hides_the_result(tmp_path):
    _run, _fake, _tally, printed = play(tmp_path, """\
        tasks:
          - debug: {msg: "the secret is s3cr3t"}
            no_log: true
          - command: "false"
            no_log: yes
        """, [("*", "false", Reply(rc=1, stderr="s3cr3t leaked"))])
    assert "s3cr3t" not in printed and printed.count("'no_log: true' was specified") == 4


def test_include_vars_file_dir_and_name_with_ansibles_precedence(tmp_path):
    (tmp_path / "vars/extra").mkdir(parents=True)
    (tmp_path / "vars/main.yml").write_text("port: 80\nhome: '/srv/{{ app }}'\n")
    (tmp_path / "vars/extra/a.yml").write_text("colour: red\n")
    (tmp_path / "vars/extra/b.yml").write_text("colour: blue\nsize: 2\n")
    _run, fake, tally, printed = play(tmp_path, """\
        vars: {port: 1, app: shop}
        tasks:
          - include_vars: main.yml
          - include_vars: {dir: extra, name: looks}
          - set_fact: {port: 8080}
          - command: "serve {{ home }} {{ port }} {{ looks.colour }} {{ looks.size }}"
            vars: {port: 2}
          - include_vars: {file: missing.yml}
        """)
    assert fake.commands("vm1") == ["serve /srv/shop 8080 blue 2"]  # set_fact > include_vars > task vars
    assert "include_vars: missing.yml not found" in printed and tally["vm1"].failed == 1


def test_lookups_file_env_template_and_vars(tmp_path, monkeypatch):
    monkeypatch.setenv("KOB_TEST_LOOKUP", "from-env")
    (tmp_path / "files").mkdir()
    (tmp_path / "files/key.pub").write_text("ssh-ed25519 AAA\n\n")
    (tmp_path / "templates").mkdir()
    (tmp_path / "templates/line.j2").write_text("{% if x %}\nx={{ x }}\n{% endif %}\n")
    _run, fake, _tally, _printed = play(tmp_path, """\
        vars: {x: 7, name_of: x}
        tasks:
          - command:
              argv:
                - "{{ lookup('file', 'key.pub') }}"
                - "{{ lookup('env', 'KOB_TEST_LOOKUP', 'KOB_TEST_UNSET') }}"
                - "{{ lookup('template', 'line.j2') }}"
                - "{{ lookup('vars', name_of) }}"
                - "{{ query('env', 'KOB_TEST_LOOKUP') | length }}"
                - "{{ lookup('vars', 'nothing', default='d') }}"
                - "{{ lookup('env', 'KOB_TEST_LOOKUP', wantlist=True) }}"
        """)
    assert fake.sent[0].argv == ("ssh-ed25519 AAA", "from-env,", "x=7\n", "7", "1", "d", "['from-env']")


def test_filter_plugins_beside_the_playbook_and_in_a_role(tmp_path):
    (tmp_path / "filter_plugins").mkdir()
    (tmp_path / "filter_plugins/shout.py").write_text(textwrap.dedent("""\
        class FilterModule:
            def filters(self):
                return {"shout": lambda text: str(text).upper() + "!"}
        """))
    role = tmp_path / "roles/web"
    (role / "filter_plugins").mkdir(parents=True)
    (role / "filter_plugins/wrap.py").write_text(textwrap.dedent("""\
        def wrap(text, mark="*"):
            return mark + text + mark

        class FilterModule:
            def filters(self):
                return {"kob_test_wrap": wrap}
        """))
    (role / "tasks").mkdir()
    (role / "tasks/main.yml").write_text("- command: \"echo {{ 'hi' | shout | kob_test_wrap('_') }}\"\n")
    _run, fake, _tally, _printed = play(tmp_path, "roles: [web]\n")
    assert fake.commands("vm1") == ["echo '_HI!_'"]


@pytest.mark.parametrize("plugin, message, line", [
    ("def broken(:\n", "SyntaxError", 1),
    ("x = 1\nraise RuntimeError('no')\n", "RuntimeError: no", 2),
    ("class FilterModule:\n    pass\n", "a filter plugin needs a class FilterModule with filters()", 1),
    ("class FilterModule:\n    def filters(self):\n        return [1]\n", "should return a mapping", 1),
])
def test_a_broken_filter_plugin_is_refused_at_its_file_and_line(tmp_path, plugin, message, line):
    (tmp_path / "filter_plugins").mkdir()
    (tmp_path / "filter_plugins/bad.py").write_text(plugin)
    (tmp_path / "site.yml").write_text("- hosts: all\n  tasks: []\n")
    with pytest.raises(SpecError, match=message) as refused:
        load_playbook(tmp_path / "site.yml")
    assert str(refused.value).startswith(f"{(tmp_path / 'filter_plugins/bad.py').resolve()}:{line}: ")


def test_import_playbook_reads_the_other_playbooks_plays_in_order(tmp_path):
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub/roles/r/tasks").mkdir(parents=True)
    (tmp_path / "sub/roles/r/tasks/main.yml").write_text("- command: echo from the role beside sub.yml\n")
    (tmp_path / "sub/sub.yml").write_text("- hosts: vm2\n  gather_facts: no\n  roles: [r]\n")
    _run, _fake, _tally, _printed = play(tmp_path, "tasks:\n  - command: echo first\n")
    (tmp_path / "site.yml").write_text((tmp_path / "site.yml").read_text() + "- import_playbook: sub/sub.yml\n")
    plays = load_playbook(tmp_path / "site.yml")
    assert [p.hosts for p in plays] == ["all", "vm2"] and plays[1].base == tmp_path / "sub"
    (tmp_path / "sub/sub.yml").write_text("- import_playbook: ../site.yml\n")
    with pytest.raises(SpecError, match="imports itself"):
        load_playbook(tmp_path / "site.yml")


def test_serial_as_a_share_of_the_hosts(tmp_path):
    _run, fake, _tally, _printed = play(tmp_path, "serial: 50%\ntasks:\n  - command: one\n  - command: two\n")
    assert [s.host + " " + s.command for s in fake.sent] == ["vm1 one", "vm1 two", "vm2 one", "vm2 two"]


def test_facts_are_gathered_in_one_command_per_host_and_seen_under_both_names(tmp_path):
    play(tmp_path, "tasks: []\n")  # writes the inventory and its files
    (tmp_path / "site.yml").write_text("- hosts: all\n  tasks:\n    - command: \"echo {{ ansible_facts.os_family }} "
                                       "{{ ansible_distribution_release }} {{ ansible_default_ipv4.address }}\"\n")
    fake = ScriptedTransport([("*", "@@kob-facts", Reply(stdout=output(UBUNTU)))])
    asyncio.run(PlaybookRun(load_inventory(tmp_path / "inventory.yaml"), load_playbook(tmp_path / "site.yml"),
                            tmp_path / "site.yml", fake, RunOptions(), lambda line: None).run())
    assert len(fake.commands("vm1")) == 2 and fake.commands("vm1")[1] == "echo Debian jammy 10.10.0.11"
    assert fake.sent[0].argv[:2] == ("sh", "-c")


def test_gather_facts_false_gathers_nothing(tmp_path):
    _run, fake, _tally, _printed = play(tmp_path, "tasks:\n  - command: echo\n")  # play() says gather_facts: no
    assert not any("@@kob-facts" in command for command in fake.commands())
