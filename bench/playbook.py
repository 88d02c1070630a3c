"""Benchmark: one idempotent 10-task playbook on N VMs, `kob run` against `ansible-playbook` and pyinfra.

    .venv/bin/python bench/playbook.py [--vms 10] [--rounds 5]

Brings up its own lab (network 1, /var/lib/kob-bench-lab) and takes it down. Ansible (ansible-core)
comes from the benchmark venv of bench/exec_fanout.py, installed on first use. Both tools run the
very same playbook file (facts off in both), each in its own directory on the VMs; the first run of
each converges, then every round times a run that finds nothing to change:
  kob run            `kob run PLAYBOOK -i INVENTORY`
  ansible-playbook   forks = N, pipelining on, ControlPersist as Ansible sets it by default
  pyinfra            the equivalent deploy.py (10 operations), `pyinfra INVENTORY.py deploy.py -y --parallel N`
Prints medians and the ratio to ansible-playbook.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from common import bench_lab, print_medians, timed
from exec_fanout import tools_venv, write_tool_inventories
from kob.spec.inventory import load_inventory

PLAYBOOK = """\
- hosts: all
  gather_facts: false
  vars: {workers: 4}
  tasks:
    - name: base directory
      file: {path: "{{ base }}", state: directory, mode: "0755"}
    - name: config directory
      file: {path: "{{ base }}/conf", state: directory, mode: "0750"}
    - name: motd
      copy: {content: "managed by a playbook\\n", dest: "{{ base }}/motd", mode: "0644"}
    - name: app config
      template: {src: app.conf.j2, dest: "{{ base }}/conf/app.conf", mode: "0640"}
    - name: settings port
      lineinfile: {path: "{{ base }}/conf/settings", line: "port=8080", regexp: "^port=", create: true}
    - name: settings debug
      lineinfile: {path: "{{ base }}/conf/settings", line: "debug=off"}
    - name: initialise once
      command: touch {{ base }}/initialised
      args: {creates: "{{ base }}/initialised"}
    - name: look
      shell: ls {{ base }} | wc -l
      register: count
      changed_when: false
    - name: data directory
      file: {path: "{{ base }}/data", state: directory, mode: "0700"}
    - name: readme
      copy: {content: "{{ workers }} workers\\n", dest: "{{ base }}/data/README", mode: "0600"}
"""
TEMPLATE = "# {{ inventory_hostname }}\nworkers = {{ workers }}\n"
PYINFRA_DEPLOY = """\
from io import StringIO

from pyinfra import host
from pyinfra.operations import files, server

base = "/root/bench-pyinfra"
files.directory(name="base directory", path=base, mode="755")
files.directory(name="config directory", path=f"{base}/conf", mode="750")
files.put(name="motd", src=StringIO("managed by a playbook\\n"), dest=f"{base}/motd", mode="644")
files.template(name="app config", src="templates/app.conf.j2", dest=f"{base}/conf/app.conf", mode="640",
               workers=4, inventory_hostname=host.name)
files.file(name="settings file", path=f"{base}/conf/settings", present=True)
files.line(name="settings port", path=f"{base}/conf/settings", line="^port=.*", replace="port=8080")
files.line(name="settings debug", path=f"{base}/conf/settings", line="debug=off")
server.shell(name="initialise once", commands=[f"test -e {base}/initialised || touch {base}/initialised"])
files.directory(name="data directory", path=f"{base}/data", mode="700")
files.put(name="readme", src=StringIO("4 workers\\n"), dest=f"{base}/data/README", mode="600")
"""


def run(argv: list[str], env: dict | None = None, cwd: Path | None = None) -> None:
    done = subprocess.run(argv, capture_output=True, text=True, env={**os.environ, **(env or {})}, cwd=cwd)
    if done.returncode != 0:
        raise SystemExit(f"{argv[0]} failed:\n{done.stdout[-3000:]}{done.stderr[-2000:]}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--vms", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    bin_dir = tools_venv()
    work = Path(tempfile.mkdtemp(prefix="kob-bench-playbook-"))
    (work / "templates").mkdir()
    (work / "templates/app.conf.j2").write_text(TEMPLATE)
    playbook = work / "site.yaml"
    playbook.write_text(PLAYBOOK)
    (work / "deploy.py").write_text(PYINFRA_DEPLOY)
    with bench_lab(args.vms, "\n", "playbook") as (lab, inventory):
        hosts = load_inventory(inventory).hosts
        ini, pyinfra_inventory = write_tool_inventories(lab, [h.name for h in hosts], [h.address for h in hosts],
                                                        work)
        ansible_env = {"ANSIBLE_PIPELINING": "True", "ANSIBLE_FORKS": str(args.vms),
                       "ANSIBLE_HOST_KEY_CHECKING": "True", "ANSIBLE_STDOUT_CALLBACK": "default"}
        ways = {
            "kob run": lambda: run([sys.executable, "-m", "kob", "run", str(playbook), "-i", str(inventory),
                                    "-e", "base=/root/bench-kob"]),
            "ansible-playbook": lambda: run([str(bin_dir / "ansible-playbook"), "-i", str(ini), str(playbook),
                                             "-e", "base=/root/bench-ansible"], ansible_env),
            "pyinfra": lambda: run([str(bin_dir / "pyinfra"), str(pyinfra_inventory), "deploy.py", "-y",
                                    "--parallel", str(args.vms)], cwd=work),
        }
        for converge in ways.values():
            converge()
        times: dict[str, list[float]] = {name: [] for name in ways}
        for _ in range(args.rounds):
            for name, way in ways.items():
                times[name].append(timed(way))
    print_medians(f"a 10-task idempotent playbook on {args.vms} VMs, {args.rounds} rounds", times, "ansible-playbook")


if __name__ == "__main__":
    main()
