"""cron's environment lines (env: true) in a cron file, with the real scripts (through the fake transport,
under tmp_path): where a variable goes (the top, insertafter/insertbefore another), how it is rewritten and
taken out, beside jobs; each task applied in turn, then all again, which must change nothing.

Every expected file was read from ansible-core 2.19.14 running the same cron tasks on a local cron file.
"""

from __future__ import annotations

import pytest

from kob.playbook.crontab import env_text
from tests.helpers.local_host import LocalHost

JOB = "#Ansible: backup\n5 2 * * * root /bin/true\n"


@pytest.mark.parametrize("name, before, tasks, after", [
    ('first variable at the top', JOB, [{'name': 'PATH', 'env': True, 'job': '/usr/bin:/bin'}],
     'PATH="/usr/bin:/bin"\n#Ansible: backup\n5 2 * * * root /bin/true\n'),
    ('two variables: each new one on top', None, [{'name': 'PATH', 'env': True, 'job': '/bin'}, {'name': 'MAILTO', 'env': True, 'job': ''}],
     'MAILTO=""\nPATH="/bin"\n'),
    ('insertafter', 'PATH="/bin"\nSHELL="/bin/sh"\n', [{'name': 'MAILTO', 'env': True, 'job': 'ops', 'insertafter': 'PATH'}],
     'PATH="/bin"\nMAILTO="ops"\nSHELL="/bin/sh"\n'),
    ('insertbefore', 'PATH="/bin"\nSHELL="/bin/sh"\n', [{'name': 'MAILTO', 'env': True, 'job': 'ops', 'insertbefore': 'SHELL'}],
     'PATH="/bin"\nMAILTO="ops"\nSHELL="/bin/sh"\n'),
    ('changed in place, every line', 'A=1\nMAILTO=x\n' + JOB + 'MAILTO=y\n', [{'name': 'MAILTO', 'env': True, 'job': 'ops'}],
     'A=1\nMAILTO="ops"\n#Ansible: backup\n5 2 * * * root /bin/true\nMAILTO="ops"\n'),
    ('first line already right', 'MAILTO="ops"\nMAILTO=y\n', [{'name': 'MAILTO', 'env': True, 'job': 'ops'}],
     'MAILTO="ops"\nMAILTO=y\n'),
    ('unquoted value rewritten', 'MAILTO=ops\n', [{'name': 'MAILTO', 'env': True, 'job': 'ops'}],
     'MAILTO="ops"\n'),
    ('absent takes every line', 'MAILTO=a\n' + JOB + 'MAILTO=b\n', [{'name': 'MAILTO', 'env': True, 'state': 'absent'}],
     '#Ansible: backup\n5 2 * * * root /bin/true\n'),
    ('absent of the last line leaves an empty file', 'MAILTO=a\n', [{'name': 'MAILTO', 'env': True, 'state': 'absent'}],
     ''),
    ('absent, file missing', None, [{'name': 'MAILTO', 'env': True, 'state': 'absent'}],
     None),
    ('no terminating newline', 'MAILTO="ops"', [{'name': 'MAILTO', 'env': True, 'job': 'ops'}],
     'MAILTO="ops"\n'),
    ('prefix name is another variable', 'PATHX="1"\n', [{'name': 'PATH', 'env': True, 'job': '/bin'}],
     'PATH="/bin"\nPATHX="1"\n'),
    ('job and variable', None, [{'name': 'backup', 'minute': '5', 'hour': '2', 'job': '/bin/true'}, {'name': 'MAILTO', 'env': True, 'job': ''}],
     'MAILTO=""\n#Ansible: backup\n5 2 * * * root /bin/true\n'),
    ('job removed, variable stays', 'MAILTO=""\n' + JOB, [{'name': 'backup', 'state': 'absent'}],
     'MAILTO=""\n'),
])
async def test_cron_variables_as_ansible_writes_them(tmp_path, name, before, tasks, after):
    path = tmp_path / "backup"
    if before is not None:
        path.write_text(before)
    host = LocalHost(tmp_path)
    for args in tasks:
        assert (await host.module("cron", {**args, "cron_file": str(path), "user": "root"})).status != "failed"
    assert (path.read_text() if path.exists() else None) == after, name
    again = [(await host.module("cron", {**args, "cron_file": str(path), "user": "root"})).status for args in tasks]
    assert set(again) == {"ok"}, name


@pytest.mark.parametrize("args, message", [
    ({"name": "MAILTO", "env": True, "job": "x", "insertafter": "SHELL"}, "Variable named 'SHELL' not found."),
    ({"name": "MY VAR", "env": True, "job": "x"}, "Invalid name for environment variable"),
    ({"name": "MAILTO", "env": True}, "You must specify 'job' to install a new cron job or variable"),
    ({"name": "nightly", "job": "x", "insertafter": "PATH"},
     "Insertafter and insertbefore parameters are valid only with env=yes"),
])
async def test_a_variable_that_cannot_be_placed_fails_and_writes_nothing(tmp_path, args, message):
    path = tmp_path / "backup"
    path.write_text('PATH="/bin"\n')
    outcome = await LocalHost(tmp_path).module("cron", {**args, "cron_file": str(path), "user": "root"})
    assert (outcome.status, outcome.result["msg"]) == ("failed", message)
    assert path.read_text() == 'PATH="/bin"\n'


@pytest.mark.parametrize("text, name, line, expected", [
    ("", "PATH", 'PATH="/bin"', 'PATH="/bin"\n'),
    ('PATH="/bin"\n', "PATH", 'PATH="/bin"', 'PATH="/bin"\n'),
    ('PATH="/bin"\r\n', "PATH", 'PATH="/bin"', 'PATH="/bin"\r\n'),  # ends with a newline: left as it is
    ("", "PATH", None, ""),
])
def test_env_text_leaves_a_crontab_it_does_not_change_as_it_is(text, name, line, expected):
    assert env_text(text, name, line) == expected
