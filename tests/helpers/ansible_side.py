"""Ansible beside kob on the test lab: ansible-core in its own venv, an inventory of one lab VM, the recap.

ansible-core is installed into /var/lib/kob-test-ansible (KOB_TEST_ANSIBLE_VENV) on first use, from PyPI,
with the `ansible` package's collections: sysctl and authorized_key are in ansible.posix, not in the core.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.helpers.lab_services import kob

ANSIBLE_VENV = Path(os.environ.get("KOB_TEST_ANSIBLE_VENV", "/var/lib/kob-test-ansible"))
# No ControlPersist: a master connection left open for 60 s would outlive the test (and show in later ones).
# shared_connections() turns it on for a while, and closes every master connection it made at the end.
ANSIBLE_ENV = {"ANSIBLE_PIPELINING": "True", "ANSIBLE_HOST_KEY_CHECKING": "True", "ANSIBLE_NOCOLOR": "1",
               "ANSIBLE_SSH_ARGS": "-o ControlMaster=no -o ControlPersist=no"}
SHARED_FOR = 30  # s an idle master connection stays, should the closing below never run (a killed pytest)


@contextmanager
def shared_connections() -> Iterator[dict[str, str]]:
    """The environment of ansible-playbook runs whose tasks share one SSH connection per host (a master, as
    Ansible keeps by default) instead of opening one each; every master is closed on exit. Their sockets are
    in a folder of their own under /tmp: a socket's path must stay short (108 bytes).

    A task over a fresh connection pays for a new ssh process, a key exchange and an sshd session: most of
    what a short task costs on a busy machine. What the tasks do on the host is the same either way."""
    sockets = Path(tempfile.mkdtemp(prefix="kob-ssh-masters-"))
    env = {**os.environ, **ANSIBLE_ENV, "ANSIBLE_SSH_CONTROL_PATH_DIR": str(sockets),
           "ANSIBLE_SSH_ARGS": f"-o ControlMaster=auto -o ControlPersist={SHARED_FOR}s"}
    try:
        yield env
    finally:
        for socket in sockets.iterdir():
            subprocess.run(["ssh", "-o", f"ControlPath={socket}", "-O", "exit", "master"], capture_output=True,
                           check=False, timeout=30)
        shutil.rmtree(sockets, ignore_errors=True)


def ansible_playbook_binary() -> Path:
    """ansible-playbook of the tests' venv, installed there (with ansible.posix) first when missing."""
    if not (ANSIBLE_VENV / "bin/pip").exists():
        subprocess.run([sys.executable, "-m", "venv", str(ANSIBLE_VENV)], check=True)
    if not list(ANSIBLE_VENV.glob("lib/python3*/site-packages/ansible_collections/ansible/posix")):
        subprocess.run([str(ANSIBLE_VENV / "bin/pip"), "install", "-q", "ansible-core", "ansible"], check=True,
                       timeout=900)
    return ANSIBLE_VENV / "bin/ansible-playbook"


def beside(ansible_argv: list[str], kob_args: list[str], env: dict, timeout: float = 600
           ) -> tuple[subprocess.CompletedProcess, subprocess.CompletedProcess]:
    """``ansible_argv`` (ansible-playbook on one VM) and `kob KOB_ARGS` (on another) at the same time: both
    outcomes, never raising on a failure; the ansible-playbook side is killed if it outlasts ``timeout`` s."""
    with subprocess.Popen(ansible_argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                          env=env) as process:
        try:
            ours = kob(*kob_args, timeout=timeout)
            out, err = process.communicate(timeout=timeout)
        finally:
            process.kill()
    return subprocess.CompletedProcess(process.args, process.returncode, out, err), ours


def one_vm_ini(lab, vm: str, path: Path) -> Path:
    """An Ansible INI inventory of the lab VM ``vm`` alone, reached as root with the lab's key."""
    path.write_text(f"{vm} ansible_host={lab.state['vms'][vm]['address']} ansible_user=root "
                    f"ansible_ssh_private_key_file={lab.layout.client_key} "
                    "ansible_python_interpreter=/usr/bin/python3 "
                    f"ansible_ssh_common_args='-o UserKnownHostsFile={lab.layout.known_hosts}'\n")
    return path


def recap(output: str) -> dict[str, int]:
    """ok/changed/failed/skipped/rescued/ignored of the one host in a PLAY RECAP ({} without a recap)."""
    if "PLAY RECAP" not in output:
        return {}
    line = next((line for line in output.split("PLAY RECAP", 1)[1].splitlines() if "ok=" in line), "")
    return {key: int(value) for key, value in re.findall(r"(\w+)=(\d+)", line)}
