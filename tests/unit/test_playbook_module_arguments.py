"""The new modules at load: Ansible's argument names and aliases load, anything else is refused with file:line."""

from __future__ import annotations

import pytest

from kob.errors import SpecError
from kob.playbook.loader import load_playbook

TASKS = """\
- hosts: all
  tasks:
    - package: {name: [curl, jq], state: latest}
    - cron: {name: backup, minute: "0", hour: "3", job: /usr/bin/backup, cron_file: backup, user: root, disabled: no}
    - user: {name: alice, groups: [sudo], append: yes, shell: /bin/bash, createhome: yes}
    - group: {name: web, gid: 2000, system: no}
    - stat: {path: /etc/motd, checksum_algorithm: sha256}
    - slurp: {src: /etc/motd}
    - fetch: {src: /etc/motd, dest: fetched/, flat: yes}
    - replace: {dest: /etc/a.conf, regexp: '^a', replace: b, backup: yes}
    - blockinfile: {path: /etc/a.conf, block: "x=1", marker: "# {mark} x", create: yes}
    - get_url: {url: "http://example.invalid/a", dest: /tmp/a, mode: "0644", checksum: "sha256:00", force: no}
    - unarchive: {src: a.tar.gz, dest: /srv, remote_src: no, creates: /srv/a}
    - uri: {url: "http://localhost/", method: POST, body: {a: 1}, body_format: json, status_code: [200, 201]}
    - pause: {seconds: 1}
    - known_hosts: {name: example.org, key: "example.org ssh-ed25519 AAAA", path: /etc/ssh/ssh_known_hosts}
    - authorized_key: {user: root, key: "ssh-ed25519 AAAA x", exclusive: yes}
    - sysctl: {name: net.ipv4.ip_forward, value: "1", sysctl_set: yes, reload: no}
    - template: {src: a.j2, dest: /etc/a, validate: "cat %s", backup: yes}
    - copy: src=a dest=/etc/a validate="test -s %s" backup=yes
    - lineinfile: dest=/etc/a line=x
    - apt: {name: curl, cache_valid_time: 3600}
    - file: {src: /usr/share/zoneinfo/UTC, dest: /etc/localtime, state: link, force: yes, follow: no}
"""


def test_the_modules_roles_use_load_with_ansibles_arguments(tmp_path):
    (tmp_path / "site.yml").write_text(TASKS)
    (tmp_path / "a.j2").write_text("x\n")
    play = load_playbook(tmp_path / "site.yml")[0]
    args = {task.module: task.args for task in play.tasks}
    assert args["user"]["append"] is True and args["cron"]["disabled"] is False  # yes/no typed as booleans
    assert args["copy"]["backup"] is True and args["apt"]["cache_valid_time"] == 3600
    assert args["lineinfile"] == {"dest": "/etc/a", "line": "x"}
    assert args["file"]["force"] is True and args["file"]["follow"] is False


def test_links_cron_variables_and_placed_lines_load(tmp_path):
    (tmp_path / "site.yml").write_text("""\
- hosts: all
  tasks:
    - cron: {name: MAILTO, env: yes, job: ops, insertafter: PATH, cron_file: backup, user: root}
    - lineinfile: {path: /etc/a, regex: "^b", value: b=1, insertbefore: BOF, firstmatch: yes, backrefs: no}
    - lineinfile: {path: /etc/a, search_string: "c=", line: c=1}
    - file: {src: a, path: /etc/b, state: hard}
""")
    cron, placed, searched, hard = load_playbook(tmp_path / "site.yml")[0].tasks
    assert cron.args["env"] is True and cron.args["insertafter"] == "PATH"
    assert placed.args["firstmatch"] is True and placed.args["backrefs"] is False
    assert searched.args["search_string"] == "c=" and hard.args["state"] == "hard"


@pytest.mark.parametrize("task, message", [
    ("cron: {name: x, job: y, env: maybe}", "cron's env should be true or false"),
    ("cron: {name: x, job: y, after: PATH}", "unknown argument of cron"),
    ("file: {src: /a, dest: /b, state: symlink}", "state should be one of"),
    ("file: {src: /a, dest: /b, state: link, force: sometimes}", "file's force should be true or false"),
    ("lineinfile: {path: /a, line: x, firstmatch: first}", "lineinfile's firstmatch should be true or false"),
    ("user: {name: x, state: gone}", "state should be one of present, absent"),
    ("sysctl: {name: x, value: 1, reload: maybe}", "sysctl's reload should be true or false"),
    ("stat: {path: /x, get_mime: yes}", "unknown argument of stat"),
    ("apt: {name: x, cache_valid_time: soon}", "apt's cache_valid_time should be a whole number"),
])
def test_what_kob_does_not_take_is_refused_at_load_with_file_line(tmp_path, task, message):
    (tmp_path / "site.yml").write_text(f"- hosts: all\n  tasks:\n    - {task}\n")
    with pytest.raises(SpecError) as caught:
        load_playbook(tmp_path / "site.yml")
    assert str(caught.value).startswith(f"{tmp_path / 'site.yml'}:3:") and message in str(caught.value)
