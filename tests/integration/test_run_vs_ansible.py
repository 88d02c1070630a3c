"""The same playbook under ansible-playbook (on vm1) and `kob run` (on vm2) leaves the same end state.

ansible-core is installed into the tests' own venv (/var/lib/kob-test-ansible) on first use, from PyPI.
The corpus of one playbook per folder (tests/playbook_corpus/NN-name) is judged by test_corpus_vs_ansible.py.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.helpers.ansible_side import (
    ANSIBLE_ENV,
    ansible_playbook_binary,
    one_vm_ini,
    recap,
)
from tests.helpers.lab_services import kob

PLAYBOOK = """\
- hosts: all
  gather_facts: false
  vars: {base: /root/compare, workers: 3}
  tasks:
    - name: directories
      file: {path: "{{ base }}/{{ item }}", state: directory, mode: "0750"}
      loop: [conf, data]
    - name: config
      template: {src: app.conf.j2, dest: "{{ base }}/conf/app.conf", mode: "0640"}
      notify: reloaded
    - name: motd
      copy: {content: "hello\\n", dest: "{{ base }}/motd", mode: "0644"}
    - name: settings
      lineinfile: {path: "{{ base }}/conf/settings", line: "port=8080", regexp: "^port=", create: true, mode: "0600"}
    - name: once
      shell: echo initialised > {{ base }}/data/once
      args: {creates: "{{ base }}/data/once"}
    - name: nothing stray
      file: {path: "{{ base }}/stray", state: absent}
  handlers:
    - name: reloaded
      shell: echo reloaded >> {{ base }}/handler.log
"""
TEMPLATE = "workers = {{ workers }}\n{% for n in range(workers) %}worker{{ n }} = on\n{% endfor %}"
CORPUS = Path(__file__).resolve().parents[1] / "playbook_corpus"
CORPUS_STATE = ("cd /root/corpus && find . -printf '%p %y %m\\n' | sort && find . -type f | sort | xargs sha256sum"
                " && { sort log/handlers.log 2>/dev/null || true; }")
STATE = "cd /root/compare && find . -printf '%p %y %m\\n' | sort && find . -type f | sort | xargs sha256sum"


@pytest.fixture(scope="module")
def ansible_playbook() -> Path:
    return ansible_playbook_binary()


def vm_state(lab, vm: str, state: str = STATE) -> str:
    done = kob("exec", str(lab.layout.inventory), state, "--hosts", vm)
    assert done.returncode == 0, done.stdout + done.stderr
    return "\n".join(line.split("| ", 1)[1] for line in done.stdout.splitlines() if "| " in line)


def side_by_side(ansible_playbook: Path, ini: Path, playbook: Path, lab, env: dict
                 ) -> tuple[subprocess.CompletedProcess, subprocess.CompletedProcess]:
    """ansible-playbook on vm1 and `kob run` on vm2 of the same playbook, at the same time; both must succeed."""
    with subprocess.Popen([str(ansible_playbook), "-i", str(ini), str(playbook)], stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True, env=env) as process:
        try:
            ours = kob("run", str(playbook), "-i", str(lab.layout.inventory), "--limit", "vm2")
            out, err = process.communicate(timeout=300)
        finally:
            process.kill()
    ansible = subprocess.CompletedProcess(process.args, process.returncode, out, err)
    assert ansible.returncode == 0, ansible.stdout + ansible.stderr
    assert ours.returncode == 0, ours.stdout + ours.stderr
    return ansible, ours


def test_the_same_playbook_leaves_the_same_end_state(lab, ansible_playbook, tmp_path):
    kob("exec", str(lab.layout.inventory), "rm -rf /root/compare; mkdir -p /root/compare; touch /root/compare/stray")
    (tmp_path / "templates").mkdir()
    (tmp_path / "templates/app.conf.j2").write_text(TEMPLATE)
    playbook = tmp_path / "site.yaml"
    playbook.write_text(PLAYBOOK)
    ini = one_vm_ini(lab, "vm1", tmp_path / "hosts.ini")
    env = {**os.environ, **ANSIBLE_ENV}
    try:
        for _ in range(2):  # the second run changes nothing, under both
            ansible, ours = side_by_side(ansible_playbook, ini, playbook, lab, env)
        assert "changed=0" in ansible.stdout.split("PLAY RECAP")[1]
        assert "changed=0" in ours.stdout.split("PLAY RECAP")[1]
        theirs, mine = vm_state(lab, "vm1"), vm_state(lab, "vm2")
        assert "./handler.log f 644" in theirs and "./conf/settings f 600" in theirs
        assert mine == theirs
    finally:
        kob("exec", str(lab.layout.inventory), "rm -rf /root/compare")


@pytest.mark.parametrize("site, made", [
    ("site.yml", "./shop/app.conf f 640"),
    ("second.yml", "./second/worker/worker.conf f 600"),
])
def test_the_corpus_of_roles_leaves_the_same_end_state_and_counts(lab, ansible_playbook, tmp_path, site, made):
    """tests/playbook_corpus: roles (defaults, vars, meta dependencies, handlers with listen, templates,
    files), import_tasks/include_tasks (templated name, loop), include_role with a loop, import_role
    tasks_from, pre_tasks/post_tasks, nested block/rescue/always, meta: flush_handlers, yes/no booleans,
    omit, filters: the same files, the same recap, nothing changed on the second run."""
    kob("exec", str(lab.layout.inventory), "rm -rf /root/corpus")
    shutil.copytree(CORPUS, tmp_path / "corpus")
    playbook = tmp_path / "corpus" / site
    ini = one_vm_ini(lab, "vm1", tmp_path / "hosts.ini")
    env = {**os.environ, **ANSIBLE_ENV}
    counts = []
    try:
        for _ in range(2):
            ansible, ours = side_by_side(ansible_playbook, ini, playbook, lab, env)
            counts.append((recap(ansible.stdout), recap(ours.stdout)))
        for number, (theirs_counts, ours_counts) in enumerate(counts, 1):  # shown with pytest -s
            print(f"run {number}: ansible-playbook {theirs_counts}\n       kob run          {ours_counts}")
        theirs, mine = vm_state(lab, "vm1", CORPUS_STATE), vm_state(lab, "vm2", CORPUS_STATE)
        assert made in theirs
        assert mine == theirs
        for (ansible_counts, kob_counts) in counts:  # the whole recap: ok, changed, skipped, rescued, failed ...
            assert kob_counts == ansible_counts, counts
            assert kob_counts["failed"] == 0 and kob_counts["rescued"] == 1, counts
        assert counts[1][0]["changed"] == counts[1][1]["changed"] == 0, counts
    finally:
        kob("exec", str(lab.layout.inventory), "rm -rf /root/corpus")
