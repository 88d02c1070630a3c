"""Each playbook of tests/playbook_corpus/NN-name/site.yml under ansible-playbook (on vm1) and `kob run` (on vm2).

Both leave the same end state under /root/pc/NN-name (paths, kinds, modes, owners, contents, link targets;
generated key material masked), report the same `changed` count on the first run, and on the second run
report changed=0 wherever Ansible does. The lab VMs share the machine's filesystem except /root, /run, /tmp and /srv, so every playbook works
under /root/pc/<its name> (or only looks at the rest, in check mode).

All selected playbooks run once, in parallel (KOB_TEST_CORPUS_PARALLEL at a time, 4 by default), the two
tools at the same time on their own VM; each test then judges one playbook. One playbook alone:
    pytest tests/integration/test_corpus_vs_ansible.py -k nginx
KOB_TEST_CORPUS_TABLE=FILE writes the table of every playbook's changed counts (first and second run) there.
"""

from __future__ import annotations

import difflib
import functools
import http.server
import json
import os
import re
import shutil
import subprocess
import sys
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.helpers.ansible_side import (
    ansible_playbook_binary,
    one_vm_ini,
    recap,
    shared_connections,
)
from tests.helpers.key_material import masked

CORPUS = Path(__file__).resolve().parents[1] / "playbook_corpus"
PLAYBOOKS = sorted(p.name for p in CORPUS.iterdir() if (p / "site.yml").exists() and p.name[:2].isdigit())
NOT_YET: dict[str, str] = {}
"""Playbooks kob does not yet run as Ansible does, and why: each is a strict xfail, so one that starts to
match fails the suite until it is taken off this list."""
REMOTE_ROOT = "/root/pc"
PARALLEL = int(os.environ.get("KOB_TEST_CORPUS_PARALLEL", "4"))
THEIRS, OURS = "vm1", "vm2"
# What the HTTP server the playbooks download from (21-http-fetch) serves.
HTTP_FILES = {"release.txt": "release 3.12.7\n", "config.json": json.dumps({"port": 8125, "name": "corpus"})}
# Every path, its kind, mode, owner, size, link target, and a text file's lines (a binary file's sha256),
# grouped by the first folder under the root; run on a VM (python3 -) and on the manager (fetched files).
STATE_SCRIPT = r"""
import hashlib, json, os, stat, sys
root, found = sys.argv[1], {}
for folder, dirs, files in os.walk(root):
    dirs.sort()
    for name in sorted(dirs + files):
        path = os.path.join(folder, name)
        relative = os.path.relpath(path, root)
        info = os.lstat(path)
        owner = "%d:%d" % (info.st_uid, info.st_gid)
        lines = found.setdefault(relative.split(os.sep)[0], [])
        if stat.S_ISLNK(info.st_mode):
            lines.append("%s link -> %s" % (relative, os.readlink(path)))
        elif stat.S_ISDIR(info.st_mode):
            lines.append("%s dir %o %s" % (relative, stat.S_IMODE(info.st_mode), owner))
        else:
            data = open(path, "rb").read()
            lines.append("%s file %o %s %d bytes" % (relative, stat.S_IMODE(info.st_mode), owner, len(data)))
            try:
                lines += ["    | " + line for line in data.decode().splitlines()] if len(data) < 8192 else []
            except UnicodeDecodeError:
                lines.append("    sha256 " + hashlib.sha256(data).hexdigest())
print(json.dumps(found))
"""


@dataclass
class ToolRun:
    """One tool's runs of one playbook: exit codes, outputs and recaps, first run then second."""

    codes: list[int] = field(default_factory=list)
    outputs: list[str] = field(default_factory=list)

    @property
    def recaps(self) -> list[dict[str, int]]:
        return [recap(output) for output in self.outputs]


@dataclass
class PlaybookRuns:
    ansible: ToolRun = field(default_factory=ToolRun)
    kob: ToolRun = field(default_factory=ToolRun)


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass


def run_twice(name: str, copies: Path, ansible: list[str], inventory: Path, extra: str, env: dict) -> PlaybookRuns:
    """Both tools at the same time on their own VM, twice: the converging run, then the one that changes nothing."""
    runs = PlaybookRuns()
    argv = {
        "ansible": [*ansible, str(copies / "ansible" / name / "site.yml"), "-e", extra],
        "kob": [sys.executable, "-m", "kob", "run", str(copies / "kob" / name / "site.yml"), "-i", str(inventory),
                "--limit", OURS, "-e", extra],
    }
    for _ in range(2):
        started = {tool: subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
                   for tool, args in argv.items()}
        for tool, process in started.items():
            try:
                output, _ = process.communicate(timeout=600)
            except subprocess.TimeoutExpired:
                process.kill()
                output = process.communicate()[0] + "\n(killed after 600 s)"
            getattr(runs, tool).codes.append(process.returncode)
            getattr(runs, tool).outputs.append(output)
    return runs


def remote_state(lab, vm: str) -> dict[str, list[str]]:
    """STATE_SCRIPT's answer on ``vm``, with the VM's name and address made neutral."""
    address = lab.state["vms"][vm]["address"]
    done = subprocess.run(["ssh", "-i", str(lab.layout.client_key), "-o", f"UserKnownHostsFile={lab.layout.known_hosts}",
                           "-o", "BatchMode=yes", f"root@{address}", "python3", "-", REMOTE_ROOT],
                          input=STATE_SCRIPT, check=False, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.replace(address, "<address>").replace(vm, "<host>"))


def manager_state(copy: Path) -> list[str]:
    """Files the playbook fetched to the manager (beside its own copy of the playbook)."""
    if not (copy / "fetched").exists():
        return []
    done = subprocess.run([sys.executable, "-c", STATE_SCRIPT, str(copy)], capture_output=True, text=True, check=True)
    return ["manager: " + line for line in json.loads(done.stdout).get("fetched", [])]


def selected_playbooks(session: pytest.Session) -> list[str]:
    names = {item.callspec.params["playbook"] for item in session.items
             if item.module is sys.modules[__name__] and hasattr(item, "callspec")}
    return [name for name in PLAYBOOKS if name in names]


def start_http_server(lab, folder: Path) -> http.server.ThreadingHTTPServer:
    for name, text in HTTP_FILES.items():
        (folder / name).write_text(text)
    handler = functools.partial(QuietHandler, directory=str(folder))
    server = http.server.ThreadingHTTPServer((lab.layout.bridge_address, 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@pytest.fixture(scope="module")
def corpus_runs(lab, request, tmp_path_factory) -> dict[str, tuple[PlaybookRuns, dict[str, list[str]]]]:
    """name -> (the runs, {"ansible": state lines, "kob": state lines}) for every selected playbook."""
    names = selected_playbooks(request.session)
    work = tmp_path_factory.mktemp("corpus")
    (work / "http").mkdir()
    for tool in ("ansible", "kob"):
        for name in names:
            shutil.copytree(CORPUS / name, work / tool / name)
    ansible = [str(ansible_playbook_binary()), "-i", str(one_vm_ini(lab, THEIRS, work / "hosts.ini"))]
    inventory = lab.layout.inventory
    server = start_http_server(lab, work / "http")
    extra = json.dumps({"corpus_http": f"http://{lab.layout.bridge_address}:{server.server_address[1]}"})
    wipe = ["exec", str(inventory), f"rm -rf {REMOTE_ROOT}", "--hosts", "vm[12]"]
    try:
        assert subprocess.run([sys.executable, "-m", "kob", *wipe], check=False, capture_output=True).returncode == 0
        with shared_connections() as env, ThreadPoolExecutor(max_workers=PARALLEL) as pool:
            runs = dict(zip(names, pool.map(lambda name: run_twice(name, work, ansible, inventory, extra, env), names)))
        theirs, ours = remote_state(lab, THEIRS), remote_state(lab, OURS)
        found = {name: (runs[name], {"ansible": masked(theirs.get(name, []) + manager_state(work / "ansible" / name)),
                                     "kob": masked(ours.get(name, []) + manager_state(work / "kob" / name))})
                 for name in names}
        if os.environ.get("KOB_TEST_CORPUS_TABLE"):
            Path(os.environ["KOB_TEST_CORPUS_TABLE"]).write_text(corpus_table(found))
        yield found
    finally:
        server.shutdown()
        subprocess.run([sys.executable, "-m", "kob", *wipe], check=False, capture_output=True)


def corpus_table(found: dict[str, tuple[PlaybookRuns, dict[str, list[str]]]]) -> str:
    """A markdown table: each playbook, whether both tools agree, changed= of each run (ansible / kob)."""
    rows = ["| playbook | match | first run changed (ansible / kob) | second run changed (ansible / kob) |",
            "|---|---|---|---|"]
    for name, (runs, states) in found.items():
        counts = [f"{a.get('changed')} / {k.get('changed')}" for a, k in zip(runs.ansible.recaps, runs.kob.recaps)]
        rows.append(f"| {name} | {'no' if differences(runs, states) else 'yes'} | {' | '.join(counts)} |")
    return "\n".join(rows) + "\n"


def changed_tasks(output: str) -> Counter:
    """Each task's (and handler's) heading -> how many 'changed:' lines it printed."""
    counted: Counter = Counter()
    heading = ""
    for line in output.splitlines():
        if line.startswith(("TASK [", "RUNNING HANDLER [")):
            heading = re.sub(r"\[[\w.-]+ : ", "[", line.rstrip(" *"))  # Ansible names a role's task "role : task"
        elif line.startswith("changed: ["):
            counted[heading] += 1
    return counted


def tail(output: str, lines: int = 30) -> str:
    return "\n".join("      " + line for line in output.splitlines()[-lines:])


def differences(runs: PlaybookRuns, states: dict[str, list[str]]) -> list[str]:
    """What differs between the two tools' runs of one playbook, each problem in words (none: the same)."""
    problems = []
    for number, (code, output) in enumerate(zip(runs.ansible.codes, runs.ansible.outputs), 1):
        if code != 0:
            problems.append(f"ansible-playbook run {number} failed (the corpus is wrong):\n{tail(output)}")
    for number, (code, output) in enumerate(zip(runs.kob.codes, runs.kob.outputs), 1):
        if code != 0:
            problems.append(f"kob run {number} exited {code}:\n{tail(output)}")
    if states["ansible"] != states["kob"]:
        diff = difflib.unified_diff(states["ansible"], states["kob"], f"ansible-playbook on {THEIRS}",
                                    f"kob run on {OURS}", lineterm="", n=2)
        shown = list(diff)
        cut = [f"... ({len(shown) - 120} more lines)"] if len(shown) > 120 else []
        problems.append("end states differ:\n" + "\n".join("      " + line for line in shown[:120] + cut))
    (theirs_first, theirs_second), (ours_first, ours_second) = runs.ansible.recaps, runs.kob.recaps
    if theirs_first.get("changed") != ours_first.get("changed"):
        theirs, ours = changed_tasks(runs.ansible.outputs[0]), changed_tasks(runs.kob.outputs[0])
        apart = [f"{task}: ansible {theirs[task]}, kob {ours[task]}" for task in sorted(set(theirs) | set(ours))
                 if theirs[task] != ours[task]]
        problems.append(f"first run: ansible-playbook changed={theirs_first.get('changed')}, "
                        f"kob run changed={ours_first.get('changed')}\n"
                        f"      ansible {theirs_first}\n      kob     {ours_first}\n"
                        + "\n".join("      changed lines of " + line for line in apart))
    if theirs_second.get("changed") == 0 and ours_second.get("changed") != 0:
        problems.append(f"second run: ansible-playbook changed=0, kob run changed={ours_second.get('changed')}:\n"
                        f"{tail(runs.kob.outputs[1], 60)}")
    return problems


@pytest.mark.parametrize("playbook", [
    pytest.param(name, marks=pytest.mark.xfail(strict=True, reason=NOT_YET[name])) if name in NOT_YET else name
    for name in PLAYBOOKS])
def test_the_playbook_does_under_kob_what_it_does_under_ansible(corpus_runs, playbook):
    runs, states = corpus_runs[playbook]
    problems = differences(runs, states)
    if not states["ansible"]:  # a playbook that makes nothing could not show a difference
        problems.append(f"ansible-playbook left nothing under {REMOTE_ROOT}/{playbook} (the corpus is wrong):\n"
                        f"{tail(runs.ansible.outputs[0])}")
    assert not problems, f"{playbook}:\n  - " + "\n  - ".join(problems)
