"""`kob status` reads hosts and the store: after a deploy and a scale on the lab (state in its etcd), the state
moved etcd → sqlite → etcd gives the same status and history; the env_file's secret is in no export."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest

from tests.helpers.lab_services import kob

SECRET = "s3cr3t-Lab-Value-51d"
SERVICES = """
services:
  web:
    image: kob-demo/web:1
    replicas: {replicas}
    port: 80
    env_file: web.env
    healthcheck: {{http: /healthz, interval: 500ms, timeout: 3s, retries: 3, start_period: 5s}}
"""


def ok(*args: str) -> str:
    done = kob(*args)
    assert done.returncode == 0, f"kob {' '.join(args)}: {done.stdout}{done.stderr}"
    return done.stdout


def place(folder: Path, lab, state: str, replicas: int = 2) -> Path:
    """backup.yaml in ``folder``: the lab's hosts, ``state``, web with an env_file holding SECRET."""
    folder.mkdir(exist_ok=True)
    (folder / "web.env").write_text(f"DB_PASSWORD={SECRET}\n")
    lines = [line for line in lab.layout.inventory.read_text().splitlines() if not line.startswith("state:")]
    path = folder / "backup.yaml"
    path.write_text("\n".join([*lines, f"state: {state}"]) + "\n" + SERVICES.format(replicas=replicas))
    return path


@pytest.fixture
def deployed(lab, tmp_path: Path):
    """web deployed twice (two revisions) and scaled to 3, state in the lab's etcd under a fresh namespace."""
    etcd = lab.layout.inventory.read_text().split("state: ", 1)[1].split("\n", 1)[0]
    state = f"{etcd}/backup-{uuid.uuid4().hex[:8]}"
    first = place(tmp_path / "a", lab, state)
    ok("deploy", str(first), "--wait", "30")
    (tmp_path / "a" / "web.env").write_text(f"DB_PASSWORD={SECRET}\nMORE=1\n")  # a second revision
    ok("deploy", str(first), "--wait", "30")
    ok("scale", str(first), "web=3", "--wait", "30")
    yield first, etcd
    place(tmp_path / "a", lab, state, replicas=0)
    kob("deploy", str(first), "--wait", "30")


def test_status_and_history_are_the_same_in_every_store_and_no_secret_is_exported(lab, tmp_path, deployed):
    first, etcd = deployed
    status, history = ok("status", str(first)), ok("history", str(first), "web")
    as_json = json.loads(ok("status", str(first), "--json"))
    assert "web" in status and "   3 " in status.splitlines()[1] and len(history.splitlines()) == 2

    exported = tmp_path / "from-etcd.json"
    ok("state", "export", str(first), "--samples", "-o", str(exported))
    assert SECRET not in exported.read_text() and "DB_PASSWORD" not in exported.read_text()

    second = place(tmp_path / "b", lab, str(tmp_path / "b" / "state.db"))
    ok("state", "import", str(second), str(exported))
    assert ok("status", str(second)) == status
    assert json.loads(ok("status", str(second), "--json")) == as_json
    assert ok("history", str(second), "web") == history

    back = tmp_path / "from-sqlite.json"
    ok("state", "export", str(second), "--samples", "-o", str(back))
    third = place(tmp_path / "c", lab, f"{etcd}/backup-{uuid.uuid4().hex[:8]}")
    ok("state", "import", str(third), str(back))
    assert ok("status", str(third)) == status
    assert ok("history", str(third), "web") == history
    assert SECRET not in back.read_text()
