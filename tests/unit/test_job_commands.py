"""Job argv builders and the job observation parser (pure), as tables."""

from __future__ import annotations

from collections import Counter

import pytest

from kob.commands.jobs import (
    JOB_FORMAT,
    START_SCRIPT,
    WATCHDOG_SCRIPT,
    collect_argv,
    container_name,
    kill_argv,
    observe_jobs_argv,
    output_argv,
    remove_argv,
    run_job_argv,
    start_job_argv,
)
from kob.facts.containers import ObservationError
from kob.facts.jobs import JobContainer, parse_host_jobs

BASE = ["docker", "run", "-d", "--name", "kob-job-shop-7-2", "--label", "kob.inventory=shop", "--label", "kob.job=7",
        "--label", "kob.attempt=2",
        "--log-opt", "max-size=10m"]


@pytest.mark.parametrize("args, expected", [
    (("shop", 7, 2, "busybox:1", (), None, None), [*BASE, "busybox:1"]),
    (("shop", 7, 2, "busybox:1", ("sh", "-c", "echo $HOME; rm -rf /"), None, None),
     [*BASE, "busybox:1", "sh", "-c", "echo $HOME; rm -rf /"]),  # words stay words: the transport quotes them
    (("shop", 7, 2, "img", ("true",), 1.5, None), [*BASE, "--cpus", "1.5", "img", "true"]),
    (("shop", 7, 2, "img", ("true",), 2.0, 268435456), [*BASE, "--cpus", "2", "--memory", "268435456", "img", "true"]),
])
def test_run_job_argv(args, expected):
    assert run_job_argv(*args) == expected


def test_env_comes_on_stdin_never_in_the_command_line():
    assert run_job_argv("shop", 7, 2, "img", ("true",), None, None, env_from_stdin=True) == [
        *BASE, "--env-file", "/dev/stdin", "img", "true"]


@pytest.mark.parametrize("timeout, seconds", [(60.0, "60"), (0.2, "1"), (90.5, "91"), (86400.0, "86400")])
def test_a_timeout_wraps_docker_run_with_the_hosts_watchdog(timeout, seconds):
    run = run_job_argv("shop", 7, 2, "img", ("true",), None, None)
    assert start_job_argv(run, timeout) == ["sh", "-c", START_SCRIPT, "kob-job-start", WATCHDOG_SCRIPT, seconds, *run]
    assert "setsid" in START_SCRIPT and "docker wait" in WATCHDOG_SCRIPT and "docker kill" in WATCHDOG_SCRIPT


@pytest.mark.parametrize("built, expected", [
    (container_name("shop-0a1b2c3d", 12, 3), "kob-job-shop-0a1b2c3d-12-3"),
    (kill_argv("kob-job-1-1"), ["docker", "kill", "kob-job-1-1"]),
    (remove_argv(["a", "b"]), ["docker", "rm", "-f", "a", "b"]),
    (collect_argv("kob-job-1-1", 65536),
     ["sh", "-c", 'docker logs "$1" 2>&1 | tail -c "$2"; docker rm -f "$1" >/dev/null', "sh", "kob-job-1-1", "65536"]),
    (output_argv("kob-job-1-1"), ["sh", "-c", 'docker logs "$1" 2>&1', "sh", "kob-job-1-1"]),
    (output_argv("kob-job-1-1", follow=True),
     ["sh", "-c", ('docker inspect --format . "$1" >/dev/null 2>&1 || { echo \'#kob-gone\'; exit 0; }\n'
                   'exec docker logs -f "$1" 2>&1\n'), "sh", "kob-job-1-1"]),
])
def test_small_builders(built, expected):
    assert built == expected


def test_the_observation_reads_capacity_jobs_and_services_and_never_size():
    argv = observe_jobs_argv("shop-0a1b2c3d")
    assert argv[:2] == ["sh", "-c"] and ".Size" not in argv[2] and "docker stats" not in argv[2]
    assert argv[3:] == ["kob-observe-jobs", "shop-0a1b2c3d"], "the owner is an argument, never in the script"
    assert argv[2].count('--filter "label=kob.inventory=$1"') == 2, "jobs and replicas of this inventory only"
    assert "nproc" in argv[2] and JOB_FORMAT in argv[2]


OUTPUT = """\
#kob-capacity
2
16384000
#kob-jobs
/kob-job-3-1\t3\t1\texited\t0\t2026-11-23T10:00:00.1Z\t2026-11-23T10:00:03.2Z\tfalse
/kob-job-4-2\t4\t2\trunning\t0\t2026-11-23T10:00:01Z\t0001-01-01T00:00:00Z\tfalse
/kob-job-5-1\t5\t1\texited\t137\t2026-11-23T10:00:01Z\t2026-11-23T10:00:02Z\ttrue
#kob-services
web
web
api
#kob-images
sha256:1111	busybox:1
sha256:2222	kob-demo/web:1
"""


def test_parse_host_jobs():
    found = parse_host_jobs("vm1", OUTPUT)
    assert (found.cpus, found.memory) == (2, 16384000 * 1024)
    assert found.services == Counter({"web": 2, "api": 1})
    assert dict(found.images) == {"busybox:1": "sha256:1111", "kob-demo/web:1": "sha256:2222"}
    assert found.has_image("sha256:2222") and not found.has_image("sha256:3333")
    assert found.container("kob-job-3-1") == JobContainer("kob-job-3-1", 3, 1, "exited", 0, "2026-11-23T10:00:00.1Z",
                                                          "2026-11-23T10:00:03.2Z", False)
    assert [(c.name, c.ended, c.oom_killed) for c in found.containers] == [
        ("kob-job-3-1", True, False), ("kob-job-4-2", False, False), ("kob-job-5-1", True, True)]
    assert found.container("kob-job-9-1") is None


@pytest.mark.parametrize("output, message", [
    ("", "unexpected output"),
    ("#kob-capacity\n#kob-jobs\n#kob-services\n", "unexpected output"),  # no images section
    ("#kob-capacity\n#kob-jobs\n#kob-services\n#kob-images\n", "cannot read its CPU count"),
    ("#kob-capacity\ntwo\n100\n#kob-jobs\n#kob-services\n#kob-images\n", "cannot read its CPU count"),
    ("#kob-capacity\n2\n100\n#kob-jobs\n/x\t3\n#kob-services\n#kob-images\n", "cannot read job container line"),
    ("#kob-capacity\n2\n100\n#kob-jobs\n/x\tthree\t1\texited\t0\ta\tb\tfalse\n#kob-services\n#kob-images\n",
     "cannot read job container line"),
])
def test_parse_errors_name_the_host(output, message):
    with pytest.raises(ObservationError, match=f"^vm2: {message}"):
        parse_host_jobs("vm2", output)
