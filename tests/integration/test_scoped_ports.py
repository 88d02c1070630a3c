"""Scoped changes (scale, rollback, reconcile, autoscale) on hosts that run two or three services (lab).

The bug this guards (issue 18.0): a scoped change planned on an observation cut down to its own
service, so the new replica took a host port another service of the same inventory held there.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.helpers.lab_services import kob, on_vm

SERVICES = """
services:
  web: {{image: "kob-demo/web:{image}", replicas: {web}, port: 80, placement: {{hosts: "vm[23]"}}}}
  web2: {{image: kob-demo/web:1, replicas: 1, port: 80, placement: {{hosts: "vm[23]"}}}}
{third}"""
THIRD = ("  web3: {{image: kob-demo/web:1, port: 80, placement: {{hosts: \"vm[23]\"}},\n"
         "         autoscale: {{min: {least}, max: 4, cpu: 95}}}}\n")


def write(path: Path, lab, web: int = 2, image: str = "1", third: int = 0) -> None:
    """web and web2, and with ``third`` web3 autoscaled from that many replicas up."""
    path.write_text(lab.layout.inventory.read_text() + SERVICES.format(
        web=web, image=image, third=THIRD.format(least=third) if third else ""))


def ok(*args: str) -> str:
    done = kob(*args, timeout=240)
    assert done.returncode == 0, f"kob {' '.join(args)}:\n{done.stdout}{done.stderr}"
    return done.stdout


def ports_clash_free(inventory: Path) -> dict[str, int]:
    """Every replica running and healthy, and no two replicas of any services on one host share a port."""
    services = json.loads(ok("status", str(inventory), "--json"))["services"]
    seen: dict[tuple[str, int], str] = {}
    for service in services:
        assert service["running"] == service["desired"], service
        for replica in service["replicas"]:
            key = (replica["host"], replica["host_port"])
            assert key not in seen, f"{service['service']} and {seen[key]} share {key}"
            seen[key] = service["service"]
    return {s["service"]: s["running"] for s in services}


def created_left_behind(lab) -> list[str]:
    return [line for vm in ("vm2", "vm3")
            for line in on_vm(lab, vm, "docker ps -a --filter status=created --format '{{.Names}}'").split()]


@pytest.fixture(scope="module")
def inventory(lab, tmp_path_factory):
    path = tmp_path_factory.mktemp("scoped") / "scoped.yaml"
    write(path, lab)
    ok("deploy", str(path), "--wait", "30")
    yield path
    kob("down", str(path), "--wait", "30")


def test_1_scaling_one_of_two_services_per_host(lab, inventory):
    ok("scale", str(inventory), "web=3", "--wait", "30")
    assert ports_clash_free(inventory) == {"web": 3, "web2": 1}
    assert created_left_behind(lab) == []


def test_2_three_services_per_host_scale_and_a_raised_autoscale_minimum(lab, inventory):
    write(inventory, lab, web=3, third=2)
    ok("deploy", str(inventory), "--wait", "30")
    ok("scale", str(inventory), "web=5", "--wait", "30")
    assert ports_clash_free(inventory) == {"web": 5, "web2": 1, "web3": 2}
    write(inventory, lab, web=3, third=3)  # a higher min: autoscale counts 3, and a reconcile pass starts it
    assert "web3: stays at 3" in ok("autoscale", str(inventory))
    assert "+ web3 replica 3 on" in ok("reconcile", str(inventory))
    assert ports_clash_free(inventory) == {"web": 5, "web2": 1, "web3": 3}
    assert created_left_behind(lab) == []


def test_3_rollback_of_one_service_among_three(lab, inventory):
    write(inventory, lab, web=5, image="2", third=3)
    ok("deploy", str(inventory), "--wait", "30")
    ok("rollback", str(inventory), "web", "--wait", "30")
    assert ports_clash_free(inventory) == {"web": 5, "web2": 1, "web3": 3}
    images = {r["image"] for s in json.loads(ok("status", str(inventory), "--json"))["services"]
              if s["service"] == "web" for r in s["replicas"]}
    assert images == {"kob-demo/web:1"}, images


def test_4_reconcile_replaces_a_killed_replica_beside_two_other_services(lab, inventory):
    victim = on_vm(lab, "vm2", "docker ps -q --filter label=kob.service=web2 --filter label=kob.replica=1").split()
    host = "vm2" if victim else "vm3"
    on_vm(lab, host, "docker kill $(docker ps -q --filter label=kob.service=web2)")
    ok("reconcile", str(inventory))
    assert ports_clash_free(inventory) == {"web": 5, "web2": 1, "web3": 3}
    assert created_left_behind(lab) == []
