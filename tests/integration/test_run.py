"""`kob run` on the lab: real sshd on every VM (the playbook issue, first part).

Files live under /root/kobrun, which each lab VM has to itself.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.helpers.lab_services import kob

PLAYBOOK = """\
- name: prepare
  hosts: all
  vars:
    motd: "{motd}"
    dirs: [/root/kobrun/a, /root/kobrun/b]
  tasks:
    - name: directories
      file: {{path: "{{{{ item }}}}", state: directory, mode: "0750"}}
      loop: "{{{{ dirs }}}}"
    - name: motd
      copy:
        content: "{{{{ motd }}}} on {{{{ inventory_hostname }}}}\\n"
        dest: /root/kobrun/motd
        mode: "0640"
      notify: announce
    - name: read it
      command: cat /root/kobrun/motd
      register: shown
      changed_when: false
    - assert:
        that: ["shown.stdout == motd ~ ' on ' ~ inventory_hostname"]
    - name: once
      shell:
        cmd: hostname > /root/kobrun/once
        creates: /root/kobrun/once
      when: inventory_hostname != 'vm3'
    - name: a stray file goes
      file: {{path: /root/kobrun/stray, state: absent}}
  handlers:
    - name: announce
      shell: echo announced >> /root/kobrun/handler.log
"""


def run(playbook: Path, inventory: Path, *options: str):
    return kob("run", str(playbook), "-i", str(inventory), *options)


def recap(output: str) -> dict[str, dict[str, int]]:
    found = {}
    for line in output.split("PLAY RECAP", 1)[1].splitlines()[1:]:
        host, _, counts = line.partition(":")
        found[host.strip()] = {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", counts)}
    return found


def on_vm(lab, vm: str, command: str) -> str:
    done = kob("exec", str(lab.layout.inventory), command, "--hosts", vm)
    return done.stdout


@pytest.fixture
def playbook(tmp_path, lab) -> Path:
    kob("exec", str(lab.layout.inventory), "rm -rf /root/kobrun; mkdir -p /root/kobrun; touch /root/kobrun/stray")
    path = tmp_path / "site.yaml"
    path.write_text(PLAYBOOK.format(motd="hello"))
    yield path
    kob("exec", str(lab.layout.inventory), "rm -rf /root/kobrun")


def test_changed_on_the_first_run_ok_on_the_second(lab, playbook):
    first = run(playbook, lab.layout.inventory)
    assert first.returncode == 0, first.stdout + first.stderr
    counts = recap(first.stdout)
    # 2 directories (one task), motd, once (not on vm3), stray removed, and the handler
    assert {h: c["changed"] for h, c in counts.items()} == {"vm1": 5, "vm2": 5, "vm3": 4}
    assert "RUNNING HANDLER [announce]" in first.stdout
    second = run(playbook, lab.layout.inventory)
    assert second.returncode == 0 and "RUNNING HANDLER" not in second.stdout
    assert {h: c["changed"] for h, c in recap(second.stdout).items()} == {"vm1": 0, "vm2": 0, "vm3": 0}
    state = kob("exec", str(lab.layout.inventory), "cat /root/kobrun/motd; stat -c %a /root/kobrun/motd /root/kobrun/a;"
                " cat /root/kobrun/handler.log; ls /root/kobrun", "--json").stdout
    assert '"hello on vm2\\n640\\n750\\nannounced\\n' in state
    assert "stray" not in state and state.count("once") == 2  # vm3 skipped `once`


def test_check_and_diff_change_nothing_and_show_the_file_diff(lab, playbook):
    assert run(playbook, lab.layout.inventory).returncode == 0
    playbook.write_text(PLAYBOOK.format(motd="changed"))
    checked = run(playbook, lab.layout.inventory, "--check", "--diff", "--limit", "vm1", "--tags", "never-matches")
    assert "TASK [motd]" not in checked.stdout  # --tags selects nothing here
    checked = run(playbook, lab.layout.inventory, "--check", "--diff", "--limit", "vm1")
    assert "-hello on vm1\n+changed on vm1" in checked.stdout and "[vm2]" not in checked.stdout
    assert "hello on vm1" in on_vm(lab, "vm1", "cat /root/kobrun/motd")  # nothing was written


def test_a_failed_host_stops_alone_and_the_exit_code_says_so(lab, playbook, tmp_path):
    failing = tmp_path / "fail.yaml"
    failing.write_text("""\
- hosts: all
  gather_facts: false
  tasks:
    - command: "false"
      when: inventory_hostname == 'vm2'
    - shell: echo after
      register: after
    - debug: {var: after.stdout}
""")
    done = run(failing, lab.layout.inventory)
    assert done.returncode == 2
    assert re.search(r"fatal: \[vm2\]: FAILED! => .*non-zero return code 1", done.stdout)
    counts = recap(done.stdout)
    assert counts["vm2"]["failed"] == 1 and counts["vm1"]["failed"] == 0 and counts["vm1"]["changed"] == 1
    assert '"after.stdout": "after"' in done.stdout and done.stdout.count('"after.stdout"') == 2


def test_an_unknown_module_is_refused_before_anything_runs(lab, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("- hosts: all\n  tasks:\n    - shell: touch /root/kobrun-never\n    - shel: echo\n")
    done = run(bad, lab.layout.inventory)
    assert done.returncode == 1 and done.stderr.startswith(f"kob: error: {bad}:4:") and "shell" in done.stderr
    assert "kobrun-never" not in kob("exec", str(lab.layout.inventory), "ls /root").stdout


def test_template_lineinfile_and_wait_for(lab, playbook, tmp_path):
    (tmp_path / "templates").mkdir()
    (tmp_path / "templates/app.j2").write_text("host {{ inventory_hostname }}\n{% for d in dirs %}dir {{ d }}\n{% endfor %}")
    more = tmp_path / "more.yaml"
    more.write_text("""\
- hosts: vm1
  gather_facts: false
  vars: {dirs: [a, b]}
  tasks:
    - template: {src: app.j2, dest: /root/kobrun/app.conf, mode: "0600"}
    - lineinfile: {path: /root/kobrun/settings, line: "port=8080", regexp: "^port=", create: true}
    - lineinfile: {path: /root/kobrun/settings, line: "debug=off"}
    - wait_for: {path: /root/kobrun/settings, timeout: 5}
    - wait_for: {port: 22, host: "{{ ansible_host }}", timeout: 5}
""")
    first, second = run(more, lab.layout.inventory), run(more, lab.layout.inventory)
    assert recap(first.stdout)["vm1"]["changed"] == 3 and recap(second.stdout)["vm1"]["changed"] == 0
    state = on_vm(lab, "vm1", "cat /root/kobrun/app.conf /root/kobrun/settings; stat -c %a /root/kobrun/app.conf")
    assert "host vm1\ndir a\ndir b\nport=8080\ndebug=off\n600" in state.replace("vm1 | ", "")
    closed = tmp_path / "closed.yaml"
    closed.write_text("- hosts: vm1\n  gather_facts: false\n  tasks:\n    - wait_for: {port: 1, timeout: 1}\n")
    done = run(closed, lab.layout.inventory)
    assert done.returncode == 2 and "timeout: port 1 not started after 1 s" in done.stdout


DOCKER = """\
- hosts: vm3
  gather_facts: false
  tasks:
    - docker_image: {{name: kob-demo/web:1}}
    - docker_container:
        name: kobrun-web
        image: kob-demo/web:1
        state: {state}
        ports: ["18091:80"]
        env: {{GREETING: "{greeting}"}}
        restart_policy: unless-stopped
"""


def test_docker_modules_are_idempotent_and_recreate_on_change(lab, tmp_path):
    play = tmp_path / "docker.yaml"

    def converge(state: str, greeting: str = "hi") -> list[int]:
        play.write_text(DOCKER.format(state=state, greeting=greeting))
        return [recap(run(play, lab.layout.inventory).stdout)["vm3"]["changed"] for _ in range(2)]

    def container() -> str:
        return on_vm(lab, "vm3", "docker ps -a --filter name=kobrun-web --format '{{.State}} {{.Ports}}'")

    try:
        assert converge("started") == [1, 0]  # the image was there already: only the container changed
        assert "running" in container() and "18091->80" in container()
        assert converge("started", greeting="hello") == [1, 0]  # env changed: recreated once
        env = on_vm(lab, "vm3", "docker inspect --format '{{.Config.Env}}' kobrun-web")
        assert "GREETING=hello" in env
        assert converge("stopped", greeting="hello") == [1, 0] and "exited" in container()
        assert converge("absent") == [1, 0] and "kobrun-web" not in on_vm(lab, "vm3", "docker ps -a")
    finally:
        kob("exec", str(lab.layout.inventory), "docker rm -f kobrun-web", "--hosts", "vm3")


def test_service_without_systemd_fails_clearly_and_apt_check_installs_nothing(lab, tmp_path):
    play = tmp_path / "system.yaml"
    play.write_text("""\
- hosts: vm1
  gather_facts: false
  tasks:
    - apt: {name: [curl, sl], state: present}
    - service: {name: ssh, state: started}
""")
    done = run(play, lab.layout.inventory, "--check")
    assert "changed: [vm1]" in done.stdout  # sl is not installed: it would be
    assert "this host does not run systemd" in done.stdout and done.returncode == 2
    assert "sl" not in on_vm(lab, "vm1", "dpkg-query -W -f='${Package}\\n' sl 2>/dev/null; true").split()


def test_kob_deploy_converges_a_service_once_for_all_hosts(lab, tmp_path):
    inventory = tmp_path / "svc.yaml"
    inventory.write_text(lab.layout.inventory.read_text() + """
services:
  echo:
    image: kob-demo/web:1
    replicas: {replicas}
    port: 80
""".replace("{replicas}", "2"))
    play = tmp_path / "deploy.yaml"
    play.write_text("- hosts: all\n  gather_facts: false\n  tasks:\n"
                    "    - kob_deploy: {service: echo, inventory: svc.yaml}\n      register: deployed\n")
    try:
        first = run(play, inventory)
        assert first.returncode == 0, first.stdout + first.stderr
        assert {h: c["changed"] for h, c in recap(first.stdout).items()} == {"vm1": 1, "vm2": 1, "vm3": 1}
        status = kob("status", str(inventory), "--json").stdout
        assert '"healthy": 2' in status
        second = run(play, inventory)
        assert {h: c["changed"] for h, c in recap(second.stdout).items()} == {"vm1": 0, "vm2": 0, "vm3": 0}
    finally:
        inventory.write_text(inventory.read_text().replace("replicas: 2", "replicas: 0"))
        kob("deploy", str(inventory), "--wait", "30")


def test_every_other_module_changes_once_then_not(lab, playbook, tmp_path):
    """command (creates), docker_image (absent on an alias), apt (a tiny package, then removed again),
    set_fact, serial and -e."""
    play = tmp_path / "rest.yaml"
    play.write_text("""\
- hosts: vm1,vm2
  serial: 1
  gather_facts: false
  tasks:
    - command: touch /root/kobrun/commanded
      args: {creates: /root/kobrun/commanded}
    - shell: docker tag kob-demo/web:1 kobrun/alias:1
      changed_when: false
      when: tag_it is defined
    - docker_image: {name: kobrun/alias:1, state: absent}
    - set_fact: {greeting: "{{ word }} from {{ inventory_hostname }}"}
    - copy: {content: "{{ greeting }}\\n", dest: /root/kobrun/greeting}
""")
    first = run(play, lab.layout.inventory, "-e", "word=hi tag_it=1")
    assert first.returncode == 0, first.stdout + first.stderr
    assert first.stdout.count("TASK [command]") == 2  # serial: 1 runs the play host by host
    assert {h: c["changed"] for h, c in recap(first.stdout).items()} == {"vm1": 3, "vm2": 3}
    assert "hi from vm2" in on_vm(lab, "vm2", "cat /root/kobrun/greeting")
    second = run(play, lab.layout.inventory, "-e", "word=hi")
    assert {h: c["changed"] for h, c in recap(second.stdout).items()} == {"vm1": 0, "vm2": 0}


def test_apt_finds_nothing_to_do_for_installed_or_absent_packages(lab, tmp_path):
    """The lab VMs cannot reach a Debian mirror: a real install is shown only in check mode (above)."""
    play = tmp_path / "apt.yaml"
    play.write_text("- hosts: vm1\n  gather_facts: false\n  tasks:\n"
                    "    - apt: {name: [curl, openssh-client], state: present}\n"
                    "    - apt: {name: sl, state: absent}\n")
    done = run(play, lab.layout.inventory)
    assert done.returncode == 0, done.stdout
    assert recap(done.stdout)["vm1"] == {"ok": 2, "changed": 0, "unreachable": 0, "failed": 0, "skipped": 0,
                                         "rescued": 0, "ignored": 0}
