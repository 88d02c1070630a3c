"""The same playbook under ansible-playbook (on vm1) and `kob run` (on vm2) leaves the same end state.

ansible-core is installed into the tests' own venv (/var/lib/kob-test-ansible) on first use, from PyPI.
The corpus of one playbook per folder (tests/playbook_corpus/NN-name) is judged by test_corpus_vs_ansible.py.

Every case runs twice under both tools at once, in a module fixture; each test then judges one case. The case
under /root/compare runs beside the corpus's (under /root/corpus, one site after the other), so their waits on
ssh and Python start-up overlap; a case no selected test judges is not run.
"""

from __future__ import annotations

import shutil
import subprocess
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.helpers.ansible_side import (
    ansible_playbook_binary,
    beside,
    one_vm_ini,
    recap,
    shared_connections,
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


@dataclass
class Case:
    """Both tools' runs of one playbook (ansible-playbook on vm1, `kob run` on vm2, at the same time), and the
    end state each VM was left in after the last one."""

    runs: list[tuple[subprocess.CompletedProcess, subprocess.CompletedProcess]] = field(default_factory=list)
    theirs: str = ""
    mine: str = ""

    def assert_both_succeeded(self) -> None:
        assert len(self.runs) == 2, "a run failed"
        for ansible, ours in self.runs:
            assert ansible.returncode == 0, ansible.stdout + ansible.stderr
            assert ours.returncode == 0, ours.stdout + ours.stderr


def run_case(lab, ansible_playbook: Path, folder: Path, playbook: Path, root: str, state: str) -> Case:
    """Two runs of ``playbook`` under both tools on a fresh ``root`` (removed again after), stopping at a failure."""
    ini = one_vm_ini(lab, "vm1", folder / "hosts.ini")
    inventory = str(lab.layout.inventory)
    case = Case()
    try:
        for _ in range(2):
            with shared_connections() as env:
                case.runs.append(beside([str(ansible_playbook), "-i", str(ini), str(playbook)],
                                        ["run", str(playbook), "-i", inventory, "--limit", "vm2"], env, timeout=300))
            if any(done.returncode != 0 for done in case.runs[-1]):
                return case
        case.theirs, case.mine = vm_state(lab, "vm1", state), vm_state(lab, "vm2", state)
        return case
    finally:
        kob("exec", inventory, f"rm -rf {root}")


def compare_case(lab, ansible_playbook: Path, folder: Path) -> Case:
    kob("exec", str(lab.layout.inventory), "rm -rf /root/compare; mkdir -p /root/compare; touch /root/compare/stray")
    (folder / "templates").mkdir()
    (folder / "templates/app.conf.j2").write_text(TEMPLATE)
    playbook = folder / "site.yaml"
    playbook.write_text(PLAYBOOK)
    return run_case(lab, ansible_playbook, folder, playbook, "/root/compare", STATE)


def corpus_cases(lab, ansible_playbook: Path, folder: Path, sites: list[str]) -> dict[str, Case]:
    """The corpus's sites one after the other: they share /root/corpus."""
    shutil.copytree(CORPUS, folder / "corpus")
    cases = {}
    for site in sites:
        kob("exec", str(lab.layout.inventory), "rm -rf /root/corpus")
        cases[site] = run_case(lab, ansible_playbook, folder, folder / "corpus" / site, "/root/corpus", CORPUS_STATE)
    return cases


@pytest.fixture(scope="module")
def cases(request, lab, ansible_playbook, tmp_path_factory) -> dict[str, Case]:
    """Every case a selected test of this module judges, by name ("compare" or a corpus site)."""
    wanted = [getattr(item, "callspec", None) for item in request.session.items if item.module is request.module]
    sites = sorted({spec.params["site"] for spec in wanted if spec is not None})
    with ThreadPoolExecutor(2) as pool:
        compare = pool.submit(compare_case, lab, ansible_playbook, tmp_path_factory.mktemp("compare")) \
            if None in wanted else None
        corpus = pool.submit(corpus_cases, lab, ansible_playbook, tmp_path_factory.mktemp("corpus"), sites)
        return {**corpus.result(), **({"compare": compare.result()} if compare else {})}


def test_the_same_playbook_leaves_the_same_end_state(cases):
    case = cases["compare"]
    case.assert_both_succeeded()
    ansible, ours = case.runs[1]  # the second run changes nothing, under both
    assert "changed=0" in ansible.stdout.split("PLAY RECAP")[1]
    assert "changed=0" in ours.stdout.split("PLAY RECAP")[1]
    assert "./handler.log f 644" in case.theirs and "./conf/settings f 600" in case.theirs
    assert case.mine == case.theirs


@pytest.mark.parametrize("site, made", [
    ("site.yml", "./shop/app.conf f 640"),
    ("second.yml", "./second/worker/worker.conf f 600"),
])
def test_the_corpus_of_roles_leaves_the_same_end_state_and_counts(cases, site, made):
    """tests/playbook_corpus: roles (defaults, vars, meta dependencies, handlers with listen, templates,
    files), import_tasks/include_tasks (templated name, loop), include_role with a loop, import_role
    tasks_from, pre_tasks/post_tasks, nested block/rescue/always, meta: flush_handlers, yes/no booleans,
    omit, filters: the same files, the same recap, nothing changed on the second run."""
    case = cases[site]
    case.assert_both_succeeded()
    counts = [(recap(ansible.stdout), recap(ours.stdout)) for ansible, ours in case.runs]
    for number, (theirs_counts, ours_counts) in enumerate(counts, 1):  # shown with pytest -s
        print(f"run {number}: ansible-playbook {theirs_counts}\n       kob run          {ours_counts}")
    assert made in case.theirs
    assert case.mine == case.theirs
    for (ansible_counts, kob_counts) in counts:  # the whole recap: ok, changed, skipped, rescued, failed ...
        assert kob_counts == ansible_counts, counts
        assert kob_counts["failed"] == 0 and kob_counts["rescued"] == 1, counts
    assert counts[1][0]["changed"] == counts[1][1]["changed"] == 0, counts
