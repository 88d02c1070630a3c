"""Export and import on the memory store: what goes in the document, what an import refuses, what --force does."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kob.deploy.desired import read_secrets
from kob.deploy.events import EventLog
from kob.deploy.revisions import RevisionBook
from kob.errors import StateFileError, StoreError
from kob.identity import namespace
from kob.jobs.book import JobBook
from kob.jobs.model import Job
from kob.plan.spec_hash import spec_hash
from kob.spec.inventory import load_inventory
from kob.state_backup import document_text, export_state, import_state, parse_document
from kob.store.memory import MemoryStore

NS = "kob/site"
SECRET = "s3cr3t-Value-7c1"


async def export(store, samples=False) -> dict:
    return await export_state(store, NS, samples=samples, source="memory://", exported_at=0.0, kob_version="t")


async def filled() -> MemoryStore:
    store = MemoryStore()
    await store.put(f"{NS}/services/web/scale", b'{"replicas": 4, "inventory_replicas": 2}')
    await store.put(f"{NS}/owner", b"a1b2c3")  # a key no list names: exported all the same
    await store.put(f"{NS}/metrics/history/vm1/0000000000001", b'{"cpu": 1}')
    await store.put("kob/site2/services/web/scale", b"{}")  # another inventory whose name starts alike
    await store.put("kob/other/owner", b"x")
    await EventLog(store, NS).add("deploy", "web: revision 1", service="web")
    await EventLog(store, "kob/other").add("deploy", "api: revision 1")
    await EventLog(store, NS).add("scale", "web: 2 -> 4")
    await store.acquire_lock(f"{NS}/deploy", "me", 30)
    return store


async def test_the_export_holds_every_key_of_the_namespace_and_its_events_but_no_lock_nor_other_inventory():
    document = await export(await filled())
    assert [e["key"] for e in document["entries"]] == ["owner", "services/web/scale"]
    assert [(e["kind"], e["message"]) for e in document["events"]] == [("deploy", "web: revision 1"),
                                                                       ("scale", "web: 2 -> 4")]
    assert "deploy" not in {e["key"].rsplit("/", 1)[-1] for e in document["entries"]}


async def test_samples_only_when_asked():
    document = await export(await filled(), samples=True)
    assert [e["key"] for e in document["entries"]] == ["metrics/history/vm1/0000000000001", "owner",
                                                       "services/web/scale"]
    assert document["samples"] is True


async def test_an_import_into_an_empty_store_gives_the_same_export_and_keeps_event_times():
    source = await filled()
    document = await export(source)
    target = MemoryStore()
    await target.append_event("deploy", "of an inventory that shares the store", {"ns": "kob/other"})
    report = await import_state(target, parse_document(document_text(document), "b.json"), NS, force=False,
                                file="b.json", where="memory")
    assert (report.written, report.deleted, report.appended, report.already) == (2, 0, 2, 0)
    again = await export(target)
    assert again["entries"] == document["entries"]
    assert [(e["time"], e["kind"], e["message"], e["fields"]) for e in again["events"]] == [
        (e["time"], e["kind"], e["message"], e["fields"]) for e in document["events"]]
    assert [e["seq"] for e in again["events"]] == [2, 3]  # appended after what the log held


async def test_a_store_holding_any_of_the_inventorys_state_is_refused_and_left_as_it_was():
    document = parse_document(document_text(await export(await filled())), "b.json")
    for holding in ("a key", "an event"):
        target = MemoryStore()
        if holding == "a key":
            await target.put(f"{NS}/cron/last", b"{}")
        else:
            await EventLog(target, NS).add("deploy", "web: revision 9")
        before = (await target.list(""), await target.events())
        with pytest.raises(StoreError) as refused:
            await import_state(target, document, NS, force=False, file="b.json", where="sqlite:///x.db")
        assert str(refused.value) == (
            f"sqlite:///x.db already holds state of {NS} ({'1 key, 0 events' if holding == 'a key' else '0 keys, 1 event'}"
            "); nothing imported. --force replaces its keys with those of b.json")
        assert (await target.list(""), await target.events()) == before


async def test_force_makes_the_keys_exactly_the_files_and_appends_only_missing_events():
    document = parse_document(document_text(await export(await filled())), "b.json")
    target = MemoryStore()
    await target.put(f"{NS}/services/web/scale", b'{"replicas": 1, "inventory_replicas": 1}')
    await target.put(f"{NS}/services/api/scale", b"{}")
    await target.put("kob/other/owner", b"theirs")
    await target.write_batch([], [], [document.events[0]])  # the first event is already there
    report = await import_state(target, document, NS, force=True, file="b.json", where="memory")
    assert (report.written, report.deleted, report.appended, report.already) == (2, 1, 1, 1)
    assert [(e.key, e.value) for e in await target.list("kob/")] == [
        ("kob/other/owner", b"theirs"), (f"{NS}/owner", b"a1b2c3"),
        (f"{NS}/services/web/scale", b'{"replicas": 4, "inventory_replicas": 2}')]
    assert [e.message for e in await target.events()] == ["web: revision 1", "web: 2 -> 4"]
    await import_state(target, document, NS, force=True, file="b.json", where="memory")  # twice: nothing doubles
    assert [e.message for e in await target.events()] == ["web: revision 1", "web: 2 -> 4"]


async def test_the_state_of_another_inventory_is_refused():
    document = parse_document(document_text(await export(await filled())), "b.json")
    with pytest.raises(StateFileError, match=r"^b.json: namespace: is 'kob/site', the state of another inventory "
                                             r"than this one \('kob/shop'\); import it with an inventory whose file "
                                             r"name is 'site' plus .yaml$"):
        await import_state(MemoryStore(), document, "kob/shop", force=True, file="b.json", where="memory")


async def test_an_env_file_secret_never_reaches_the_store_nor_the_export(tmp_path: Path):
    (tmp_path / "kh").write_text("")
    (tmp_path / "web.env").write_text(f"DB_PASSWORD={SECRET}\n")
    (tmp_path / "site.yaml").write_text("ssh: {known_hosts: kh}\nhosts:\n  vm1: {address: 198.18.0.11}\n"
                                        "services:\n  web: {image: img, env_file: web.env, replicas: 2}\n")
    inv = load_inventory(tmp_path / "site.yaml")
    store = MemoryStore()
    web = inv.service("web")
    book = RevisionBook(store, namespace(inv))
    await book.record(web, spec_hash(web, read_secrets(web).digest), "deploy")  # as kob deploy records it
    await book.set_scale("web", 3, 2)
    await EventLog(store, namespace(inv)).add("deploy", "web: revision 1", service="web")
    await JobBook(store, namespace(inv)).submit(Job(id=0, name="j", image="img", command=("true",), submitted=1.0, who="me"))
    text = document_text(await export_state(store, namespace(inv), samples=True, source="memory://",
                                            exported_at=0.0, kob_version="t"))
    assert all(SECRET.encode() not in e.value for e in await store.list(""))
    assert SECRET not in text and "DB_PASSWORD" not in text
    assert "web.env" in text  # the path is part of the spec, the content is not
    assert json.loads(text)["entries"]


async def test_an_owner_label_made_by_a_first_command_does_not_count_as_state_and_the_files_replaces_it():
    document = parse_document(document_text(await export(await filled())), "b.json")
    target = MemoryStore()
    await target.put(f"{NS}/owner", b"site-99999999")  # `kob status` on the new store before the import
    await import_state(target, document, NS, force=False, file="b.json", where="memory")
    assert (await target.get(f"{NS}/owner")).value == b"a1b2c3"  # the label the running containers carry
