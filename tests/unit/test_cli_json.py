"""`--json` on every read command: status, top, events, history, job ls, job show, lab status. Each
prints one JSON document with the keys the README lists (checked exactly, so that a change is a
decision), and never an env value."""

from __future__ import annotations

import asyncio
import json
from types import SimpleNamespace

import pytest
from click.testing import CliRunner

from kob.cli.main import cli
from kob.deploy.revisions import RevisionBook
from kob.identity import namespace
from kob.spec.inventory import load_inventory
from kob.store import open_store

SECRET = "hunter2-never-printed"
INVENTORY = f"""\
ssh: {{known_hosts: kh}}
hosts:
  vm1: {{address: 127.0.0.1, port: 9}}   # nothing listens: the host does not answer
services:
  web: {{image: img:1, env: {{PASSWORD: {SECRET}}}}}
jobs:
  hello: {{image: busybox:1, command: [echo, hi]}}
"""
SERVICE_KEYS = {"service", "image", "desired", "running", "healthy", "revision", "replicas"}
JOB_KEYS = {"id", "name", "state", "image", "command", "cpus", "memory", "priority", "retries", "submitted", "who",
            "tries", "host", "exit_code", "reason", "not_before", "attempts"}


@pytest.fixture
def inventory(tmp_path, monkeypatch) -> str:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "kh").write_text("")
    (tmp_path / "inv.yaml").write_text(INVENTORY)
    return "inv.yaml"


def kob(*args: str, code: int = 0):
    done = CliRunner().invoke(cli, list(args))
    assert done.exit_code == code, done.output
    assert SECRET not in done.output
    return json.loads(done.stdout)


def test_status_json(inventory):
    status = kob("status", inventory, "--json", code=2)
    assert set(status) == {"services", "unreachable", "certificates"} and status["certificates"] == []  # no TLS
    (web,) = status["services"]
    assert set(web) == SERVICE_KEYS and (web["service"], web["desired"], web["replicas"]) == ("web", 1, [])
    assert list(status["unreachable"]) == ["vm1"] and status["unreachable"]["vm1"].startswith("vm1: cannot connect")


def test_top_json(inventory):
    top = kob("top", inventory, "--json", code=2)
    assert top["hosts"] == {} and list(top["unreachable"]) == ["vm1"]


def test_history_json_names_revisions_but_never_their_env(inventory):
    inv = load_inventory(inventory)

    async def record():
        async with open_store(inv.state_url) as store:
            await RevisionBook(store, namespace(inv)).record(inv.service("web"), "0123abcd", "kob deploy")

    asyncio.run(record())
    (revision,) = kob("history", inventory, "web", "--json")
    assert set(revision) == {"revision", "time", "image", "who", "reason", "spec_hash"}
    assert (revision["revision"], revision["image"], revision["reason"], revision["spec_hash"]) == (
        1, "img:1", "kob deploy", "0123abcd")


def test_events_and_jobs_json(inventory):
    assert CliRunner().invoke(cli, ["job", "submit", inventory, "-t", "hello", "--count", "2"]).exit_code == 0
    events = kob("events", inventory, "--json")
    assert [set(e) for e in events] == [{"seq", "time", "kind", "message", "service"}] * 2
    assert [(e["kind"], e["message"]) for e in events] == [("job", "job 1 (hello): submitted"),
                                                          ("job", "job 2 (hello): submitted")]
    assert kob("events", inventory, "--json", "--kind", "deploy") == []
    jobs = kob("job", "ls", inventory, "--json")
    assert [set(j) for j in jobs] == [JOB_KEYS] * 2 and [j["id"] for j in jobs] == [1, 2]
    job = kob("job", "show", inventory, "2", "--json")
    assert set(job) == JOB_KEYS | {"timeout", "backoff", "constraints"}
    assert (job["id"], job["name"], job["state"], job["command"], job["attempts"]) == (
        2, "hello", "queued", ["echo", "hi"], [])


def test_lab_status_json(monkeypatch):
    vms = [SimpleNamespace(name="vm1", address="198.18.0.11", running=True, stopped=False, ssh=True, docker=True,
                           healthy=True, kind="docker"),
           SimpleNamespace(name="vm2", address="198.18.0.12", running=False, stopped=True, ssh=False, docker=False,
                           healthy=False, kind="ssh")]
    lab = SimpleNamespace(state={"vms": {"vm1": {}, "vm2": {}}}, status=lambda: vms, etcd_healthy=lambda: True,
                          layout=SimpleNamespace(etcd_url="http://198.18.0.1:2379"))
    import kob.cli.lab_commands as lab_commands

    monkeypatch.setattr(lab_commands, "_lab", lambda lab_dir, net: lab)
    status = kob("lab", "status", "--json", code=2)  # 2: a VM is not healthy
    assert status == {"vms": [{"name": "vm1", "address": "198.18.0.11", "healthy": True, "running": True,
                               "stopped": False, "ssh": True, "docker": True, "kind": "docker"},
                              {"name": "vm2", "address": "198.18.0.12", "healthy": False, "running": False,
                               "stopped": True, "ssh": False, "docker": False, "kind": "ssh"}],
                      "etcd": {"url": "http://198.18.0.1:2379", "healthy": True}}


def test_the_readme_lists_these_keys():
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    documented = readme.split("`--json` prints one JSON document", 1)[1].split("Exit codes:", 1)[0]
    keys = SERVICE_KEYS | JOB_KEYS | {"timeout", "backoff", "constraints", "seq", "kind", "message", "spec_hash",
                                      "unreachable", "hosts", "vms", "etcd", "healthy", "stopped", "docker"}
    assert {key for key in keys if f'"{key}"' not in documented} == set()
