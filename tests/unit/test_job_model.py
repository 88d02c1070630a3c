"""Jobs as kept in the store, their transitions, and what the placement policy is given (pure)."""

from __future__ import annotations

from collections import Counter

import pytest

from kob.jobs.submit import job_spec
from kob.errors import KobError, SpecError
from kob.facts.jobs import HostJobs
from kob.jobs.dispatch import JobsSeen
from kob.jobs.model import Job, answered, ended, started, unanswered
from kob.jobs.rooms import constraint_from_text, constraint_text, host_rooms, queued_jobs
from kob.spec.inventory import load_inventory
from kob.spec.service_model import Constraint

JOB = Job(1, "report", "img", ("true",), 100.0, "me@here", cpus=None, memory=None, retries=1)


def test_a_job_goes_running_then_back_to_queued_with_a_retry_then_ends():
    job = started(JOB, "vm1", "kob-job-1-1", 110.0)
    assert (job.state, job.current.host, job.current.number) == ("running", "vm1", 1)
    job = ended(job, "failed", 120.0, exit_code=3, reason="exit 3", retry_at=125.0)
    assert (job.state, job.not_before, job.current, job.exit_code) == ("queued", 125.0, None, 3)
    job = ended(started(job, "vm2", "kob-job-1-2", 126.0), "succeeded", 130.0, exit_code=0, reason="exit 0")
    assert job.state == "succeeded" and [(a.host, a.outcome) for a in job.attempts] == [("vm1", "failed"),
                                                                                          ("vm2", "succeeded")]
    assert Job.from_dict(job.to_dict()) == job


def test_unanswered_keeps_the_first_silence_and_answered_clears_it():
    job = started(JOB, "vm1", "c", 110.0)
    job = unanswered(unanswered(job, 111.0), 115.0)
    assert job.current.unanswered_since == 111.0
    assert answered(job).current.unanswered_since is None
    assert answered(answered(job)) == answered(job)


@pytest.mark.parametrize("text, constraint", [("zone==a", Constraint("zone", True, "a")),
                                              ("role!=lb", Constraint("role", False, "lb")),
                                              ("k==a=b", Constraint("k", True, "a=b"))])
def test_constraint_text_round_trip(text, constraint):
    assert constraint_from_text(text) == constraint and constraint_text(constraint) == text


def test_a_constraint_text_without_operator_is_refused():
    with pytest.raises(ValueError, match="LABEL==VALUE"):
        constraint_from_text("zone")


INVENTORY = """\
hosts:
  vm1: {address: 10.0.0.1, cpus: 4, memory: 2g, labels: {zone: a}}
  vm2: {address: 10.0.0.2, roles: [lb]}
  vm3: {address: 10.0.0.3}
services:
  web: {image: nginx:1, resources: {cpus: 0.5, memory: 64m}}
jobs:
  report: {image: busybox:1, command: [sh, -c, "echo hi"], cpus: 2, retries: 3, timeout: 5m, constraints: [zone==a]}
"""


@pytest.fixture
def inventory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "jobs.yaml").write_text(INVENTORY)
    return load_inventory("jobs.yaml")


def test_host_rooms_count_declared_capacity_running_jobs_and_service_replicas(inventory):
    seen = JobsSeen(hosts={"vm1": HostJobs("vm1", 2, 8 << 30, services=Counter({"web": 2, "gone": 1})),
                           "vm2": HostJobs("vm2", 8, 16 << 30)},
                    unreachable={"vm3": "vm3: no route"})
    running = [started(Job(2, "x", "img", (), 1.0, "me", cpus=1.5, memory=100), "vm1", "c", 2.0),
               started(Job(3, "y", "img", (), 1.0, "me"), "vm2", "c", 2.0)]
    rooms = {r.name: r for r in host_rooms(inventory, seen, running)}
    assert sorted(rooms) == ["vm1", "vm2"]  # a silent host offers no room
    vm1, vm2 = rooms["vm1"], rooms["vm2"]
    assert (vm1.cpus, vm1.memory, vm1.used_cpus, vm1.used_memory) == (4, 2 << 30, 2.5, 100 + 2 * (64 << 20))
    assert (vm2.cpus, vm2.memory, vm2.used_cpus, vm2.roles) == (8.0, 16 << 30, 1.0, ("lb",))  # observed; 1 CPU default
    assert dict(vm1.labels) == {"zone": "a"}


def test_queued_jobs_avoid_the_hosts_of_earlier_attempts(inventory):
    job = ended(started(JOB, "vm1", "c", 1.0), "lost", 2.0, retry_at=3.0)
    (queued,) = queued_jobs([job, started(JOB, "vm2", "c", 1.0)], inventory)
    assert (queued.cpus, queued.not_before, queued.avoid) == (1.0, 3.0, frozenset({"vm1"}))


def test_submit_options_override_the_template(inventory):
    spec = job_spec(inventory, "report", None, ("echo", "x"), {"cpus": 1.0, "memory": "64m", "retries": None,
                                                               "constraints": ()})
    assert (spec.name, spec.image, spec.command, spec.cpus, spec.memory, spec.retries, spec.timeout) == (
        "report", "busybox:1", ("echo", "x"), 1.0, 64 << 20, 3, 300.0)
    assert [constraint_text(c) for c in spec.constraints] == ["zone==a"]


@pytest.mark.parametrize("template, options, error, message", [
    (None, {}, KobError, "give --image IMAGE, or --template NAME"),
    ("nope", {}, KobError, "no job named 'nope'"),
    (None, {"image": "img", "memory": "lots"}, SpecError, "command line:.*job/memory: should be a size"),
    (None, {"image": "img", "timeout": "soon"}, SpecError, "command line:.*job/timeout"),
    (None, {"image": "img", "constraints": ("zone==z",)}, SpecError, "no host has zone=z"),
])
def test_submit_mistakes_are_one_line(inventory, template, options, error, message):
    with pytest.raises(error, match=message):
        job_spec(inventory, template, None, (), {"constraints": (), **options})


async def test_a_job_on_a_host_gone_from_the_inventory_is_lost_and_queued_again(inventory):
    from kob.commands.docker import IMAGES_MARK
    from kob.commands.jobs import CAPACITY_MARK, JOBS_MARK, SERVICES_MARK
    from kob.jobs.book import JobBook
    from kob.jobs.dispatch import Dispatcher
    from kob.store.memory import MemoryStore
    from tests.helpers.fake_transport import Reply, ScriptedTransport

    empty_host = Reply(stdout=f"{CAPACITY_MARK}\n2\n1048576\n{JOBS_MARK}\n{SERVICES_MARK}\n{IMAGES_MARK}\n")
    store, said, fake = MemoryStore(), [], ScriptedTransport([("*", JOBS_MARK, empty_host)], default=None)
    dispatcher = Dispatcher(inventory, store, fake, say=said.append)
    await dispatcher.book.submit(started(JOB, "vm9", "kob-job-1-1", 1.0))
    report = await dispatcher.dispatch()
    after = await JobBook(store, "kob/jobs").get(1)
    assert after.state == "queued" and after.attempts[-1].outcome == "lost"
    assert said == ["job 1 (report) on vm9: lost (vm9 is no longer in the inventory); retry 2 of 2 in 5 s"]
    assert report.ended == said and not report.started  # the retry waits for its backoff
    assert sorted(s.host for s in fake.sent) == ["vm1", "vm2", "vm3"]  # one observation per host, nothing else


async def test_only_the_newest_ended_jobs_are_kept_with_their_output():
    from kob.jobs.book import JobBook
    from kob.store.memory import MemoryStore

    book = JobBook(MemoryStore(), "kob/jobs")
    for n in range(5):
        job = await book.submit(started(JOB, "vm1", f"c{n}", 1.0))
        await book.save(ended(job, "succeeded", 2.0, exit_code=0) if n != 1 else job)  # job 2 still runs
        await book.keep_log(job.id, 1, f"out {job.id}")
    assert await book.forget_old(keep=2) == 2
    assert [(j.id, j.state) for j in await book.all()] == [(2, "running"), (4, "succeeded"), (5, "succeeded")]
    assert [await book.log(n, 1) for n in (1, 3, 4)] == [None, None, "out 4"]
