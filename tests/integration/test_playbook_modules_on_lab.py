"""The modules roles use most, on the lab: one playbook with every one of them, run twice by `kob run` on vm2
(first run: the changes expected; second: changed=0), its end state read back with `kob exec`; the same
playbook under ansible-playbook on vm1 leaves the same end state with the same counts.

Lab VMs share the machine's /etc, /home and /var/spool/cron, so the test first gives vm1 and vm2 copies of
their own (bind mounts inside each VM's private mount namespace) and takes them away at the end: users,
groups, crontabs and sysctl files never touch the machine. sysctl sets net.core.somaxconn, which each VM's
network namespace has to itself. get_url and uri reach a server this test runs on the lab's bridge address.

The runs are made once, in a module fixture, and judged by the two tests: `kob run` of the playbook on vm2 twice,
each time beside ansible-playbook of it on vm1 (both VMs' end states are read then), then the kob-only playbook
twice, then the playbook in check mode.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import subprocess
import tarfile
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.helpers.ansible_side import beside, one_vm_ini, shared_connections
from tests.helpers.lab_services import kob
from tests.integration.test_run_vs_ansible import ansible_playbook, recap  # noqa: F401 (a fixture)

pytestmark = pytest.mark.lab

PRIVATE = ("etc", "home", "var/spool/cron", "var/mail")
MAKE_PRIVATE = "set -e\nrm -rf /root/mods /root/.ssh/known_hosts; rmdir /root/.ssh 2>/dev/null || true\n" + "".join(
    f"rm -rf /srv/kobmods-{d.replace('/', '-')}; mkdir -p /srv/kobmods-{d.replace('/', '-')}; "
    f"cp -a /{d}/. /srv/kobmods-{d.replace('/', '-')}/; mount --bind /srv/kobmods-{d.replace('/', '-')} /{d}\n"
    for d in PRIVATE)
UNDO_PRIVATE = "rm -rf /root/mods /root/.ssh/known_hosts; rmdir /root/.ssh\n" + "".join(
    f"umount /{d} && rm -rf /srv/kobmods-{d.replace('/', '-')}\n" for d in PRIVATE)  # the copies go with their changes
RELEASE = b"release 1.2.3\n"
PASSWORD = "$6$kobsalt$Jn3WnBJ1EDeYTDjYBWjGR7PSA3jGamzcaCzUe1.Aah/gv14b4lYO6Oz5fhj3Z1IM8e49lfVpdBXvjw04bC9kJ."
HOST_KEY = "example.org ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKobLabTestKeyKobLabTestKeyKobLabTestKey01"
USER_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKobLabUserKeyKobLabUserKeyKobLabUserKey02 demo@lab"

PLAYBOOK = """\
- hosts: all
  gather_facts: false
  vars:
    base: /root/mods
    web: "{web}"
  tasks:
    - name: folders
      file: {{path: "{{{{ item }}}}", state: directory, mode: "0755"}}
      loop: ["{{{{ base }}}}", "{{{{ base }}}}/www"]
    - name: seed
      shell: printf 'port=80\\nhost=localhost\\n# end\\n' > {{{{ base }}}}/app.conf
      args: {{creates: "{{{{ base }}}}/app.conf"}}
    - replace: {{path: "{{{{ base }}}}/app.conf", regexp: '^port=80$', replace: port=8080, backup: yes}}
    - blockinfile: {{path: "{{{{ base }}}}/app.conf", block: "workers=4\\nqueue=on", insertafter: "^host="}}
    - lineinfile: {{dest: "{{{{ base }}}}/app.conf", line: debug=false}}
    - copy: {{content: "Welcome\\n", dest: "{{{{ base }}}}/motd", mode: "0640", validate: "grep -q Welcome %s",
             backup: yes}}
    - template: {{src: motd.j2, dest: "{{{{ base }}}}/motd2", validate: "test -s %s"}}
    - copy: {{content: "", dest: "{{{{ base }}}}/empty"}}
    - stat: {{path: "{{{{ base }}}}/app.conf", checksum_algorithm: sha256}}
      register: st
    - slurp: {{src: "{{{{ base }}}}/app.conf"}}
      register: sl
    - assert:
        that: ["st.stat.exists and st.stat.isreg and st.stat.mode == '0644'", "'port=8080' in (sl.content | b64decode)"]
    - fetch: {{src: "{{{{ base }}}}/app.conf", dest: fetched}}
    - get_url: {{url: "{{{{ web }}}}/release.txt", dest: "{{{{ base }}}}/release.txt", mode: "0600",
                checksum: "sha256:{release_sum}"}}
    - unarchive: {{src: site.tar.gz, dest: "{{{{ base }}}}/www"}}
    - uri: {{url: "{{{{ web }}}}/api/status", return_content: yes}}
      register: api
      check_mode: no  # a GET: safe to make in check mode too, where uri is otherwise skipped
    - assert: {{that: ["api.status == 200", "api.json.ok"]}}
    - pause: {{seconds: 1}}
    - file: {{path: /root/.ssh, state: directory, mode: "0700"}}  # Ansible's known_hosts does not make it
    - known_hosts: {{name: example.org, key: "{host_key}"}}
    - group: {{name: kobweb, gid: 3201}}
    - user: {{name: kobdemo, uid: 3101, groups: [kobweb], shell: /bin/bash, comment: Kob Demo,
             password: "{password}"}}
    - cron: {{name: nightly, minute: "15", hour: "2", job: /usr/bin/true nightly}}
    - cron: {{name: weekly, special_time: weekly, job: /usr/bin/true weekly, cron_file: kobjobs, user: kobdemo}}
    - package: {{name: coreutils, state: present}}
"""
CHANGED_FIRST = 17  # folders, seed, replace, blockinfile, lineinfile, 2 copies, template, fetch, get_url, unarchive,
# ~/.ssh, known_hosts, group, user, and the two crons

KOB_ONLY = f"""\
- hosts: all
  gather_facts: false
  tasks:
    - sysctl: {{name: net.core.somaxconn, value: "1234", sysctl_file: /etc/sysctl.d/90-kob.conf, sysctl_set: yes}}
    - authorized_key: {{user: kobdemo, key: "{USER_KEY}"}}
    - apt: {{name: coreutils, cache_valid_time: 86400}}
"""

STATE = """\
cd /root/mods && find . ! -name '*~' -printf '%p %y %m %u %g\\n' | sort && find . -type f ! -name '*~' | sort \
| xargs sha256sum && echo "backups $(ls | grep -c '~$')"
getent passwd kobdemo; id kobdemo; getent group kobweb; getent shadow kobdemo | cut -d: -f1,2
stat -c '%n %a %U' /home/kobdemo; crontab -l; cat /etc/cron.d/kobjobs; stat -c '%n %a' /etc/cron.d/kobjobs
cat /root/.ssh/known_hosts
"""


class _Web(BaseHTTPRequestHandler):
    def do_GET(self):  # http.server's name
        body, kind = (RELEASE, "text/plain") if self.path == "/release.txt" else \
            (json.dumps({"ok": True}).encode(), "application/json")
        self.send_response(200 if self.path in ("/release.txt", "/api/status") else 404)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def web(lab):
    """A server on the lab's bridge address (this machine), for get_url and uri on the VMs."""
    server = ThreadingHTTPServer((lab.layout.bridge_address, 0), _Web)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://{lab.layout.bridge_address}:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def private_vms(lab):
    inventory = str(lab.layout.inventory)
    try:
        for vm in ("vm1", "vm2"):
            done = kob("exec", inventory, MAKE_PRIVATE, "--hosts", vm)
            assert done.returncode == 0, done.stdout + done.stderr
        yield inventory
    finally:
        for vm in ("vm1", "vm2"):
            kob("exec", inventory, UNDO_PRIVATE, "--hosts", vm)


def state_of(inventory: str, vm: str) -> str:
    done = kob("exec", inventory, STATE, "--hosts", vm)
    assert done.returncode == 0, done.stdout + done.stderr
    return "\n".join(line.split("| ", 1)[1] for line in done.stdout.splitlines() if "| " in line)


def write_playbooks(folder: Path, web: str) -> tuple[Path, Path]:
    (folder / "templates").mkdir()
    (folder / "templates/motd.j2").write_text("{% if true %}\nWelcome to {{ inventory_hostname | length }}\n"
                                              "{% endif %}\n")
    (folder / "files").mkdir()
    with tarfile.open(folder / "files/site.tar.gz", "w:gz") as archive:
        for name, data in {"index.html": b"<h1>kob</h1>\n", "css/site.css": b"body{}\n"}.items():
            info = tarfile.TarInfo(name)
            info.size, info.mode, info.mtime = len(data), 0o644, 1_700_000_000
            archive.addfile(info, io.BytesIO(data))
    common = folder / "site.yml"
    common.write_text(PLAYBOOK.format(web=web, release_sum=hashlib.sha256(RELEASE).hexdigest(), host_key=HOST_KEY,
                                      password=PASSWORD))
    extra = folder / "extra.yml"
    extra.write_text(KOB_ONLY)
    return common, extra


@dataclass
class Runs:
    """The module's runs, in order, and what they left; ``kob`` holds the playbook's two runs, then the kob-only
    one's two (a run that failed ends the list)."""

    folder: Path
    kob: list[subprocess.CompletedProcess] = field(default_factory=list)
    ansible: list[subprocess.CompletedProcess] = field(default_factory=list)
    theirs_state: str = ""  # vm1's and vm2's end states after the playbook's two runs (before the kob-only one)
    ours_state: str = ""
    theirs_fetched: str = ""
    ours_fetched: str = ""
    check: subprocess.CompletedProcess | None = None


@pytest.fixture(scope="module")
def runs(lab, private_vms, web, ansible_playbook, tmp_path_factory) -> Runs:  # noqa: F811
    made = Runs(tmp_path_factory.mktemp("modules"))
    common, extra = write_playbooks(made.folder, web)
    ini = one_vm_ini(lab, "vm1", made.folder / "hosts.ini")
    ours = ["-i", private_vms, "--limit", "vm2"]
    for _ in range(2):
        with shared_connections() as env:
            theirs, mine = beside([str(ansible_playbook), "-i", str(ini), str(common)], ["run", str(common), *ours], env)
        made.ansible.append(theirs)
        made.kob.append(mine)
        if theirs.returncode or mine.returncode:
            return made
    made.theirs_state, made.ours_state = state_of(private_vms, "vm1"), state_of(private_vms, "vm2")
    made.theirs_fetched, made.ours_fetched = ((made.folder / f"fetched/{vm}/root/mods/app.conf").read_text()
                                              for vm in ("vm1", "vm2"))
    for _ in range(2):
        made.kob.append(kob("run", str(extra), *ours, timeout=600))
        if made.kob[-1].returncode:
            return made
    made.check = kob("run", str(common), *ours, "--check")
    return made


def assert_succeeded(runs: list[subprocess.CompletedProcess], count: int) -> None:
    for done in runs:
        assert done.returncode == 0, done.stdout + done.stderr
    assert len(runs) == count


def test_every_new_module_converges_then_changes_nothing(runs, private_vms):
    assert_succeeded(runs.kob, 4)
    counts = [recap(done.stdout) for done in runs.kob]
    assert [c["changed"] for c in counts] == [CHANGED_FIRST, 0, 2, 0], counts  # apt: nothing to install
    assert all(c["failed"] == 0 for c in counts)
    state = state_of(private_vms, "vm2")
    for expected in ("./app.conf f 644 root root", "./motd f 640 root root", "./release.txt f 600 root root",
                     "./www/index.html f 644 root root", "backups 1",
                     "kobdemo:x:3101:3101:Kob Demo:/home/kobdemo:/bin/bash", "groups=3101(kobdemo),3201(kobweb)",
                     f"kobdemo:{PASSWORD}", "#Ansible: nightly\n15 2 * * * /usr/bin/true nightly",
                     "#Ansible: weekly\n@weekly kobdemo /usr/bin/true weekly", HOST_KEY):
        assert expected in state, (expected, state)
    assert runs.ours_fetched == ("port=8080\nhost=localhost\n# BEGIN ANSIBLE MANAGED BLOCK\nworkers=4\nqueue=on\n"
                                 "# END ANSIBLE MANAGED BLOCK\n# end\ndebug=false\n")
    extra_state = kob("exec", private_vms, "sysctl -n net.core.somaxconn; cat /etc/sysctl.d/90-kob.conf; "
                      "stat -c '%a %U' /home/kobdemo/.ssh /home/kobdemo/.ssh/authorized_keys; "
                      "cat /home/kobdemo/.ssh/authorized_keys", "--hosts", "vm2")
    assert extra_state.returncode == 0, extra_state.stderr
    lines = [line.split("| ", 1)[1] for line in extra_state.stdout.splitlines() if "| " in line]
    assert lines == ["1234", "net.core.somaxconn=1234", "700 kobdemo", "600 kobdemo", USER_KEY], lines
    assert runs.check.returncode == 0 and recap(runs.check.stdout)["changed"] == 0, runs.check.stdout


def test_ansible_playbook_leaves_the_same_end_state(runs):
    assert_succeeded(runs.ansible, 2)
    assert_succeeded(runs.kob[:2], 2)
    counts = [(recap(theirs.stdout)["changed"], recap(ours.stdout)["changed"])
              for theirs, ours in zip(runs.ansible, runs.kob)]
    assert counts == [(CHANGED_FIRST, CHANGED_FIRST), (0, 0)], counts
    assert re.sub(r"vm1", "vmN", runs.theirs_state) == re.sub(r"vm2", "vmN", runs.ours_state)
    assert runs.theirs_fetched == runs.ours_fetched
