"""Benchmark: a first deploy and a no-op deploy of 20 replicas on 10 lab VMs, HAProxy in front.

    .venv/bin/python bench/deploy.py [--vms 10] [--replicas 20] [--rounds 5]

Brings up its own lab (network 1, /var/lib/kob-bench-lab) and takes it down.
Each round, interleaved so that drift hits every way alike:
  first deploy    `kob -v deploy` from nothing (containers, health waits, HAProxy start)
  script deploy   the baseline for it: one `ssh VM docker run -d ...` per replica, one after another,
                  no health wait and no load balancer (what a shell loop does)
  no-op deploy    `kob -v deploy` again with nothing changed
  kob exec true   the baseline for it: one SSH command per host, the floor of any run
then everything is removed again. Prints medians, ratios to the baseline, and SSH commands per host.
"""

from __future__ import annotations

import argparse
import re
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from common import kob
from kob.lab.lab import Lab
from kob.lab.layout import LabLayout

SERVICES = """
services:
  web:
    image: kob-demo/web:1
    replicas: {replicas}
    port: 80
    healthcheck: {{http: /healthz, interval: 500ms, timeout: 1s, retries: 2}}
lb:
  frontends:
    http: {{bind: 8080, default: web}}
"""


def ssh(lab: Lab, address: str, command: str) -> None:
    subprocess.run(["ssh", "-i", str(lab.layout.client_key), "-o", f"UserKnownHostsFile={lab.layout.known_hosts}",
                    "-o", "BatchMode=yes", f"root@{address}", command], check=True, capture_output=True)


def timed(fn) -> tuple[float, object]:
    start = time.perf_counter()
    out = fn()
    return time.perf_counter() - start, out


def ssh_per_host(output: str) -> str:
    match = re.search(r"^ssh commands: (\d+) \((.*)\)$", output, re.M)
    counts = [int(n) for n in re.findall(r" (\d+)(?:,|$)", match[2])]
    return f"{match[1]} in all, {min(counts)}-{max(counts)} per host"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--vms", type=int, default=10)
    parser.add_argument("--replicas", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    lab = Lab(LabLayout(Path("/var/lib/kob-bench-lab"), net=1))
    scratch = tempfile.TemporaryDirectory(prefix="kob-bench-deploy-")
    try:
        lab.up(args.vms)
        base = lab.layout.inventory.read_text()
        inventory = Path(scratch.name) / "inventory.yaml"  # not in the lab dir: `lab down` removes only its own
        addresses = [vm["address"] for vm in lab.state["vms"].values()]

        def script_deploy() -> None:
            for n in range(args.replicas):
                ssh(lab, addresses[n % len(addresses)],
                    f"docker run -d --name bench-{n} -p {21000 + n}:80 kob-demo/web:1 >/dev/null")

        def clean() -> None:
            kob("down", str(inventory))
            kob("exec", str(inventory), "docker rm -f $(docker ps -aq --filter name=bench-) >/dev/null 2>&1; true")

        samples: dict[str, list[float]] = {"first deploy": [], "script deploy": [], "no-op deploy": [],
                                           "kob exec true": []}
        counts: dict[str, str] = {}
        clean()
        for _ in range(args.rounds):
            inventory.write_text(base + SERVICES.format(replicas=args.replicas))
            took, out = timed(lambda: kob("-v", "deploy", str(inventory)))
            samples["first deploy"].append(took)
            counts["first deploy"] = ssh_per_host(out)
            took, out = timed(lambda: kob("-v", "deploy", str(inventory)))
            assert "No changes" in out, out
            samples["no-op deploy"].append(took)
            counts["no-op deploy"] = ssh_per_host(out)
            samples["kob exec true"].append(timed(lambda: kob("exec", str(inventory), "true"))[0])
            samples["script deploy"].append(timed(script_deploy)[0])
            clean()
        print(f"{args.replicas} replicas on {args.vms} VMs, {args.rounds} rounds, median wall time")
        for name, baseline in (("first deploy", "script deploy"), ("no-op deploy", "kob exec true")):
            for way in (name, baseline):
                median = statistics.median(samples[way])
                ratio = median / statistics.median(samples[baseline])
                extra = f"   ssh commands: {counts[way]}" if way in counts else ""
                print(f"  {way:<14} {median * 1000:8.0f} ms   x{ratio:5.2f} of {baseline}{extra}")
    finally:
        lab.down()
        scratch.cleanup()


if __name__ == "__main__":
    main()
