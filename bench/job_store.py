"""Benchmark: what a dispatch pass and `kob job ls` cost in the store as kept jobs pile up (SQLite, no lab).

    PYTHONPATH=TREE .venv/bin/python bench/job_store.py [--kept 1000 10000] [--rounds 5]

Runs against the kob of TREE (PYTHONPATH), so the same script measures two trees: the store is
filled with each tree's own code. For each count N of ended jobs kept (each with 1 KiB of output),
with hosts that do not answer (so the pass only reads and writes the store):
  idle pass       no job queued or running
  pass, 10 queued 10 queued jobs that cannot start
  forget 1        drop the oldest ended job when N+1 are kept (what a pass does after a job ended)
  job ls          what `kob job ls` reads (active jobs and the last 20 ended)
and, for N queued jobs (a backlog), one pass over them. Prints the median milliseconds of each.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path

from kob.errors import HostUnreachable
from kob.jobs import model
from kob.jobs.book import JobBook
from kob.jobs.dispatch import Dispatcher
from kob.jobs.model import ACTIVE, Job
from kob.spec.inventory import Host, Inventory
from kob.store.sqlite import SqliteStore
from tests.helpers.fake_transport import ScriptedTransport

NS = "kob/bench"
INVENTORY = Inventory(Path("bench.yaml"), (Host("vm1", "198.18.0.11"), Host("vm2", "198.18.0.12")))
OUTPUT = "x" * 1023 + "\n"


def a_job() -> Job:
    return Job(0, "bench", "busybox:1", ("true",), submitted=1.0, who="bench")


async def fill(store: SqliteStore, ended: int, queued: int) -> JobBook:
    book = JobBook(store, NS)
    for _ in range(ended):
        job = await book.submit(a_job())
        job = model.ended(model.started(job, "vm1", f"kob-job-{job.id}-1", 2.0), "succeeded", 3.0, exit_code=0)
        await book.save(job)
        await book.keep_log(job.id, 1, OUTPUT)
    for _ in range(queued):
        await book.submit(a_job())
    return book


async def median_ms(step, rounds: int) -> float:
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        await step()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


async def measure(kept: int, rounds: int, folder: Path) -> dict[str, float]:
    silent = ScriptedTransport([("*", "", HostUnreachable("vm", "no route to host"))])
    results = {}
    async with SqliteStore(str(folder / f"ended-{kept}.db")) as store:
        book = await fill(store, kept, 0)
        dispatcher = Dispatcher(INVENTORY, store, silent, say=lambda line: None)
        results["idle pass"] = await median_ms(dispatcher.dispatch, rounds)
        for _ in range(10):
            await book.submit(a_job())
        results["pass, 10 queued"] = await median_ms(dispatcher.dispatch, rounds)
        if hasattr(book, "active_and_recent"):
            results["job ls"] = await median_ms(lambda: book.active_and_recent(20), rounds)
        else:
            results["job ls"] = await median_ms(book.all, rounds)

        async def forget_one() -> None:
            job = await book.submit(a_job())
            await book.save(model.ended(model.started(job, "vm1", "c", 2.0), "succeeded", 3.0, exit_code=0))
            start = time.perf_counter()
            assert await book.forget_old(keep=kept) == 1
            forget_times.append((time.perf_counter() - start) * 1000)

        forget_times: list[float] = []
        for _ in range(rounds):
            await forget_one()
        results["forget 1"] = statistics.median(forget_times)
    async with SqliteStore(str(folder / f"queued-{kept}.db")) as store:
        await fill(store, 0, kept)
        dispatcher = Dispatcher(INVENTORY, store, silent, say=lambda line: None)
        results[f"pass, {kept} queued"] = await median_ms(dispatcher.dispatch, rounds)
        assert len([j for j in await JobBook(store, NS).all() if j.state in ACTIVE]) == kept
    return results


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--kept", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        for kept in args.kept:
            for name, ms in (await measure(kept, args.rounds, Path(folder))).items():
                print(f"{kept:>6} kept  {name:<20} {ms:9.1f} ms", flush=True)


if __name__ == "__main__":
    asyncio.run(main())
