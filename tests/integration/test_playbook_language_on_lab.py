"""`kob run` on the lab with the language roles use: a role with a handler, include_tasks with loop_control,
block/rescue, delegate_to (another VM and the manager), run_once, until/retries, environment and Ansible's
facts; the end state on the VMs and on the manager, and the changed counts of a first and a second run.

Each lab VM has its own /root and /tmp; files go under /root/pblang and /tmp/pblang-counter.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers.lab_services import kob
from tests.integration.test_run import recap

SITE = """\
- hosts: vm1:vm2
  vars: {base: /root/pblang}
  environment: {KOB_GREETING: hello}
  roles:
    - {role: app, app_port: 8081}
  tasks:
    - include_tasks: parts.yml
      loop: [one, two]
      loop_control: {loop_var: part}
    - name: facts
      copy:
        content: "{{ ansible_facts.os_family }} {{ ansible_distribution == ansible_facts.distribution }}
          {{ ansible_default_ipv4.address }} {{ ansible_processor_vcpus > 0 }} {{ ansible_env.HOME }}\\n"
        dest: "{{ base }}/facts"
    - block:
        - command: "false"
          changed_when: false
      rescue:
        - copy: {content: "rescued\\n", dest: "{{ base }}/rescued"}
    - name: every host known on vm1
      copy: {content: "{{ inventory_hostname }}\\n", dest: "{{ base }}/member-{{ inventory_hostname }}"}
      delegate_to: vm1
    - name: once
      shell: echo "$KOB_GREETING from {{ inventory_hostname }}" > {{ base }}/once
      args: {creates: "{{ base }}/once"}
      run_once: true
    - name: counts to three
      shell: n=$(cat /tmp/pblang-counter 2>/dev/null || echo 0); echo $((n + 1)) | tee /tmp/pblang-counter
      register: counted
      until: counted.stdout | int >= 3
      retries: 5
      delay: 0
      changed_when: false
    - name: on the manager
      copy: {content: "{{ inventory_hostname }} {{ counted.attempts }}\\n", dest: "{{ local }}/from-{{ inventory_hostname }}"}
      delegate_to: localhost
      when: counted.attempts == 3
"""
ROLE = {
    "defaults/main.yml": "app_port: 80\n",
    "tasks/main.yml": "- file: {path: '{{ base }}', state: directory, mode: '0750'}\n"
                      "- template: {src: app.conf.j2, dest: '{{ base }}/app.conf', mode: '0640'}\n"
                      "  notify: app restarted\n",
    "templates/app.conf.j2": "# {{ ansible_managed }}\n{% if app_port %}\nport = {{ app_port }}\n{% endif %}\n",
    "handlers/main.yml": "- name: app restarted\n  shell: echo restarted >> {{ base }}/handler.log\n",
}
STATE = "cd /root/pblang && find . -type f | sort | while read f; do echo \"$f $(stat -c %a \"$f\") $(cat \"$f\" | tr '\\n' '|')\"; done"


def vm_lines(lab, vm: str, command: str) -> list[str]:
    done = kob("exec", str(lab.layout.inventory), command, "--hosts", vm)
    assert done.returncode == 0, done.stdout + done.stderr
    return [line.split("| ", 1)[1] for line in done.stdout.splitlines() if "| " in line]


@pytest.fixture
def site(lab, tmp_path) -> Path:
    kob("exec", str(lab.layout.inventory), "rm -rf /root/pblang /tmp/pblang-counter")
    for name, text in ROLE.items():
        (tmp_path / "roles/app" / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / "roles/app" / name).write_text(text)
    (tmp_path / "parts.yml").write_text("- copy: {content: \"{{ part }} {{ app_port }}\\n\", "
                                        "dest: '{{ base }}/part-{{ part }}'}\n")
    (tmp_path / "local").mkdir()
    path = tmp_path / "site.yml"
    path.write_text(SITE)
    yield path
    kob("exec", str(lab.layout.inventory), "rm -rf /root/pblang /tmp/pblang-counter")


def test_roles_includes_rescue_delegation_run_once_until_and_facts_on_the_lab(lab, site):
    local = site.parent / "local"
    runs = []
    for _ in range(2):
        done = kob("run", str(site), "-i", str(lab.layout.inventory), "-e", f"local={local}")
        assert done.returncode == 0, done.stdout + done.stderr
        runs.append(recap(done.stdout))
    first, second = runs
    # dir, template, 2 included copies, facts, rescue, member (delegated), on the manager, the handler; + once on vm1
    assert (first["vm1"]["changed"], first["vm2"]["changed"]) == (10, 9), runs
    assert (first["vm1"]["rescued"], first["vm2"]["rescued"], first["vm1"]["failed"]) == (1, 1, 0), runs
    assert (second["vm1"]["changed"], second["vm2"]["changed"]) == (0, 0), runs
    assert "vm3" not in first
    vm1, vm2 = vm_lines(lab, "vm1", STATE), vm_lines(lab, "vm2", STATE)
    address = {vm: lab.state["vms"][vm]["address"] for vm in ("vm1", "vm2")}
    assert "./app.conf 640 # Ansible managed|port = 8081|" in vm1  # trim_blocks: no empty line
    assert "./handler.log 644 restarted|" in vm1 and "./handler.log 644 restarted|" in vm2  # once: not on run 2
    # a role parameter is the role's own: the play's tasks see the role's default (as ansible-core 2.19 does)
    assert "./part-one 644 one 80|" in vm2 and "./part-two 644 two 80|" in vm2
    assert f"./facts 644 Debian True {address['vm1']} True /root|" in vm1
    assert f"./facts 644 Debian True {address['vm2']} True /root|" in vm2
    assert "./rescued 644 rescued|" in vm2
    assert "./member-vm1 644 vm1|" in vm1 and "./member-vm2 644 vm2|" in vm1  # delegated to vm1
    assert not any(line.startswith("./member") for line in vm2)
    assert "./once 644 hello from vm1|" in vm1 and not any(line.startswith("./once") for line in vm2)
    assert vm_lines(lab, "vm1", "cat /tmp/pblang-counter") == ["4"]  # 3 attempts on run 1, 1 on run 2
    assert (local / "from-vm1").read_text() == "vm1 3\n" and (local / "from-vm2").read_text() == "vm2 3\n"


COMPARED = SITE.replace("- hosts: vm1:vm2", "- hosts: all").replace(
    "\n          {{ ansible_default_ipv4.address }} {{ ansible_processor_vcpus > 0 }}", "").replace(
    """    - name: every host known on vm1
      copy: {content: "{{ inventory_hostname }}\\n", dest: "{{ base }}/member-{{ inventory_hostname }}"}
      delegate_to: vm1
""", "")


def test_the_same_language_under_ansible_playbook_and_kob_run(lab, site, tmp_path):
    """ansible-playbook on vm1 and kob run on vm2, at the same time (without delegation to another VM): the same
    files under /root/pblang and on the manager, the same recap on both runs."""
    from tests.helpers.ansible_side import (
        ansible_playbook_binary,
        beside,
        one_vm_ini,
        shared_connections,
    )
    from tests.helpers.ansible_side import recap as one_recap

    binary = ansible_playbook_binary()
    assert COMPARED != SITE and "delegate_to: vm1" not in COMPARED
    site.write_text(COMPARED)
    ini = one_vm_ini(lab, "vm1", tmp_path / "hosts.ini")
    theirs_local, ours_local = tmp_path / "ansible-local", tmp_path / "kob-local"
    theirs_local.mkdir()
    ours_local.mkdir()
    counts = []
    for _ in range(2):
        with shared_connections() as env:
            ansible, ours = beside([str(binary), "-i", str(ini), str(site), "-e", f"local={theirs_local}"],
                                   ["run", str(site), "-i", str(lab.layout.inventory), "--limit", "vm2", "-e",
                                    f"local={ours_local}"], env)
        assert ansible.returncode == 0, ansible.stdout + ansible.stderr
        assert ours.returncode == 0, ours.stdout + ours.stderr
        counts.append((one_recap(ansible.stdout), one_recap(ours.stdout)))
    for theirs_counts, ours_counts in counts:
        assert ours_counts == theirs_counts, counts
    assert counts[0][1]["changed"] == 9 and counts[1][1]["changed"] == 0, counts
    theirs, mine = ([line.replace(vm, "vmN") for line in vm_lines(lab, vm, STATE)] for vm in ("vm1", "vm2"))
    assert "./rescued 644 rescued|" in theirs and "./once 644 hello from vmN|" in theirs
    assert mine == theirs
    assert (theirs_local / "from-vm1").read_text() == "vm1 3\n" and (ours_local / "from-vm2").read_text() == "vm2 3\n"
