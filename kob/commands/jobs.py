"""Docker commands for batch jobs as argv lists (pure).

A job's container is named ``kob-job-<owner>-<id>-<attempt>`` and labelled with all three
(the owner label of its inventory, see kob.identity.owner), so the hosts say which attempt of
which job of which inventory they run; the observation sees only its own inventory's. It is
not removed when it ends: kob reads its exit code and output first, then removes it.

``start_job_argv`` wraps `docker run` so that the host itself enforces a job's timeout: a
watchdog started beside the container waits for it (``docker wait``) at most until the
deadline, then kills it. It ends as soon as the container ends (or is removed), so it cannot
outlive it, and it needs nothing inside the image. A dispatcher pass still stops an attempt
past its deadline, should the watchdog be gone.
"""

from __future__ import annotations

import math

from kob.commands.docker import FIELD_SEP, IMAGES_FORMAT, IMAGES_MARK, LABEL_INVENTORY, LABEL_SERVICE

LABEL_JOB = "kob.job"
LABEL_ATTEMPT = "kob.attempt"
JOBS_MARK = "#kob-jobs"
SERVICES_MARK = "#kob-services"
CAPACITY_MARK = "#kob-capacity"
LOG_MAX_SIZE = "10m"  # docker's own json log of a job, on the host

JOB_FORMAT = FIELD_SEP.join([
    "{{.Name}}", f'{{{{index .Config.Labels "{LABEL_JOB}"}}}}', f'{{{{index .Config.Labels "{LABEL_ATTEMPT}"}}}}',
    "{{.State.Status}}", "{{.State.ExitCode}}", "{{.State.StartedAt}}", "{{.State.FinishedAt}}",
    "{{.State.OOMKilled}}",
])
# $1: the owner label: only the inventory's own job containers and service replicas are seen.
OBSERVE_SCRIPT = f"""\
echo '{CAPACITY_MARK}'; nproc; sed -n 's/^MemTotal: *\\([0-9]*\\) kB/\\1/p' /proc/meminfo
echo '{JOBS_MARK}'
ids=$(docker ps -aq --filter "label={LABEL_INVENTORY}=$1" --filter label={LABEL_JOB}) || exit 1
[ -z "$ids" ] || docker inspect --format '{JOB_FORMAT}' $ids || exit 1
echo '{SERVICES_MARK}'
docker ps -q --filter "label={LABEL_INVENTORY}=$1" --filter label={LABEL_SERVICE} --filter status=running | \
xargs -r docker inspect --format '{{{{index .Config.Labels "{LABEL_SERVICE}"}}}}'
echo '{IMAGES_MARK}'
docker image ls --no-trunc --format '{IMAGES_FORMAT}'
"""

# $1 the watchdog script, $2 the timeout in whole seconds ('' for none), then `docker run -d ...`: prints the
# container ID as docker run does (and fails as it does), then leaves the watchdog running on its own.
START_SCRIPT = """\
watchdog=$1 seconds=$2; shift 2
id=$("$@") || exit
echo "$id"
[ -z "$seconds" ] || setsid sh -c "$watchdog" kob-job-watchdog "$id" "$seconds" </dev/null >/dev/null 2>&1 &
"""
# $1 the container, $2 seconds: wait for it to end, at most until the deadline, then kill it. Without coreutils'
# timeout (or when docker wait fails) it polls once a second instead.
WATCHDOG_SCRIPT = """\
trap '' HUP
deadline=$(( $(date +%s) + $2 ))
while [ "$(docker inspect --format '{{.State.Running}}' "$1" 2>/dev/null)" = true ]; do
  left=$(( deadline - $(date +%s) ))
  if [ "$left" -le 0 ]; then docker kill "$1" >/dev/null 2>&1; exit 0; fi
  timeout "$left" docker wait "$1" >/dev/null 2>&1; waited=$?
  [ "$waited" = 0 ] || [ "$waited" = 124 ] || sleep 1
done
"""


def container_name(owner: str, job_id: int, attempt: int) -> str:
    return f"kob-job-{owner}-{job_id}-{attempt}"


def run_job_argv(owner: str, job_id: int, attempt: int, image: str, command: tuple[str, ...], cpus: float | None,
                 memory: int | None, *, env_from_stdin: bool = False) -> list[str]:
    """Start an attempt of a job of the ``owner`` inventory in the background; docker prints the container ID.
    Its environment, if any, comes on stdin (--env-file /dev/stdin), never in the command line."""
    argv = ["docker", "run", "-d", "--name", container_name(owner, job_id, attempt),
            "--label", f"{LABEL_INVENTORY}={owner}",
            "--label", f"{LABEL_JOB}={job_id}", "--label", f"{LABEL_ATTEMPT}={attempt}",
            "--log-opt", f"max-size={LOG_MAX_SIZE}"]
    if cpus is not None:
        argv += ["--cpus", f"{cpus:g}"]
    if memory is not None:
        argv += ["--memory", str(memory)]
    if env_from_stdin:
        argv += ["--env-file", "/dev/stdin"]
    return [*argv, image, *command]


def start_job_argv(run_argv: list[str], timeout: float | None) -> list[str]:
    """``run_argv`` (a `docker run -d`), with a watchdog on the host that kills the container ``timeout``
    seconds (rounded up) after it started; without a timeout, ``run_argv`` itself."""
    if timeout is None:
        return run_argv
    return ["sh", "-c", START_SCRIPT, "kob-job-start", WATCHDOG_SCRIPT, str(math.ceil(timeout)), *run_argv]


def observe_jobs_argv(owner: str) -> list[str]:
    """The host's CPU count and memory, the ``owner`` inventory's job containers and the replicas of its services
    running there, and the host's images."""
    return ["sh", "-c", OBSERVE_SCRIPT, "kob-observe-jobs", owner]


def collect_argv(name: str, keep_bytes: int) -> list[str]:
    """The end of an ended container's output (stdout and stderr), then the container removed."""
    script = 'docker logs "$1" 2>&1 | tail -c "$2"; docker rm -f "$1" >/dev/null'
    return ["sh", "-c", script, "sh", name, str(keep_bytes)]


def kill_argv(name: str) -> list[str]:
    """Stop a running attempt at once (its output stays readable until it is removed)."""
    return ["docker", "kill", name]


GONE_MARK = "#kob-gone"
FOLLOW_SCRIPT = f"""\
docker inspect --format . "$1" >/dev/null 2>&1 || {{ echo '{GONE_MARK}'; exit 0; }}
exec docker logs -f "$1" 2>&1
"""


def output_argv(name: str, follow: bool = False) -> list[str]:
    """A container's output so far (stdout and stderr together); with ``follow``, until it ends, or one line
    GONE_MARK when there is no such container (any more)."""
    if follow:
        return ["sh", "-c", FOLLOW_SCRIPT, "sh", name]
    return ["sh", "-c", 'docker logs "$1" 2>&1', "sh", name]


def remove_argv(names: list[str]) -> list[str]:
    return ["docker", "rm", "-f", *names]
