"""The manager killed with SIGKILL mid-change (issue 13, point 5): `kob deploy` at 10 moments of a rolling
update, `kob scale` at 5 moments; after each kill the next command converges.

Converged means: each replica of the service runs exactly once (counted from the containers on the VMs,
stopped ones included, so a half-started or half-removed container counts as an orphan), all healthy and of
the wanted image, and HAProxy's servers (its runtime state and its config file) are exactly the running
replicas. A killed command's deploy lock names its pid on this machine, so the next command frees it at
once (a lock held from another machine would expire after its 10 s TTL instead).

The kill moments are spread over a rollout measured on this machine, so a slow or busy machine moves them
with it. How long each recovery took is printed (pytest -s shows it), never asserted.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from tests.helpers.lab_services import kob, on_vm, rolling_service

REPLICAS = 3
SERVICES = rolling_service(8089)
VMS = ("vm1", "vm2", "vm3")
FIRST_KILL = 0.2  # s after the command starts
LAST_KILL = 0.85  # of the measured duration
DEPLOY_KILLS = 10
SCALE_KILLS = 5
WAIT = "40"  # --wait: longer than the lock's TTL (10 s), in case the kill lands before the lock names a pid

recoveries: list[tuple[str, float]] = []


def write(path: Path, lab, image: str, replicas: int = REPLICAS) -> None:
    path.write_text(lab.layout.inventory.read_text() + SERVICES.format(image=image, replicas=replicas))


def ok(*args: str) -> subprocess.CompletedProcess:
    done = kob(*args, timeout=240)
    assert done.returncode == 0, done.stdout + done.stderr
    return done


@pytest.fixture(scope="module")
def inventory(lab, tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("kills") / "kills.yaml"
    write(path, lab, "1")
    ok("deploy", str(path), "--wait", WAIT)
    yield path
    kob("down", str(path), "--wait", WAIT, timeout=240)
    if recoveries:
        longest = max(recoveries, key=lambda r: r[1])
        print(f"\nrecovery after SIGKILL: longest {longest[1]:.1f} s ({longest[0]}); "
              f"all: {', '.join(f'{what} {s:.1f}' for what, s in recoveries)}")


def owner(lab) -> str:
    labels = set(on_vm(lab, "vm1", "docker ps -a --filter label=kob.service=web "
                                   "--format '{{.Label \"kob.inventory\"}}'").split())
    mine = {label for label in labels if label.startswith("kills-")}
    assert len(mine) == 1, labels
    return mine.pop()


def replica_containers(lab, me: str) -> list[tuple[str, int, str, str, str, int]]:
    """(host, replica, state, image, address, host port) of every container of the inventory's web."""
    found = []
    for vm in VMS:
        address = lab.state["vms"][vm]["address"]
        listing = on_vm(lab, vm, f"docker ps -a --filter label=kob.inventory={me} --filter label=kob.service=web "
                                 "--format '{{.Label \"kob.replica\"}} {{.State}} {{.Label \"kob.image\"}} "
                                 "{{.Label \"kob.port\"}}'")
        for line in listing.splitlines():
            replica, state, image, port = line.split()
            found.append((vm, int(replica), state, image, address, int(port)))
    return found


def haproxy_runtime(lab, me: str) -> set[tuple[str, int]]:
    sock = lab.layout.vm(1).run_dir / "haproxy" / f"kob-{me}.sock"
    reply = subprocess.run(["socat", "stdio", f"unix-connect:{sock}"], input="show servers state web\n",
                           capture_output=True, text=True, timeout=10, check=True).stdout
    rows = [line.split() for line in reply.splitlines()[1:] if line.strip() and not line.startswith("#")]
    return {(row[4], int(row[18])) for row in rows}


def haproxy_file(lab, me: str) -> set[tuple[str, int]]:
    text = (lab.layout.vm(1).dir / "etc-haproxy" / f"kob-{me}.cfg").read_text()
    servers = set()
    for line in text.splitlines():
        words = line.split()
        if words[:1] == ["server"]:
            address, _, port = words[2].rpartition(":")
            servers.add((address, int(port)))
    return servers


def assert_converged(lab, path: Path, image: str, replicas: int, what: str) -> None:
    me = owner(lab)
    found = replica_containers(lab, me)
    per_replica = Counter(replica for _, replica, *_ in found)
    assert per_replica == Counter(range(1, replicas + 1)), f"{what}: duplicates, gaps or orphans: {found}"
    assert {(state, img) for _, _, state, img, _, _ in found} == {("running", f"kob-demo/web:{image}")}, found
    web = json.loads(ok("status", str(path), "--json").stdout)["services"][0]
    assert (web["desired"], web["running"], web["healthy"]) == (replicas, replicas, replicas), web
    running = {(address, port) for _, _, _, _, address, port in found}
    assert haproxy_runtime(lab, me) == running, f"{what}: HAProxy's servers are not the running replicas"
    assert haproxy_file(lab, me) == running, f"{what}: HAProxy's config is not the running replicas"


def killed(argv: list[str], after: float) -> str:
    """Start `kob ARGV`, SIGKILL it ``after`` s later; whether it was still running then."""
    proc = subprocess.Popen([sys.executable, "-m", "kob", *argv], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        proc.wait(timeout=after)
        return f"ended by itself (rc {proc.returncode})"
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        return "killed"


def timed(*args: str) -> tuple[subprocess.CompletedProcess, float]:
    started = time.monotonic()
    done = ok(*args)
    return done, time.monotonic() - started


def plan_line(done: subprocess.CompletedProcess) -> str:
    """What the recovering command found to do."""
    plans = [line for line in done.stdout.splitlines() if line.startswith(("Plan:", "No changes"))]
    return plans[-1] if plans else "(no plan printed)"


def moments(count: int, duration: float) -> list[float]:
    """``count`` moments from FIRST_KILL to near the end of a command that took ``duration`` s, evenly spread.

    The last is at 85 % of it: the same command may run faster the next time on a busy machine, and a kill
    after its end tests nothing (each round prints whether its command was really killed)."""
    last = max(LAST_KILL * duration, FIRST_KILL + 0.1 * count)
    return [round(FIRST_KILL + (last - FIRST_KILL) * i / (count - 1), 2) for i in range(count)]


def test_1_deploy_killed_at_10_moments_of_a_rollout_then_the_next_deploy_converges(lab, inventory):
    write(inventory, lab, "2")
    _, rollout = timed("deploy", str(inventory), "--wait", WAIT)
    assert_converged(lab, inventory, "2", REPLICAS, "measured rollout")
    print(f"\na rolling update of {REPLICAS} replicas took {rollout:.1f} s (Python start-up included)")
    for n, moment in enumerate(moments(DEPLOY_KILLS, rollout), 1):
        image = "1" if n % 2 else "2"
        write(inventory, lab, image)
        fate = killed(["deploy", str(inventory), "--wait", WAIT], moment)
        done, took = timed("deploy", str(inventory), "--wait", WAIT)
        what = f"deploy kill {n} at {moment:.2f} s"
        recoveries.append((what, took))
        print(f"{what} ({fate}): the next deploy converged in {took:.1f} s; {plan_line(done)}")
        assert_converged(lab, inventory, image, REPLICAS, what)


def test_2_scale_killed_at_5_moments_then_the_next_scale_converges(lab, inventory):
    image = "2" if DEPLOY_KILLS % 2 == 0 else "1"
    write(inventory, lab, image)
    _, took = timed("scale", str(inventory), f"web={REPLICAS + 2}", "--wait", WAIT)
    assert_converged(lab, inventory, image, REPLICAS + 2, "measured scale")
    print(f"\nscaling {REPLICAS} → {REPLICAS + 2} took {took:.1f} s")
    counts = [REPLICAS + 2 + d for d in (-3, 2, -2, 1, -1)]  # down and up in turn (2, 7, 3, 6, 4 with 3 replicas)
    for n, (moment, count) in enumerate(zip(moments(SCALE_KILLS, took), counts), 1):
        fate = killed(["scale", str(inventory), f"web={count}", "--wait", WAIT], moment)
        done, took_again = timed("scale", str(inventory), f"web={count}", "--wait", WAIT)
        what = f"scale kill {n} (web={count}) at {moment:.2f} s"
        recoveries.append((what, took_again))
        print(f"{what} ({fate}): the next scale converged in {took_again:.1f} s; {plan_line(done)}")
        assert_converged(lab, inventory, image, count, what)
