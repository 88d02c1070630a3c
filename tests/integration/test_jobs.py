"""Batch jobs on the lab: real sshd, Docker and etcd (the Must-show list of the jobs issue).

The lab's VMs are declared with 2 CPUs each; every job reserves one.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections import Counter
from datetime import datetime
from pathlib import Path

import pytest

from tests.helpers.lab_services import kob, on_vm

JOBS = """
heal: {down_after: 3s}
jobs:
  wave:
    image: kob-demo/web:1
    command: [sh, -c, "echo start on $(hostname); sleep 6; echo done"]
    cpus: 1
  secretive:
    image: kob-demo/web:1
    command: [sh, -c, 'echo "got ${#TOKEN} ${TOKEN%%-*} ${GREETING%%-*}"']
    env: {GREETING: hello-inline-s3cret}
    env_file: job.env
"""
TOKEN = "tok-file-s3cret-42"  # in job.env beside the inventory
SECRETS = ("s3cret",)  # a part of both values that must show nowhere but in the container
CAPACITY = 6  # 3 VMs x 2 CPUs


def ok(*args: str, timeout: float = 180) -> str:
    done = kob(*args, timeout=timeout)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def jobs(inventory: Path) -> dict[int, dict]:
    return {j["id"]: j for j in json.loads(ok("job", "ls", str(inventory), "--all", "--json"))}


def submit(inventory: Path, *args: str) -> int:
    return int(re.match(r"jobs? (\d+)(?:-\d+)? queued", ok("job", "submit", str(inventory), *args))[1])


def until_done(inventory: Path, timeout: float = 120) -> str:
    return ok("job", "dispatch", str(inventory), "--until-done", "--every", "0.5", timeout=timeout)


def job_containers(lab, vm: str) -> list[str]:
    return on_vm(lab, vm, "docker ps -a --filter label=kob.job --format '{{.Names}}'").split()


@pytest.fixture(scope="module")
def inventory(lab, tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("jobs") / "jobs.yaml"
    hosts = re.sub(r"^(  vm\d+: \{)", r"\1cpus: 2, ", lab.layout.inventory.read_text(), flags=re.M)
    path.write_text(hosts + JOBS)
    (path.parent / "job.env").write_text(f"# the job's secret\nTOKEN={TOKEN}\n")
    return path


def _instant(text: str) -> float:
    return datetime.fromisoformat(re.sub(r"(\.\d{6})\d*", r"\1", text).replace("Z", "+00:00")).timestamp()


def most_at_once(spans: list[tuple[float, float]]) -> int:
    return max(sum(1 for start, end in spans if start <= moment < end) for moment, _ in spans)


def test_twelve_one_cpu_jobs_never_exceed_the_capacity_and_all_succeed(inventory):
    first = submit(inventory, "--template", "wave", "--count", "12")
    ids = list(range(first, first + 12))
    until_done(inventory)
    found = jobs(inventory)
    assert [found[i]["state"] for i in ids] == ["succeeded"] * 12
    attempts = [found[i]["attempts"][-1] for i in ids]
    spans = [(_instant(a["docker_started"]), _instant(a["docker_finished"])) for a in attempts]
    assert most_at_once(spans) == CAPACITY  # the first wave filled every CPU (6 s is room to start it), never more
    for host in ("vm1", "vm2", "vm3"):
        mine = [span for span, a in zip(spans, attempts) if a["host"] == host]
        assert mine and most_at_once(mine) <= 2, host
    for job_id in ids:
        log = ok("job", "logs", str(inventory), str(job_id))
        assert log.startswith("start on ") and log.rstrip().endswith("done")


def test_concurrent_dispatchers_start_each_job_once(inventory):
    ids = [submit(inventory, "--image", "kob-demo/web:1", "--cpus", "0.5", "--", "sh", "-c", "sleep 1; echo once")
           for _ in range(6)]
    runs = [subprocess.Popen([sys.executable, "-m", "kob", "job", "dispatch", str(inventory), "--until-done",
                              "--every", "0.3"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            for _ in range(3)]
    outputs = [run.communicate(timeout=120)[0] for run in runs]
    assert all(run.returncode == 0 for run in runs), outputs
    found = jobs(inventory)
    assert [(found[i]["state"], found[i]["tries"]) for i in ids] == [("succeeded", 1)] * 6
    started_lines = [line for out in outputs for line in out.splitlines() if " started on " in line]
    assert sorted(int(line.split()[1]) for line in started_lines) == ids  # each job started by exactly one of them


def test_a_failing_job_is_retried_then_failed_with_its_exit_code(inventory):
    job_id = submit(inventory, "--image", "kob-demo/web:1", "--retries", "1", "--backoff", "1s", "--name", "broken",
                    "--", "sh", "-c", "echo trying; exit 3")
    until_done(inventory)
    job = jobs(inventory)[job_id]
    assert job["state"] == "failed" and job["exit_code"] == 3
    assert [(a["outcome"], a["exit_code"]) for a in job["attempts"]] == [("failed", 3), ("failed", 3)]
    assert job["attempts"][0]["host"] != job["attempts"][1]["host"]  # a retry goes elsewhere when it can
    assert ok("job", "logs", str(inventory), str(job_id), "--attempt", "1") == "trying\n"
    assert "exit 3" in ok("job", "show", str(inventory), str(job_id))


def test_a_cancelled_running_job_stops_on_its_host(lab, inventory):
    job_id = submit(inventory, "--image", "kob-demo/web:1", "--name", "sleeper", "--", "sleep", "300")
    ok("job", "dispatch", str(inventory))
    host, name = jobs(inventory)[job_id]["host"], jobs(inventory)[job_id]["attempts"][0]["container"]
    assert re.fullmatch(rf"kob-job-jobs-[0-9a-f]{{8}}-{job_id}-1", name), name  # its inventory's owner label
    assert name in job_containers(lab, host)
    assert ok("job", "cancel", str(inventory), str(job_id)).splitlines()[-1] == f"job {job_id}: cancelled"
    assert name not in job_containers(lab, host)
    assert jobs(inventory)[job_id]["attempts"][0]["outcome"] == "cancelled"
    done = kob("job", "cancel", str(inventory), str(job_id))
    assert done.returncode == 1 and "already ended: cancelled" in done.stderr


def test_a_job_on_a_stopped_vm_is_lost_and_retried_elsewhere(lab, inventory):
    job_id = submit(inventory, "--image", "kob-demo/web:1", "--name", "survivor", "--retries", "1", "--backoff", "0s",
                    "--", "sh", "-c", "sleep 15; echo survived on $(hostname)")  # still running when its VM stops
    ok("job", "dispatch", str(inventory))
    first = jobs(inventory)[job_id]["host"]
    lab.stop_vm(first)
    try:
        until_done(inventory)
        job = jobs(inventory)[job_id]
        assert [a["outcome"] for a in job["attempts"]] == ["lost", "succeeded"]
        assert "has not answered" in job["attempts"][0]["reason"]
        assert job["attempts"][1]["host"] != first and job["state"] == "succeeded"
        assert "survived on" in ok("job", "logs", str(inventory), str(job_id))
    finally:
        lab.start_vm(first)
    submit(inventory, "--template", "wave")  # any pass with work to do tidies the returned VM
    until_done(inventory)
    assert job_containers(lab, first) == []  # the lost attempt's container was removed when its VM came back
    events = ok("events", str(inventory), "--kind", "job", "-n", "200")
    assert f"job {job_id} (survivor) on {first}: lost" in events
    assert Counter(j["state"] for j in jobs(inventory).values())["running"] == 0


def manager_docker(lab) -> dict[str, str]:
    """The environment of a kob whose "own" Docker (the manager's) is vm1's."""
    return {"DOCKER_HOST": f"unix://{lab.layout.vm(1).docker_socket}"}


def test_a_job_image_built_on_the_manager_only_travels_to_its_host(lab, inventory):
    ref = "kob-demo/job-built:1"
    on_vm(lab, "vm1", f"printf 'FROM kob-demo/web:1\\nLABEL variant=job\\n' | docker build -q -t {ref} -")
    built = on_vm(lab, "vm1", f"docker image inspect --format '{{{{.Id}}}}' {ref}").strip()
    job_id = submit(inventory, "--image", ref, "--constraint", "role!=lb", "--", "sh", "-c", "echo built here")
    done = kob("job", "dispatch", str(inventory), "--until-done", "--every", "0.5", env=manager_docker(lab))
    assert done.returncode == 0, done.stdout + done.stderr
    job = jobs(inventory)[job_id]
    assert job["state"] == "succeeded", job
    host = job["host"]
    assert f"  image {ref}: manager → {host} ..." in done.stdout.splitlines()
    # the job image shares kob-demo/web's layers, which the host has: those stay behind
    assert re.search(rf"^  image {re.escape(ref)}: manager → {host}: 0\.[0-9] MB in [0-9.]+ s, it had .*layers$",
                     done.stdout, re.MULTILINE), done.stdout
    assert on_vm(lab, host, f"docker image inspect --format '{{{{.Id}}}}' {ref}").strip() == built
    other = ({"vm2", "vm3"} - {host}).pop()
    assert ref not in on_vm(lab, other, "docker image ls --format '{{.Repository}}:{{.Tag}}'").split()
    assert ok("job", "logs", str(inventory), str(job_id)) == "built here\n"


async def _store_dump(inventory: Path) -> str:
    from kob.spec.inventory import load_inventory
    from kob.store import open_store

    async with open_store(load_inventory(str(inventory)).state_url) as store:
        entries = await store.list("")
        events = await store.events(0, 100000)
    return "".join(e.key + e.value.decode(errors="replace") for e in entries) + "".join(
        f"{e.kind} {e.message} {json.dumps(e.fields)}" for e in events)


def test_env_and_env_file_reach_the_job_and_show_nowhere(lab, inventory):
    import asyncio

    job_id = submit(inventory, "--template", "secretive", "--constraint", "role!=lb")
    dispatched = until_done(inventory)
    job = jobs(inventory)[job_id]
    assert job["state"] == "succeeded", job
    assert ok("job", "logs", str(inventory), str(job_id)) == "got 18 tok hello\n"  # both values arrived
    shown = ok("job", "show", str(inventory), str(job_id))
    assert "env GREETING (template secretive)" in shown and "job.env" in shown and "values are not shown" in shown
    said = [dispatched, shown, ok("job", "ls", str(inventory), "--all"), ok("job", "ls", str(inventory), "--json"),
            ok("events", str(inventory), "-n", "500"), asyncio.run(_store_dump(inventory))]
    for text in said:
        for secret in SECRETS:
            assert secret not in text


def watchdogs_of(container: str = "") -> list[str]:
    """Watchdog processes of ``container`` (its ID; default: of any) on this machine (the lab's VMs share its
    process table)."""
    found = []
    for proc in Path("/proc").iterdir():
        try:
            words = (proc / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"kob-job-watchdog" in words and (not container or container.encode() in words):
            found.append(proc.name)
    return found


def eventually(check, limit: float = 90.0) -> bool:
    import time

    deadline = time.monotonic() + limit
    while not check():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.5)
    return True


def test_a_timeout_is_enforced_on_the_host_with_no_dispatcher_running(lab, inventory):
    job_id = submit(inventory, "--image", "kob-demo/web:1", "--timeout", "3s", "--name", "slow", "--", "sleep", "600")
    ok("job", "dispatch", str(inventory))  # one pass starts it; no other pass runs until it has ended
    host, name = jobs(inventory)[job_id]["host"], jobs(inventory)[job_id]["attempts"][0]["container"]

    def state() -> str:
        return on_vm(lab, host, f"docker inspect --format '{{{{.State.Status}}}} {{{{.State.ExitCode}}}}' {name}").strip()

    container_id = on_vm(lab, host, f"docker inspect --format '{{{{.Id}}}}' {name}").strip()
    assert eventually(lambda: state() != "running 0"), "the job ran on past its timeout"
    assert state() == "exited 137"  # killed by the host, well before its sleep 600 ended
    assert eventually(lambda: not watchdogs_of(container_id)), "the watchdog outlived the container"
    until_done(inventory)
    attempt = jobs(inventory)[job_id]["attempts"][-1]
    assert (attempt["outcome"], attempt["exit_code"]) == ("failed", 137)
    assert attempt["reason"] == f"timed out after 3 s (stopped on {host})"
    assert name not in job_containers(lab, host)


def test_a_job_that_ends_before_its_timeout_leaves_no_watchdog(lab, inventory):
    job_id = submit(inventory, "--image", "kob-demo/web:1", "--timeout", "10m", "--", "sh", "-c", "sleep 1; echo ok")
    until_done(inventory)
    assert jobs(inventory)[job_id]["state"] == "succeeded"
    assert eventually(lambda: not watchdogs_of()), "a watchdog outlived its container"  # only this branch has them


def test_logs_follow_a_job_into_its_retries(inventory):
    job_id = submit(inventory, "--image", "kob-demo/web:1", "--retries", "2", "--backoff", "0s", "--name", "flaky",
                    "--", "sh", "-c", "echo trying; sleep 2; echo giving up; exit 3")
    follower = subprocess.Popen([sys.executable, "-m", "kob", "job", "logs", str(inventory), str(job_id), "-f"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        until_done(inventory)
        out, err = follower.communicate(timeout=120)  # it ends by itself after the last try
    finally:
        follower.kill()
    assert follower.returncode == 0, err
    job = jobs(inventory)[job_id]
    hosts = [a["host"] for a in job["attempts"]]
    assert [a["outcome"] for a in job["attempts"]] == ["failed"] * 3
    expected = []
    for number, host in enumerate(hosts, 1):
        if number > 1:
            expected.append(f"--- job {job_id}, attempt {number} on {host} ---")
        expected += ["trying", "giving up"]
    assert out.splitlines() == expected, repr(out)
