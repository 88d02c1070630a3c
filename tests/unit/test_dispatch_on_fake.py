"""Dispatcher over the scripted fake and the memory store: what hosts answer → commands sent, jobs' ends.

Only the public methods (dispatch, cancel) and the commands they send are looked at; the clock of
kob.jobs.dispatch is frozen at NOW so that ages (timeouts, silence) are exact.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace

import pytest

from kob.commands.jobs import CAPACITY_MARK, collect_argv, container_name, kill_argv, observe_jobs_argv, run_job_argv
from kob.errors import HostUnreachable
from kob.jobs import dispatch as dispatch_module
from kob.jobs import model
from kob.jobs.book import LOG_KEPT, JobBook
from kob.jobs.dispatch import Dispatcher
from kob.jobs.model import Job
from kob.spec.inventory import Host, Inventory
from kob.spec.service_model import Resources, Service
from kob.store.memory import MemoryStore
from tests.helpers.fake_transport import Reply, ScriptedTransport, Sent

NOW = 1_800_000_000.0
INVENTORY = Inventory(Path("shop.yaml"), (Host("vm1", "198.18.0.11"), Host("vm2", "198.18.0.12")),
                      services=(Service("web", "kob-demo/web:2", resources=Resources(cpus=1.0)),))
OBSERVE = CAPACITY_MARK  # the piece of the job observation's command line the script rows answer


def short(sent: Sent) -> str:
    """A command as the tables write it: observe, run NAME, kill NAME, collect NAME (else the command line)."""
    argv = list(sent.argv)
    name = argv[4] if len(argv) > 4 else ""
    if argv == observe_jobs_argv("shop"):
        return "observe"
    if argv == collect_argv(name, LOG_KEPT):
        return f"collect {name}"
    if argv == kill_argv(argv[-1]):
        return f"kill {argv[-1]}"
    if argv[:2] == ["docker", "run"]:
        job_id, attempt = map(int, name.split("-")[3:])  # kob-job-shop-ID-ATTEMPT
        if argv == run_job_argv("shop", job_id, attempt, "busybox:1", ("echo", "hi"), None, None):
            return f"run {name}"
    return sent.command


def collected(name: str) -> list[str]:
    """An attempt that ends in a pass is collected once (output kept, container removed)."""
    return [f"collect {name}"]


BUSYBOX = "sha256:" + "b" * 64  # the ID of busybox:1 on the hosts that have it


def host_says(cpus: int = 2, *jobs: str, services: tuple[str, ...] = (),
              images: tuple[str, ...] = (f"{BUSYBOX}\tbusybox:1",)) -> Reply:
    """The job observation's output: capacity, job containers (lines of ``container``), running replicas, images."""
    lines = ["#kob-capacity", str(cpus), "8000000", "#kob-jobs", *jobs, "#kob-services", *services, "#kob-images",
             *images]
    return Reply(stdout="\n".join(lines) + "\n")


def container(job_id: int, state: str = "exited", exit_code: int = 0, attempt: int = 1, oom: bool = False) -> str:
    finished = "0001-01-01T00:00:00Z" if state == "running" else "2027-01-15T08:00:09Z"
    return "\t".join([f"/kob-job-shop-{job_id}-{attempt}", str(job_id), str(attempt), state, str(exit_code),
                      "2027-01-15T08:00:01Z", finished, "true" if oom else "false"])


def queued(job_id: int = 1, **fields) -> Job:
    return Job(job_id, "report", "busybox:1", ("echo", "hi"), submitted=NOW - 60, who="ann@desk", **fields)


def running(job_id: int = 1, host: str = "vm1", ago: float = 5, silent: float | None = None, **fields) -> Job:
    """A job whose first attempt started ``ago`` seconds ago on ``host``; its host silent for ``silent`` s."""
    job = model.started(queued(job_id, **fields), host, container_name("shop", job_id, 1), NOW - ago)
    return model.unanswered(job, NOW - silent) if silent is not None else job


def finished(job_id: int, outcome: str = "lost", host: str = "vm1") -> Job:
    return model.ended(running(job_id, host), outcome, NOW - 30, reason="earlier")


@pytest.fixture(autouse=True)
def frozen_clock(monkeypatch):
    monkeypatch.setattr(dispatch_module, "time", SimpleNamespace(time=lambda: NOW))


@pytest.fixture(autouse=True)
def manager_images(monkeypatch) -> dict[str, str]:
    """The images the manager's Docker has (none unless a test puts some): never this machine's Docker."""
    images: dict[str, str] = {}

    async def lookup(refs):
        return {ref: images[ref] for ref in refs if ref in images}

    monkeypatch.setattr(dispatch_module, "manager_image_ids", lookup)
    return images


async def dispatcher(fake: ScriptedTransport, jobs: list[Job], inventory: Inventory = INVENTORY):
    store = MemoryStore()
    await store.put("kob/shop/owner", b"shop")  # the owner label its job containers carry
    book = JobBook(store, "kob/shop")
    for job in jobs:
        await book.save(job)
    said: list[str] = []
    return Dispatcher(inventory, store, fake, said.append), book, said


def sent_per_host(fake: ScriptedTransport) -> dict[str, list[str]]:
    return {host: [short(s) for s in fake.sent if s.host == host] for host in dict.fromkeys(s.host for s in fake.sent)}


# One job in the store, one pass. Rows: the job, what the hosts answer → what each host was sent, the job's state
# and the reason its last attempt gives.

@pytest.mark.parametrize("name, jobs, script, expected_commands, state, reason", [
    ("queued: docker run on the host with the most room (vm1's 4 CPUs hold 3 web replicas)",
     [queued()], [("vm1", OBSERVE, host_says(4, services=("web",) * 3)), ("vm2", OBSERVE, host_says(2))],
     {"vm1": ["observe"], "vm2": ["observe", "run kob-job-shop-1-1"]}, "running", ""),
    ("queued, lost on vm2 before: started on vm1 though vm2 has more room",
     [replace(finished(1, host="vm2"), state="queued")],
     [("vm1", OBSERVE, host_says(2)), ("vm2", OBSERVE, host_says(8))],
     {"vm1": ["observe", "run kob-job-shop-1-2"], "vm2": ["observe"]}, "running", ""),
    ("queued, docker run refused: failed with docker's words",
     [queued()], [("*", OBSERVE, host_says(2)),
                  ("vm1", "docker run", Reply(rc=125, stderr=("Unable to find image 'busybox:1' locally\n"
                                                              "docker: Error response from daemon: manifest "
                                                              "unknown.\n")))],
     {"vm1": ["observe", "run kob-job-shop-1-1"], "vm2": ["observe"]}, "failed",
     "docker run failed: docker: Error response from daemon: manifest unknown."),
    ("queued, the host drops the connection at docker run: failed, naming the host",
     [queued()], [("*", OBSERVE, host_says(2)), ("vm1", "docker run", HostUnreachable("vm1", "connection lost"))],
     {"vm1": ["observe", "run kob-job-shop-1-1"], "vm2": ["observe"]}, "failed", "docker run failed: vm1: connection lost"),
    ("running, exited 0: output kept, container removed, succeeded",
     [running()], [("vm1", OBSERVE, host_says(2, container(1))), ("vm2", OBSERVE, host_says(2)),
                   ("vm1", "docker logs", Reply(stdout="hello\n"))],
     {"vm1": ["observe", *collected("kob-job-shop-1-1")], "vm2": ["observe"]}, "succeeded", "exit 0"),
    ("running, exit 3, no retry: failed",
     [running()], [("vm1", OBSERVE, host_says(2, container(1, exit_code=3))), ("vm2", OBSERVE, host_says(2))],
     {"vm1": ["observe", *collected("kob-job-shop-1-1")], "vm2": ["observe"]}, "failed", "exit 3"),
    ("running, killed by the kernel for memory",
     [running()], [("vm1", OBSERVE, host_says(2, container(1, exit_code=137, oom=True))),
                   ("vm2", OBSERVE, host_says(2))],
     {"vm1": ["observe", *collected("kob-job-shop-1-1")], "vm2": ["observe"]}, "failed", "exit 137 (out of memory)"),
    ("running, still running: only looked at",
     [running()], [("vm1", OBSERVE, host_says(2, container(1, "running"))), ("vm2", OBSERVE, host_says(2))],
     {"vm1": ["observe"], "vm2": ["observe"]}, "running", ""),
    ("running past its timeout: killed, then collected, failed",
     [running(ago=120, timeout=60)],
     [("vm1", OBSERVE, host_says(2, container(1, "running"))), ("vm2", OBSERVE, host_says(2))],
     {"vm1": ["observe", "kill kob-job-shop-1-1", *collected("kob-job-shop-1-1")], "vm2": ["observe"]}, "failed",
     "timed out after 60 s"),
    ("running, its container gone: lost, nothing to collect",
     [running()], [("*", OBSERVE, host_says(2))],
     {"vm1": ["observe"], "vm2": ["observe"]}, "lost", "its container is gone from vm1"),
    ("running on a host silent for longer than down_after (60 s): lost",
     [running(ago=300, silent=90)], [("vm1", "", HostUnreachable("vm1", "no route to host")),
                                     ("vm2", OBSERVE, host_says(2))],
     {"vm1": ["observe"], "vm2": ["observe"]}, "lost", "vm1 has not answered for 90 s"),
    ("running on a host silent for less than down_after: still running",
     [running(ago=300, silent=30)], [("vm1", "", HostUnreachable("vm1", "no route to host")),
                                     ("vm2", OBSERVE, host_says(2))],
     {"vm1": ["observe"], "vm2": ["observe"]}, "running", ""),
    ("running on a host whose observation fails: counted as not answering",
     [running(ago=300, silent=90)], [("vm1", OBSERVE, Reply(rc=1, stderr="Cannot connect to the Docker daemon\n")),
                                     ("vm2", OBSERVE, host_says(2))],
     {"vm1": ["observe"], "vm2": ["observe"]}, "lost", "vm1 has not answered for 90 s"),
    ("running on a host the inventory no longer has: lost without asking it",
     [running(host="vm9")], [("*", OBSERVE, host_says(2))],
     {"vm1": ["observe"], "vm2": ["observe"]}, "lost", "vm9 is no longer in the inventory"),
])
async def test_one_pass_over_one_job(name, jobs, script, expected_commands, state, reason):
    fake = ScriptedTransport(script)
    doing, book, said = await dispatcher(fake, jobs)
    report = await doing.dispatch()
    job = await book.get(1)
    assert sent_per_host(fake) == expected_commands, name
    assert (job.state, job.attempts[-1].reason) == (state, reason)
    assert report.active == (state in ("queued", "running"))
    assert len(report.ended) == (state not in ("queued", "running"))
    assert said == [*report.ended, *report.started]


async def test_a_silent_host_is_remembered_from_its_first_silence():
    fake = ScriptedTransport([("vm1", "", HostUnreachable("vm1", "no route to host")), ("vm2", OBSERVE, host_says(2))])
    doing, book, said = await dispatcher(fake, [running()])
    report = await doing.dispatch()
    job = await book.get(1)
    assert (job.state, job.attempts[-1].unanswered_since) == ("running", NOW)
    assert list(report.unreachable) == ["vm1"]


@pytest.mark.parametrize("name, job, answer, exit_code, log", [
    ("exit 0: docker's times and the output kept", running(), container(1), 0, "hello\n"),
    ("exit 2: the output of the failure kept", running(), container(1, exit_code=2), 2, "hello\n"),
    ("killed at its timeout: 137, no docker end time", running(ago=90, timeout=10), container(1, "running"), 137,
     "hello\n"),
    ("collected from a host that stops answering: the end is kept, the output is empty", running(), container(1), 0,
     None),
    ("a long output: only its end is kept", running(), container(1), 0, "x" * 10 + "y" * LOG_KEPT),
])
async def test_what_is_kept_of_an_attempt_that_ended(name, job, answer, exit_code, log):
    collected = Reply(stdout=log) if log is not None else HostUnreachable("vm1", "connection lost")
    fake = ScriptedTransport([("vm1", OBSERVE, host_says(2, answer)), ("vm2", OBSERVE, host_says(2)),
                              ("vm1", "docker logs", collected)])
    doing, book, said = await dispatcher(fake, [job])
    await doing.dispatch()
    attempt = (await book.get(1)).attempts[-1]
    assert (attempt.exit_code, attempt.docker_started) == (exit_code, "2027-01-15T08:00:01Z"), name
    assert attempt.docker_finished == (None if exit_code == 137 else "2027-01-15T08:00:09Z")
    assert await book.log(1, 1) == ("" if log is None else log[-LOG_KEPT:])


@pytest.mark.parametrize("name, job, answer, state, not_before, waiting", [
    ("failed with a retry left: queued again, not before its backoff",
     running(retries=2, backoff=5), container(1, exit_code=1), "queued", NOW + 5,
     ["job 1: backoff: next try in 5.0s"]),
    ("failed on its second try: the backoff doubles",
     replace(running(retries=2, backoff=5), attempts=(*finished(1).attempts,
                                                      model.Attempt(2, "vm1", "kob-job-shop-1-2", NOW - 5))),
     container(1, exit_code=1, attempt=2), "queued", NOW + 10, ["job 1: backoff: next try in 10s"]),
    ("lost with a retry left: queued again", running(retries=1, backoff=30), None, "queued", NOW + 30,
     ["job 1: backoff: next try in 30s"]),
    ("no retry left: failed for good", running(retries=0), container(1, exit_code=1), "failed", 0.0, []),
    ("succeeded: no retry whatever is left", running(retries=3), container(1), "succeeded", 0.0, []),
])
async def test_retries(name, job, answer, state, not_before, waiting):
    jobs = (answer,) if answer else ()
    fake = ScriptedTransport([("vm1", OBSERVE, host_says(2, *jobs)), ("vm2", OBSERVE, host_says(2))])
    doing, book, said = await dispatcher(fake, [job])
    report = await doing.dispatch()
    stored = await book.get(1)
    assert (stored.state, stored.not_before) == (state, not_before), name
    assert report.waiting == waiting
    assert not [c for c in fake.commands() if c.startswith("docker run")], "nothing starts before its backoff"


async def test_a_retry_without_backoff_starts_in_the_same_pass_on_the_other_host():
    fake = ScriptedTransport([("vm1", OBSERVE, host_says(2, container(1, exit_code=1))),
                              ("vm2", OBSERVE, host_says(2))])
    doing, book, said = await dispatcher(fake, [running(retries=1, backoff=0)])
    await doing.dispatch()
    assert sent_per_host(fake) == {"vm1": ["observe", *collected("kob-job-shop-1-1")],
                                   "vm2": ["observe", "run kob-job-shop-1-2"]}
    job = await book.get(1)
    assert [(a.host, a.outcome) for a in job.attempts] == [("vm1", "failed"), ("vm2", None)]


async def test_no_active_job_sends_no_command_at_all():
    fake = ScriptedTransport(default=None)  # any command would fail the test
    doing, book, said = await dispatcher(fake, [finished(1, "succeeded"), finished(2, "failed")])
    report = await doing.dispatch()
    assert fake.sent == [] and report.summary() == "no job to run" and said == []


async def test_orphan_containers_are_collected_and_their_output_kept():
    """kob-job-shop-7-1 ended after its attempt was given up as lost; kob-job-shop-8-1 belongs to a running attempt."""
    fake = ScriptedTransport([
        ("vm1", OBSERVE, host_says(2, container(7, exit_code=0))),
        ("vm2", OBSERVE, host_says(2, container(8, "running"))),
        ("vm1", "docker logs", Reply(stdout="late output\n")),
    ])
    doing, book, said = await dispatcher(fake, [finished(7), running(8, host="vm2")])
    await doing.dispatch()
    assert sent_per_host(fake) == {"vm1": ["observe", "collect kob-job-shop-7-1"], "vm2": ["observe"]}
    assert await book.log(7, 1) == "late output\n"
    assert (await book.get(7)).state == "lost" and (await book.get(8)).state == "running"


async def test_a_requeued_jobs_earlier_container_is_collected_when_its_host_is_back():
    """Job 7's first attempt was lost on vm1 and it waits for its retry; the container shows up again."""
    waiting = model.ended(running(7), "lost", NOW - 30, retry_at=NOW + 60, reason="vm1 has not answered")
    fake = ScriptedTransport([
        ("vm1", OBSERVE, host_says(2, container(7, exit_code=0))),
        ("vm2", OBSERVE, host_says(2)),
        ("vm1", "docker logs", Reply(stdout="late output\n")),
    ])
    doing, book, said = await dispatcher(fake, [waiting])
    await doing.dispatch()
    assert sent_per_host(fake) == {"vm1": ["observe", "collect kob-job-shop-7-1"], "vm2": ["observe"]}
    assert await book.log(7, 1) == "late output\n" and (await book.get(7)).state == "queued"


async def test_an_attempt_that_ends_is_collected_once():
    fake = ScriptedTransport([("vm1", OBSERVE, host_says(2, container(1))), ("vm2", OBSERVE, host_says(2))])
    doing, book, said = await dispatcher(fake, [running()])
    await doing.dispatch()
    assert sent_per_host(fake)["vm1"] == ["observe", "collect kob-job-shop-1-1"]


async def test_several_jobs_in_one_pass_one_observation_per_host():
    fake = ScriptedTransport([
        ("vm1", OBSERVE, host_says(4, container(1), container(2, "running"))),
        ("vm2", OBSERVE, host_says(4)),
        ("vm1", "docker logs", Reply(stdout="one\n")),
    ])
    doing, book, said = await dispatcher(fake, [running(1), running(2), queued(3, priority=5), queued(4)])
    report = await doing.dispatch()
    assert sent_per_host(fake) == {"vm1": ["observe", *collected("kob-job-shop-1-1"), "run kob-job-shop-4-1"],
                                   "vm2": ["observe", "run kob-job-shop-3-1"]}
    assert [(await book.get(i)).state for i in (1, 2, 3, 4)] == ["succeeded", "running", "running", "running"]
    assert report.summary() == "2 started, 1 ended, 0 waiting" and report.active == 3


@pytest.mark.parametrize("name, job, script, expected_commands, state, reason, exit_code", [
    ("queued: cancelled without a word to any host", queued(), [], {}, "cancelled", None, None),
    ("running: killed and collected on its own host only", running(),
     [("vm1", OBSERVE, host_says(2, container(1, "running")))],
     {"vm1": ["observe", "kill kob-job-shop-1-1", "collect kob-job-shop-1-1"]}, "cancelled", "cancelled while running", 137),
    ("running but it had just ended: collected, its own exit kept", running(),
     [("vm1", OBSERVE, host_says(2, container(1, exit_code=0)))],
     {"vm1": ["observe", "collect kob-job-shop-1-1"]}, "cancelled", "cancelled; it had ended with exit 0", 0),
    ("on a host silent for a while: asked for, still running until the host answers",
     running(silent=10), [("vm1", "", HostUnreachable("vm1", "no route to host"))],
     {"vm1": ["observe"]}, "running", "", None),
    ("on a host silent past down_after: cancelled, not lost", running(retries=3, silent=600),
     [("vm1", "", HostUnreachable("vm1", "no route to host"))],
     {"vm1": ["observe"]}, "cancelled", "vm1 has not answered for 600 s", None),
])
async def test_cancel(name, job, script, expected_commands, state, reason, exit_code):
    fake = ScriptedTransport(script, default=Reply())
    doing, book, said = await dispatcher(fake, [job])
    after = await doing.cancel(await book.get(1))
    assert sent_per_host(fake) == expected_commands, name
    stored = await book.get(1)
    assert after == stored and stored.state == state
    assert stored.cancel_requested is (job.state == "running")
    if reason is not None:
        assert (stored.attempts[-1].reason, stored.attempts[-1].exit_code) == (reason, exit_code)


async def test_a_cancel_requested_on_a_silent_host_ends_at_the_next_pass_once_it_answers():
    fake = ScriptedTransport([("vm1", OBSERVE, [HostUnreachable("vm1", "no route"),
                                                host_says(2, container(1, "running"))]),
                              ("vm2", OBSERVE, host_says(2))])
    doing, book, said = await dispatcher(fake, [running()])
    await doing.cancel(await book.get(1))
    await doing.dispatch()
    assert sent_per_host(fake)["vm1"] == ["observe", "observe", "kill kob-job-shop-1-1", *collected("kob-job-shop-1-1")]
    assert (await book.get(1)).state == "cancelled"


async def test_a_cancelled_job_whose_container_is_gone_is_not_queued_again():
    fake = ScriptedTransport([("vm1", OBSERVE, host_says(2))])
    doing, book, said = await dispatcher(fake, [running(retries=2)])
    after = await doing.cancel(await book.get(1))
    assert after.state == "cancelled"


# -- images: shipped to the host a job starts on, as a deploy ships services' -------------------------------------

OTHER = "sha256:" + "c" * 64


@pytest.mark.parametrize("name, vm1_images, vm2_images, on_manager, expected_commands, state, reason, said", [
    ("the host has the image: started, nothing shipped",
     (f"{BUSYBOX}\tbusybox:1",), (), {}, {"vm1": ["observe", "run kob-job-shop-1-1"], "vm2": ["observe"]}, "running", "",
     []),
    ("only vm2 has it: relayed from vm2 to vm1 (docker save there, docker load here), then started",
     (), (f"{BUSYBOX}\tbusybox:1",), {},
     {"vm1": ["observe", "docker load -q", "run kob-job-shop-1-1"], "vm2": ["observe", "docker save -- busybox:1"]},
     "running", "", ["  image busybox:1: vm2 → vm1 ...", "  image busybox:1: vm2 → vm1: 0.0 MB in"]),
    ("vm1 has the image under another name: tagged, not sent",
     (f"{BUSYBOX}\tbusybox:latest",), (f"{BUSYBOX}\tbusybox:1",), {},
     {"vm1": ["observe", f"docker tag {BUSYBOX} busybox:1", "run kob-job-shop-1-1"], "vm2": ["observe"]}, "running", "",
     [f"  image busybox:1: tagged on vm1 (it had {BUSYBOX[7:19]})"]),
    ("nobody has it: failed without docker run, saying what to do",
     (), (), {}, {"vm1": ["observe"], "vm2": ["observe"]}, "failed",
     "image busybox:1 (job 1) is neither on the manager nor on any reachable host; build or `docker load` it on "
     "the manager or on one host", []),
    ("the hosts disagree and the manager has none: failed, naming both",
     (f"{BUSYBOX}\tbusybox:1",), (f"{OTHER}\tbusybox:1",), {}, {"vm1": ["observe"], "vm2": ["observe"]}, "failed",
     f"image busybox:1 differs between hosts (vm1 {BUSYBOX[7:19]}, vm2 {OTHER[7:19]}) and the manager has none to "
     "settle it; remove the stale one or give the new build its own tag", []),
])
async def test_a_jobs_image_travels_to_its_host(name, vm1_images, vm2_images, on_manager, expected_commands, state,
                                                reason, said, manager_images):
    manager_images.update(on_manager)
    fake = ScriptedTransport([("vm1", OBSERVE, host_says(4, images=vm1_images)),
                              ("vm2", OBSERVE, host_says(2, images=vm2_images))])
    doing, book, told = await dispatcher(fake, [queued()])
    await doing.dispatch()
    job = await book.get(1)
    assert sent_per_host(fake) == expected_commands, name
    assert (job.state, job.attempts[-1].reason) == (state, reason)
    assert [line.rpartition(" in ")[0] + " in" if " MB in " in line else line
            for line in told if line.startswith("  image")] == said  # the time a transfer took is not compared


async def test_an_image_that_cannot_be_loaded_fails_the_jobs_on_that_host_only():
    fake = ScriptedTransport([("vm1", OBSERVE, host_says(4, images=())),
                              ("vm2", OBSERVE, host_says(4)),
                              ("vm1", "docker load", Reply(rc=1, stderr="no space left on device"))])
    doing, book, told = await dispatcher(fake, [queued(1, cpus=4.0), queued(2, cpus=4.0)])
    await doing.dispatch()
    first, second = await book.get(1), await book.get(2)
    assert [(j.state, j.attempts[-1].host) for j in (first, second)] == [("failed", "vm1"), ("running", "vm2")]
    assert first.attempts[-1].reason.startswith("its image could not be sent to vm1: vm1: ")
    assert "no space left on device" in first.attempts[-1].reason


# -- env and env_file: read on the manager when an attempt starts, sent on stdin, never kept ------------------------

async def test_env_reaches_docker_on_stdin_only(tmp_path):
    from kob.spec.inventory_model import JobTemplate, frozen_mapping

    env_file = tmp_path / "job.env"
    env_file.write_bytes(b"TOKEN=s3cret-token\nDAY=from-file")  # no newline at the end
    inventory = replace(INVENTORY, jobs=(JobTemplate("report", "busybox:1", env=frozen_mapping({"DAY": "monday"})),))
    job = queued(template="report", env_names=("DAY",), env_file=str(env_file))
    fake = ScriptedTransport([("*", OBSERVE, host_says(2))])
    doing, book, told = await dispatcher(fake, [job], inventory)
    await doing.dispatch()
    run, = [s for s in fake.sent if "docker" in s.argv and "run" in s.argv]
    at = run.argv.index("--env-file")
    assert run.argv[at:at + 3] == ("--env-file", "/dev/stdin", "busybox:1")
    assert run.input == b"TOKEN=s3cret-token\nDAY=from-file\nDAY=monday\n"  # env: after the file: it wins
    assert not any(secret in word for word in run.argv for secret in ("s3cret", "monday"))
    dump = b"".join(e.value for e in await book.store.list(""))
    assert b"s3cret" not in dump and b"monday" not in dump and (await book.get(1)).state == "running"
    assert not any("s3cret" in line or "monday" in line for line in told)


@pytest.mark.parametrize("name, template_env, env_file, reason", [
    ("the env file is gone", {"DAY": "monday"}, "missing.env",
     "job 1 (report): cannot read env_file {dir}/missing.env: No such file or directory"),
    ("the env file is not NAME=value: its line is named, not shown", {"DAY": "monday"}, "bad.env",
     "job 1 (report): env_file {dir}/bad.env line 2 is not NAME=value (the line is not shown: it may hold a secret)"),
    ("the template lost a variable", {}, None,
     "job 1 (report): template 'report' no longer has env DAY; its values are read from the inventory when an "
     "attempt starts: put them back or submit the job again"),
])
async def test_an_environment_that_cannot_be_read_fails_the_attempt_before_docker(tmp_path, name, template_env,
                                                                                    env_file, reason):
    from kob.spec.inventory_model import JobTemplate, frozen_mapping

    (tmp_path / "bad.env").write_bytes(b"A=1\nnot a pair with s3cret\n")
    inventory = replace(INVENTORY, jobs=(JobTemplate("report", "busybox:1", env=frozen_mapping(template_env)),))
    job = queued(template="report", env_names=("DAY",), env_file=str(tmp_path / env_file) if env_file else None)
    fake = ScriptedTransport([("*", OBSERVE, host_says(2))])
    doing, book, told = await dispatcher(fake, [job], inventory)
    await doing.dispatch()
    stored = await book.get(1)
    assert (stored.state, stored.attempts[-1].reason) == ("failed", reason.format(dir=tmp_path)), name
    assert not [c for c in fake.commands() if "docker run" in c]
    assert not any("s3cret" in line for line in told)


# -- timeout: enforced on the host ---------------------------------------------------------------------------------

async def test_a_job_with_a_timeout_starts_with_its_hosts_watchdog():
    from kob.commands.jobs import start_job_argv

    fake = ScriptedTransport([("*", OBSERVE, host_says(2))])
    doing, book, told = await dispatcher(fake, [queued(timeout=90.5)])
    await doing.dispatch()
    run = run_job_argv("shop", 1, 1, "busybox:1", ("echo", "hi"), None, None)
    assert fake.sent[-1].argv == tuple(start_job_argv(run, 90.5)) and fake.sent[-1].argv[5] == "91"


def ran_for(job_id: int, seconds: float, exit_code: int = 137) -> str:
    """A job container that ended ``seconds`` after it started, by docker's clock."""
    from datetime import datetime, timedelta, timezone

    start = datetime(2027, 1, 15, 8, 0, 1, 500000, tzinfo=timezone.utc)
    end = (start + timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return "\t".join([f"/kob-job-shop-{job_id}-1", str(job_id), "1", "exited", str(exit_code), "2027-01-15T08:00:01.5Z",
                      end, "false"])


@pytest.mark.parametrize("name, seconds, exit_code, reason", [
    ("stopped by its host's watchdog at the deadline", 60.25, 137, "timed out after 60 s (stopped on vm1)"),
    ("failed by itself before the deadline", 30, 1, "exit 1"),
    ("succeeded just in time", 59.9, 0, "exit 0"),
])
async def test_an_attempt_stopped_on_its_host_at_its_timeout_says_so(name, seconds, exit_code, reason):
    fake = ScriptedTransport([("vm1", OBSERVE, host_says(2, ran_for(1, seconds, exit_code))),
                              ("vm2", OBSERVE, host_says(2))])
    doing, book, told = await dispatcher(fake, [running(ago=30, timeout=60)])
    await doing.dispatch()
    attempt = (await book.get(1)).attempts[-1]
    assert (attempt.reason, attempt.exit_code) == (reason, exit_code), name
    assert attempt.docker_finished is not None


@pytest.mark.parametrize("text, expected", [
    ("2027-01-15T08:00:01Z", 1800000001.0),
    ("2027-01-15T08:00:01.123456789Z", 1800000001.123456),
    ("2027-01-15T09:00:01.5+01:00", 1800000001.5),
    ("0001-01-01T00:00:00Z", None),
    ("", None),
    ("yesterday", None),
])
def test_docker_instants(text, expected):
    from kob.jobs.dispatch import docker_instant

    assert docker_instant(text) == (pytest.approx(expected, abs=1e-6) if expected else None)
