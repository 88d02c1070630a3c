"""`kob job submit` below the CLI (kob.jobs.submit): the job a spec queues, and the queue it writes."""

from __future__ import annotations

import pytest

from kob.deploy.events import EventLog
from kob.identity import namespace
from kob.jobs.book import JobBook
from kob.jobs.submit import job_spec, queued_job, submit_jobs
from kob.spec.inventory import load_inventory
from kob.store.memory import MemoryStore

INVENTORY = """\
hosts:
  vm1: {address: 10.0.0.1, labels: {zone: a}}
jobs:
  report: {image: busybox:1, command: [sh, -c, "echo hi"], cpus: 2, retries: 3, timeout: 5m, constraints: [zone==a]}
"""
NONE_GIVEN = {key: None for key in ("image", "cpus", "memory", "retries", "timeout", "backoff", "priority")}


@pytest.fixture
def inventory(tmp_path):
    (tmp_path / "jobs.yaml").write_text(INVENTORY)
    return load_inventory(str(tmp_path / "jobs.yaml"))


def test_the_queued_job_carries_the_spec_and_constraints_as_text(inventory):
    spec = job_spec(inventory, "report", "nightly", (), {**NONE_GIVEN, "priority": "5", "constraints": ()})
    job = queued_job(spec, "me@here", 100.0)
    assert (job.id, job.name, job.image, job.command, job.submitted, job.who) == (
        0, "nightly", "busybox:1", ("sh", "-c", "echo hi"), 100.0, "me@here")
    assert (job.cpus, job.retries, job.timeout, job.priority, job.constraints, job.state) == (
        2.0, 3, 300.0, 5, ("zone==a",), "queued")


def test_options_alone_make_a_job_named_job(inventory):
    spec = job_spec(inventory, None, None, ("ls", "-v"), {**NONE_GIVEN, "image": "img", "backoff": "1",
                                                          "constraints": ("zone!=a",)})
    assert (spec.name, spec.image, spec.command, spec.backoff, spec.retries) == ("job", "img", ("ls", "-v"), 1, 0)


async def test_submit_numbers_each_job_and_logs_an_event(inventory):
    store = MemoryStore()
    spec = job_spec(inventory, "report", None, (), {**NONE_GIVEN, "constraints": ()})
    queued = await submit_jobs(store, inventory, spec, count=3)
    assert [(j.id, j.name, j.state) for j in queued] == [(1, "report", "queued"), (2, "report", "queued"),
                                                         (3, "report", "queued")]
    assert await JobBook(store, namespace(inventory)).all() == queued
    events = await EventLog(store, namespace(inventory)).recent(10, {"job"})
    assert [e.message for e in events] == [f"job {n} (report): submitted" for n in (1, 2, 3)]


SECRET_INVENTORY = """\
hosts:
  vm1: {address: 10.0.0.1}
jobs:
  report: {image: busybox:1, env: {DAY: monday-value}, env_file: job.env}
"""


async def test_env_values_and_the_env_file_never_reach_the_store(tmp_path, monkeypatch):
    (tmp_path / "jobs.yaml").write_text(SECRET_INVENTORY)
    (tmp_path / "job.env").write_text("TOKEN=s3cret-token\n")
    (tmp_path / "other.env").write_text("OTHER=other-s3cret\n")
    inv = load_inventory(str(tmp_path / "jobs.yaml"))
    monkeypatch.chdir(tmp_path)
    store = MemoryStore()
    from_template = job_spec(inv, "report", None, (), {**NONE_GIVEN, "constraints": ()})
    from_options = job_spec(inv, None, None, (), {**NONE_GIVEN, "image": "img", "env_file": "other.env",
                                                  "constraints": ()})
    first, = await submit_jobs(store, inv, from_template, template="report")
    second, = await submit_jobs(store, inv, from_options)
    assert (first.template, first.env_names, first.env_file) == ("report", ("DAY",), str(tmp_path / "job.env"))
    assert (second.template, second.env_names, second.env_file) == (None, (), str(tmp_path / "other.env"))
    dump = b"".join(e.key.encode() + e.value for e in await store.list(""))
    assert b"job.env" in dump and b"DAY" in dump
    for secret in (b"monday-value", b"s3cret-token", b"other-s3cret"):
        assert secret not in dump


def test_an_env_file_given_on_the_command_line_must_exist(inventory, tmp_path, monkeypatch):
    from kob.errors import SpecError

    monkeypatch.chdir(tmp_path)
    with pytest.raises(SpecError, match=r"^command line:\d+: job/env_file: env file .*/missing.env not found$"):
        job_spec(inventory, None, None, (), {**NONE_GIVEN, "image": "img", "env_file": "missing.env",
                                             "constraints": ()})
