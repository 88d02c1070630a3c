"""The plan as tables: observed containers and desired services in, actions out."""

from __future__ import annotations

import pytest

from kob.facts.containers import ContainerFact, HostObservation
from kob.plan.actions import render_plan
from kob.plan.diff import DesiredService, diff
from kob.spec.service_model import Placement, Service

HOSTS = ["vm1", "vm2", "vm3"]
WEB = Service(name="web", image="kob-demo/web:2", port=80)


def fact(replica: int, spec: str = "h2", *, service: str = "web", port: int = 20000, state: str = "running",
         health: str | None = "healthy", image: str = "kob-demo/web:2", started: str = "t1") -> ContainerFact:
    return ContainerFact(id=f"{service}{replica}{spec}{port}", name=f"kob-{service}-{replica}", service=service,
                         replica=replica, revision=1, spec_hash=spec, host_port=port, state=state, health=health,
                         image_id="sha256:x", image=image, started_at=started, restarts=0, exit_code=0)


def observed(**by_host) -> dict[str, HostObservation]:
    return {host: HostObservation(host, tuple(by_host.get(host, ()))) for host in HOSTS}


def want(replicas: int, service: Service = WEB, eligible=tuple(HOSTS), spec: str = "h2") -> DesiredService:
    return DesiredService(service, replicas, revision=2, spec_hash=spec, eligible=eligible)


@pytest.mark.parametrize("name, desired, seen, expected", [
    ("fresh deploy spreads over hosts", [want(4)], observed(),
     ["+ web replica 1 on vm1", "+ web replica 2 on vm2", "+ web replica 3 on vm3", "+ web replica 4 on vm1"]),
    ("nothing to do", [want(2)], observed(vm1=[fact(1)], vm2=[fact(2)]), []),
    ("scale up fills the emptiest host", [want(3)], observed(vm1=[fact(1)], vm2=[fact(2)]),
     ["+ web replica 3 on vm3"]),
    ("scale down removes the highest slots", [want(1)], observed(vm1=[fact(1)], vm2=[fact(2)], vm3=[fact(3)]),
     ["- web replica 2 on vm2 (scale to 1)", "- web replica 3 on vm3 (scale to 1)"]),
    ("a new image replaces in place", [want(2)], observed(vm1=[fact(1, "h1", image="kob-demo/web:1")],
                                                        vm2=[fact(2, "h1", image="kob-demo/web:1")]),
     ["~ web replica 1 on vm1 (image kob-demo/web:1 → kob-demo/web:2)",
      "~ web replica 2 on vm2 (image kob-demo/web:1 → kob-demo/web:2)"]),
    ("other spec change", [want(1)], observed(vm1=[fact(1, "h1")]), ["~ web replica 1 on vm1 (spec changed)"]),
    ("an exited replica is replaced", [want(1)], observed(vm1=[fact(1, state="exited", health=None)]),
     ["~ web replica 1 on vm1 (not running (exited, exit 0))"]),
    ("duplicates keep the current healthy one", [want(1)],
     observed(vm1=[fact(1, "h1")], vm2=[fact(1, "h2", port=20001)]),
     ["- web replica 1 on vm1 (duplicate of replica 1)"]),
    ("removed services go", [want(1)], observed(vm1=[fact(1), fact(1, service="api", port=20001)]),
     ["- api replica 1 on vm1 (service not in the inventory)"]),
    ("an ineligible host's replica moves", [want(1, eligible=("vm2", "vm3"))], observed(vm1=[fact(1)]),
     ["~ web replica 1 on vm1 → vm2 (vm1 is no longer eligible)"]),
])
def test_plan(name, desired, seen, expected):
    plan = diff(desired, seen, HOSTS)
    assert [action.describe() for action in plan.actions] == expected, name
    assert plan.warnings == []


def test_max_per_host_leaves_unplaceable_replicas_as_warnings():
    service = Service(name="web", image="kob-demo/web:2", port=80, placement=Placement(max_per_host=1))
    plan = diff([want(4, service, eligible=("vm1", "vm2"))], observed(), HOSTS)
    assert [a.describe() for a in plan.actions] == ["+ web replica 1 on vm1", "+ web replica 2 on vm2"]
    assert plan.warnings == ["web replica 3: no eligible host has room (2 eligible, max_per_host 1)",
                             "web replica 4: no eligible host has room (2 eligible, max_per_host 1)"]


def test_least_loaded_uses_the_load_given():
    service = Service(name="web", image="kob-demo/web:2", port=80, placement=Placement(strategy="least-loaded"))
    plan = diff([want(2, service)], observed(), HOSTS, load={"vm1": 0.9, "vm2": 0.1, "vm3": 0.5})
    assert [a.describe() for a in plan.actions] == ["+ web replica 1 on vm2", "+ web replica 2 on vm2"]


def test_ports_are_the_lowest_free_on_each_host_and_kept_replicas_keep_theirs():
    plan = diff([want(3)], observed(vm1=[fact(1, port=20000), fact(9, service="api", port=20001)]), HOSTS)
    starts = [(a.start.replica, a.start.host, a.start.host_port) for a in plan.actions if hasattr(a, "start")]
    assert starts == [(2, "vm2", 20000), (3, "vm3", 20000)]
    replace = diff([want(1)], observed(vm1=[fact(1, "h1", port=20000)]), HOSTS).actions[0]
    assert replace.start.host_port == 20001, "a start-first replacement needs a second port"


def test_render_plan_summarises():
    plan = diff([want(2)], observed(vm1=[fact(1, "h1")], vm3=[fact(7)]), HOSTS)
    assert render_plan(plan.actions) == (
        "+ web replica 2 on vm2\n~ web replica 1 on vm1 (spec changed)\n- web replica 7 on vm3 (scale to 2)\n"
        "\nPlan: 1 to create, 1 to replace, 1 to remove.\n")
    assert render_plan([]) == "No changes: every service runs as the inventory asks.\n"


@pytest.mark.parametrize("avoid, removed", [
    (frozenset(), "- web replica 2 on vm2 (duplicate of replica 2)"),  # the newer start wins by default
    (frozenset({"vm3"}), "- web replica 2 on vm3 (duplicate of replica 2)"),  # a host back from down loses ties
])
def test_duplicates_on_a_returning_host_are_the_ones_removed(avoid, removed):
    seen = observed(vm1=[fact(1)], vm2=[fact(2, started="t1")], vm3=[fact(2, port=20001, started="t2")])
    plan = diff([want(2)], seen, HOSTS, avoid=avoid)
    assert [a.describe() for a in plan.actions] == [removed]


WEB2 = Service(name="web2", image="kob-demo/web:2", port=80)


@pytest.mark.parametrize("name, desired, seen, starts", [
    ("scaling one of two services keeps clear of the other's ports and leaves it alone",
     [want(3)], observed(vm1=[fact(1, port=20000), fact(1, service="web2", port=20001)], vm2=[fact(2, port=20000)]),
     {("web", 3, "vm3", 20000)}),
    ("three services on a host: the new replica takes the lowest port none of them holds",
     [want(3, eligible=("vm1",))],
     observed(vm1=[fact(1, port=20000), fact(2, port=20002), fact(1, service="web2", port=20001),
                   fact(1, service="api", port=20003)]),
     {("web", 3, "vm1", 20004)}),
    ("a service spreads its own replicas first, past the other's ports",
     [want(2, WEB2, eligible=("vm1", "vm2"))],
     observed(vm1=[fact(1, service="web2", port=20000)], vm2=[fact(1, port=20000), fact(2, port=20001)]),
     {("web2", 2, "vm2", 20002)}),
])
def test_a_scoped_plan_sees_the_services_it_leaves_alone(name, desired, seen, starts):
    plan = diff(desired, seen, HOSTS, scoped=True)
    assert {(a.start.service, a.start.replica, a.start.host, a.start.host_port) for a in plan.actions} == starts, name
    assert not [a for a in plan.actions if a.describe().startswith("-")], name


def test_ports_other_inventories_or_people_publish_are_never_given_out():
    seen = {"vm1": HostObservation("vm1", (), busy_ports=frozenset({20000, 20001, 20003}))}
    plan = diff([want(2, eligible=("vm1",))], seen, ["vm1"])
    assert [a.start.host_port for a in plan.actions] == [20002, 20004]


def test_an_adopted_container_of_an_earlier_kob_is_replaced_even_with_the_same_spec():
    earlier = fact(1)  # owner "": no kob.inventory label
    plan = diff([DesiredService(WEB, 1, revision=2, spec_hash="h2", eligible=("vm1",), owner="shop-1")],
                {"vm1": HostObservation("vm1", (earlier,))}, ["vm1"])
    assert [a.describe() for a in plan.actions] == [
        "~ web replica 1 on vm1 (adopted: started by an earlier kob, without an owner label)"]


def test_a_paused_replica_of_the_new_spec_loses_to_the_serving_one_of_its_slot():
    serving_old = fact(1, "h1", image="kob-demo/web:1")
    paused_new = fact(1, "h2", port=20001, state="exited", health=None)
    plan = diff([want(1)], observed(vm1=[serving_old, paused_new]), HOSTS)
    assert [a.describe() for a in plan.actions] == [
        "~ web replica 1 on vm1 (image kob-demo/web:1 → kob-demo/web:2)", "- web replica 1 on vm1 (duplicate of replica 1)"]
    assert plan.actions[1].container is paused_new
