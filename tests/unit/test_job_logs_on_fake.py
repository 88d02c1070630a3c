"""`kob job logs -f` below the CLI (kob.jobs.operations.job_output), over the scripted fake and the memory store.

A small task plays the dispatcher: once the output of an attempt has been streamed, it ends that attempt
in the store (and starts the next), as a dispatch pass would.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from kob.commands.jobs import GONE_MARK
from kob.jobs import model, operations
from kob.jobs.book import JobBook
from kob.jobs.model import Job
from kob.spec.inventory import Host, Inventory
from kob.store.memory import MemoryStore
from tests.helpers.fake_transport import Reply, ScriptedTransport

INVENTORY = Inventory(Path("shop.yaml"), (Host("vm1", "198.18.0.11"), Host("vm2", "198.18.0.12")))


@pytest.fixture(autouse=True)
def quick_polls(monkeypatch):
    monkeypatch.setattr(operations, "FOLLOW_POLL", 0.01)


def first_try(retries: int = 1) -> Job:
    job = Job(1, "report", "busybox:1", ("true",), submitted=1.0, who="ann@desk", retries=retries, backoff=0)
    return model.started(job, "vm1", "kob-job-1-1", 2.0)


class Said:
    def __init__(self):
        self.lines: list[str] = []

    def __call__(self, text: str = "", nl: bool = True, err: bool = False) -> None:
        self.lines.append(("! " if err else "") + text + ("" if nl else "<no newline>"))


async def play_dispatcher(book: JobBook, fake: ScriptedTransport, steps) -> None:
    """For each (container, change): once that container's output was asked for, save ``change(job)``."""
    for name, change in steps:
        while not any(name in s.command for s in fake.sent):
            await asyncio.sleep(0.005)
        await book.save(change(await book.get(1)))


def failed_then_next(job: Job) -> Job:
    job = model.ended(job, "failed", 3.0, exit_code=1, reason="exit 1", retry_at=3.0)
    return model.started(job, "vm2", "kob-job-1-2", 4.0)


async def follow(fake, steps, store_jobs, attempt=None, kept=()) -> list[str]:
    store = MemoryStore()
    book = JobBook(store, "kob/shop")
    for job in store_jobs:
        await book.save(job)
    for number, text in kept:
        await book.keep_log(1, number, text)
    said = Said()
    playing = asyncio.create_task(play_dispatcher(book, fake, steps))
    await asyncio.wait_for(operations.job_output(INVENTORY, store, fake, 1, attempt, True, said), 10)
    await asyncio.wait_for(playing, 10)
    return said.lines


async def test_follow_goes_on_into_the_retry_on_another_host():
    fake = ScriptedTransport([("vm1", "kob-job-1-1", Reply(stdout="one\n")),
                              ("vm2", "kob-job-1-2", Reply(stdout="two\nthree\n"))], default=None)
    lines = await follow(fake, [("kob-job-1-1", failed_then_next)], [first_try()])
    assert lines == ["one", "--- job 1, attempt 2 on vm2 ---", "two", "three"]
    assert [s.host for s in fake.sent] == ["vm1", "vm2"]  # the last try: no waiting for the dispatcher after it


async def test_follow_from_an_ended_attempt_prints_what_was_kept_then_the_running_one():
    fake = ScriptedTransport([("vm2", "kob-job-1-2", Reply(stdout="two\n"))], default=None)
    lines = await follow(fake, [], [failed_then_next(first_try())], attempt=1, kept=[(1, "one\n")])
    assert lines == ["one\n<no newline>", "--- job 1, attempt 2 on vm2 ---", "two"]


async def test_an_attempt_collected_before_it_could_be_followed_is_read_from_the_store():
    def succeeded(job: Job) -> Job:
        return model.ended(job, "succeeded", 3.0, exit_code=0, reason="exit 0")

    store_jobs = [first_try()]
    fake = ScriptedTransport([("vm1", "kob-job-1-1", Reply(stdout=f"{GONE_MARK}\n"))], default=None)
    lines = await follow(fake, [("kob-job-1-1", succeeded)], store_jobs, kept=[(1, "all of it\n")])
    assert lines == ["all of it\n<no newline>"]


async def test_a_failure_with_retries_left_waits_for_the_next_attempt_and_a_success_ends_it():
    def succeeded(job: Job) -> Job:
        return model.ended(job, "succeeded", 5.0, exit_code=0, reason="exit 0")

    fake = ScriptedTransport([("vm1", "kob-job-1-1", Reply(stdout="one\n")),
                              ("vm2", "kob-job-1-2", Reply(stdout="two\n"))], default=None)
    lines = await follow(fake, [("kob-job-1-1", failed_then_next), ("kob-job-1-2", succeeded)],
                         [first_try(retries=3)])
    assert lines == ["one", "--- job 1, attempt 2 on vm2 ---", "two"]


async def test_follow_of_a_queued_job_waits_for_its_first_attempt():
    queued = Job(1, "report", "busybox:1", ("true",), submitted=1.0, who="ann@desk")

    def start(job: Job) -> Job:
        return model.started(job, "vm1", "kob-job-1-1", 2.0)

    fake = ScriptedTransport([("vm1", "kob-job-1-1", Reply(stdout="one\n"))], default=None)
    store = MemoryStore()
    book = JobBook(store, "kob/shop")
    await book.save(queued)
    said = Said()
    following = asyncio.create_task(operations.job_output(INVENTORY, store, fake, 1, None, True, said))
    await asyncio.sleep(0.05)
    assert not fake.sent and not following.done()
    await book.save(start(await book.get(1)))
    await asyncio.wait_for(following, 10)
    assert said.lines == ["one"]


async def test_a_container_not_there_yet_is_looked_for_again():
    fake = ScriptedTransport([("vm1", "kob-job-1-1", [Reply(stdout=f"{GONE_MARK}\n"), Reply(stdout="one\n")])],
                             default=None)
    lines = await follow(fake, [], [first_try(retries=0)])
    assert lines == ["one"] and len(fake.sent) == 2
