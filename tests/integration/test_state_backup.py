"""`kob state export | import` through `python -m kob`, between a real SQLite file and a real etcd server.

A store is filled by kob's own books (revisions, scale counts, jobs with their output, events, the last
cron outcome, a key no book knows), then moved sqlite → etcd → sqlite. `kob history`, `kob job ls`,
`kob job show`, `kob job logs` and `kob events` print the same in every store, and so does a second export.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from kob.deploy.events import EventLog
from kob.deploy.revisions import RevisionBook
from kob.identity import namespace
from kob.jobs.book import JobBook
from kob.jobs.model import Job, ended, started
from kob.spec.inventory import load_inventory
from kob.store import open_store

ROOT = Path(__file__).resolve().parents[2]
SERVICES = "services:\n  web: {image: kob-demo/web:1, replicas: 2}\n  api: {image: kob-demo/api:1}\n"
READS = [["history", "{inv}", "web"], ["history", "{inv}", "api"], ["job", "ls", "{inv}", "-a"],
         ["job", "show", "{inv}", "2"], ["job", "logs", "{inv}", "2"], ["events", "{inv}", "-n", "100"]]


def kob(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    done = subprocess.run([sys.executable, "-m", "kob", *args], capture_output=True, text=True, timeout=120, check=False,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    if check:
        assert done.returncode == 0, f"kob {' '.join(args)}: {done.stderr}"
    return done


def inventory(folder: Path, state: str | None) -> Path:
    """site.yaml in ``folder`` (the file name is what makes the namespace kob/site)."""
    folder.mkdir()
    (folder / "kh").write_text("")
    (folder / "site.yaml").write_text("ssh: {known_hosts: kh}\n" + (f"state: {state}\n" if state else "")
                                      + "hosts:\n  vm1: {address: 198.18.0.11}\n" + SERVICES)
    return folder / "site.yaml"


async def fill(path: Path) -> None:
    from dataclasses import replace

    inv = load_inventory(path)
    ns = namespace(inv)
    async with open_store(inv.state_url) as store:
        book, events, jobs = RevisionBook(store, ns), EventLog(store, ns), JobBook(store, ns)
        web = inv.service("web")
        for image in ("kob-demo/web:1", "kob-demo/web:2", "kob-demo/web:3"):
            revision = await book.record(replace(web, image=image), image, "deploy")
            await events.add("deploy", f"web: revision {revision.number} ({image})", service="web")
        await book.record(inv.service("api"), "api-1", "deploy")
        await book.set_scale("web", 5, 2)
        await events.add("scale", "web: 2 -> 5", service="web")
        for n in range(3):
            job = await jobs.submit(Job(0, f"job{n}", "busybox", ("echo", str(n)), 1000.0 + n, "me"))
            await events.add("job", f"job {job.id}: submitted", job=job.id)
        job = started(await jobs.get(2), "vm1", "c0ffee", 1010.0)
        await jobs.save(ended(job, "failed", 1012.0, exit_code=3, reason="exit 3"))
        await store.put(f"{ns}/jobs/logs/00000002/1", b"line one\nnot UTF-8: \xff\nthe end\n")  # as base64
        await store.put(f"{ns}/cron/last", json.dumps({"time": 1.0, "outcome": "ok", "summary": "", "who": "me"})
                        .encode())
        await store.put(f"{ns}/owner", b"a-key-no-book-knows")
        await store.put(f"{ns}/metrics/history/vm1/0000000001000", b'{"cpu": 1}')  # a sample
        await store.put("kob/other/services/web/scale", b"{}")  # another inventory sharing the store
        await EventLog(store, "kob/other").add("deploy", "not site's")


def reads(path: Path) -> list[str]:
    return [kob(*[a.format(inv=path) for a in args]).stdout for args in READS]


def entries_of(path: Path) -> list[dict]:
    return json.loads(kob("state", "export", str(path)).stdout)["entries"]


@pytest.fixture
def etcd_state(etcd_url: str) -> str:
    """The throwaway etcd server, under a fresh etcd namespace of its own."""
    return f"{etcd_url.replace('http', 'etcd', 1)}/state-{uuid.uuid4().hex[:12]}"


def test_sqlite_to_etcd_to_sqlite_reads_the_same(tmp_path: Path, etcd_state: str):
    first = inventory(tmp_path / "a", None)
    asyncio.run(fill(first))
    before = reads(first)
    assert "kob-demo/web:3" in before[0] and "failed" in before[2] and "the end" in before[4]

    backup = tmp_path / "backup.json"
    done = kob("state", "export", str(first), "-o", str(backup))
    assert done.stdout == ""
    keys = len(entries_of(first))  # every key of kob/site but its metric sample (an export without --samples)
    assert done.stderr == f"{backup}: {keys} keys and 7 events of kob/site, metric samples left out\n"

    second = inventory(tmp_path / "b", etcd_state)
    done = kob("state", "import", str(second), str(backup))
    assert done.stdout == f"imported {backup} into {etcd_state}: {keys} keys, 7 events\n"
    assert reads(second) == before
    assert entries_of(second) == entries_of(first)

    moved_back = tmp_path / "back.json"
    kob("state", "export", str(second), "-o", str(moved_back))
    third = inventory(tmp_path / "c", str(tmp_path / "c" / "state.db"))
    kob("state", "import", str(third), str(moved_back))
    assert reads(third) == before
    documents = [json.loads(p.read_text()) for p in (backup, moved_back)]
    assert [d["entries"] for d in documents] == [documents[0]["entries"]] * 2
    assert [[(e["time"], e["kind"], e["message"], e["fields"]) for e in d["events"]] for d in documents] == [
        [(e["time"], e["kind"], e["message"], e["fields"]) for e in documents[0]["events"]]] * 2


def test_samples_travel_only_with_the_flag(tmp_path: Path, etcd_state: str):
    first = inventory(tmp_path / "a", None)
    asyncio.run(fill(first))
    with_samples = tmp_path / "samples.json"
    kob("state", "export", str(first), "--samples", "-o", str(with_samples))
    second = inventory(tmp_path / "b", etcd_state)
    kob("state", "import", str(second), str(with_samples))
    keys = [e["key"] for e in json.loads(kob("state", "export", str(second), "--samples").stdout)["entries"]]
    assert "metrics/history/vm1/0000000001000" in keys
    assert "metrics/history/vm1/0000000001000" not in [e["key"] for e in entries_of(second)]


@pytest.mark.parametrize("target", ["sqlite", "etcd"])
def test_a_store_holding_the_inventorys_state_is_refused_unless_forced(tmp_path: Path, target: str,
                                                                      request: pytest.FixtureRequest):
    first = inventory(tmp_path / "a", None)
    asyncio.run(fill(first))
    backup = tmp_path / "backup.json"
    kob("state", "export", str(first), "-o", str(backup))
    state = request.getfixturevalue("etcd_state") if target == "etcd" else None
    second = inventory(tmp_path / "b", state)
    kob("job", "submit", str(second), "--image", "busybox", "--", "echo", "already here")
    jobs_before = kob("job", "ls", str(second), "-a").stdout
    held = kob("state", "export", str(second)).stdout

    refused = kob("state", "import", str(second), str(backup), check=False)
    url = load_inventory(second).state_url
    assert refused.returncode == 1 and refused.stdout == ""
    keys = len([e for e in json.loads(held)["entries"] if e["key"] != "owner"])  # the job and its index entry
    assert refused.stderr == (f"kob: error: {url} already holds state of kob/site ({keys} keys, 1 event); nothing "
                              f"imported. --force replaces its keys with those of {backup}\n")
    assert _without_time(kob("state", "export", str(second)).stdout) == _without_time(held)
    assert kob("job", "ls", str(second), "-a").stdout == jobs_before

    forced = kob("state", "import", str(second), str(backup), "--force")
    written = len(json.loads(backup.read_text())["entries"])  # revisions, scale, jobs and their index, ...
    assert forced.stdout == (f"imported {backup} into {url}: {written} keys, 7 events; 0 keys it lacks deleted, "
                             f"0 events already there\n")
    assert reads(second)[:5] == reads(first)[:5]  # the keys are the file's; the log keeps its own event too
    assert entries_of(second) == entries_of(first)
    again = kob("state", "import", str(second), str(backup), "--force")
    assert again.stdout.endswith(f"{written} keys, 0 events; 0 keys it lacks deleted, 7 events already there\n")


def _without_time(text: str) -> dict:
    document = json.loads(text)
    document.pop("exported_at")
    return document


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('{"format": "kob-state", "version": 1, "namespace": "kob/site",\n "samples": nope}',
         "{file}:2: not JSON: Expecting value (column 13)"),
        ('{"format": "kob-state", "version": 7}', "{file}: version: 7 is not a version this kob reads (it reads 1)"),
    ],
)
def test_a_bad_file_is_refused_in_one_line_and_nothing_is_written(tmp_path: Path, content: str, message: str):
    second = inventory(tmp_path / "b", None)
    bad = tmp_path / "bad.json"
    bad.write_text(content)
    refused = kob("state", "import", str(second), str(bad), check=False)
    assert refused.returncode == 1
    assert refused.stderr == f"kob: error: {message.format(file=bad)}\n"
    assert json.loads(kob("state", "export", str(second)).stdout)["entries"] == []


def test_a_document_of_another_inventory_is_refused(tmp_path: Path):
    first = inventory(tmp_path / "a", None)
    asyncio.run(fill(first))
    backup = tmp_path / "backup.json"
    kob("state", "export", str(first), "-o", str(backup))
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "kh").write_text("")
    shop = tmp_path / "b" / "shop.yaml"
    shop.write_text(first.read_text())
    refused = kob("state", "import", str(shop), str(backup), check=False)
    assert refused.returncode == 1
    assert refused.stderr == (f"kob: error: {backup}: namespace: is 'kob/site', the state of another inventory than "
                              "this one ('kob/shop'); import it with an inventory whose file name is 'site' plus .yaml\n")


def test_an_import_waits_for_no_deploy_it_would_race_and_writes_nothing_meanwhile(tmp_path: Path):
    first = inventory(tmp_path / "a", None)
    asyncio.run(fill(first))
    backup = tmp_path / "backup.json"
    kob("state", "export", str(first), "-o", str(backup))
    second = inventory(tmp_path / "b", None)

    async def import_while_deploying() -> subprocess.CompletedProcess:
        async with open_store(load_inventory(second).state_url) as store:
            lock = await store.acquire_lock("kob/site/deploy", "a deploy", 60)
            done = await asyncio.to_thread(kob, "state", "import", str(second), str(backup), check=False)
            await lock.release()
            return done

    refused = asyncio.run(import_while_deploying())
    assert refused.returncode == 1
    assert refused.stderr.startswith("kob: error: lock 'kob/site/deploy' is held by a deploy since ")
    assert entries_of(second) == []
    kob("state", "import", str(second), str(backup))
    assert entries_of(second) == entries_of(first)
