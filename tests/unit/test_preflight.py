"""What a deploy refuses before touching any host: images, placement, the lb's ports (tables)."""

from __future__ import annotations

import pytest

from kob.facts.containers import HaproxyFact, HostObservation
from kob.plan.diff import DesiredService
from kob.plan.preflight import ImageSource, image_sources, port_clashes, unplaceable
from kob.spec.service_model import Constraint, Frontend, LoadBalancer, Placement, Service

A, B = "sha256:" + "a" * 64, "sha256:" + "b" * 64


def want(name="web", image="app:1", replicas=2, eligible=("vm1", "vm2"), placement=Placement()):
    return DesiredService(Service(name=name, image=image, placement=placement), replicas, 1, "0" * 64, eligible)


def host(name, images=None, haproxy=None):
    return HostObservation(name, (), dict(images or {}), haproxy)


@pytest.mark.parametrize("wants, hosts, on_manager, sources, problems", [
    ([want()], [host("vm1", {"app:1": A})], {}, {"app:1": ImageSource("app:1", A, "vm1")}, []),
    ([want()], [host("vm1", {"app:1": A})], {"app:1": B}, {"app:1": ImageSource("app:1", B, "manager")}, []),
    ([want()], [host("vm1"), host("vm2", {"app:1": A}), host("vm3", {"app:1": A})], {},
     {"app:1": ImageSource("app:1", A, "vm2")}, []),
    ([want(replicas=0)], [host("vm1")], {}, {}, []),  # nothing to run: no image needed
    ([want(), want("api")], [host("vm1")], {}, {},
     ["image app:1 (api, web) is neither on the manager nor on any reachable host; "
      "build or `docker load` it on the manager or on one host"]),
    ([want()], [host("vm1", {"app:1": A}), host("vm2", {"app:1": B})], {}, {},
     ["image app:1 differs between hosts (vm1 aaaaaaaaaaaa, vm2 bbbbbbbbbbbb) and the manager has none to settle "
      "it; remove the stale one or give the new build its own tag"]),
    ([want()], [host("vm1", {"app:1": A}), host("vm2", {"app:1": B})], {"app:1": A},
     {"app:1": ImageSource("app:1", A, "manager")}, []),
])
def test_image_sources(wants, hosts, on_manager, sources, problems):
    assert image_sources(wants, {h.host: h for h in hosts}, on_manager) == (sources, problems)


ZONE_C = Placement(hosts="workers", constraints=(Constraint("zone", True, "c"),))


@pytest.mark.parametrize("wants, unreachable, problems", [
    ([want()], {}, []),
    ([want(replicas=0, eligible=())], {}, []),
    ([want(eligible=(), placement=ZONE_C)], {}, ["web: no reachable host satisfies its placement "
                                                "(hosts: workers, zone==c)"]),
    ([want(eligible=())], {"vm1": "down"}, ["web: no reachable host satisfies its placement (hosts: all); "
                                           "unreachable: vm1"]),
])
def test_unplaceable(wants, unreachable, problems):
    assert unplaceable(wants, unreachable) == problems


LB = LoadBalancer(frontends=(Frontend("http", 80, default_service="web"), Frontend("admin", 8404,
                                                                                    default_service="web")))


def listening(running, *ports):
    return HaproxyFact(None, running, None, tuple(ports))


@pytest.mark.parametrize("lb, hosts, problems", [
    (LB, [host("vm1", haproxy=listening(False, (22, "sshd")))], []),
    (LB, [host("vm1", haproxy=listening(True, (80, "haproxy"), (8404, "haproxy")))], []),
    (LB, [host("vm1", haproxy=listening(False, (80, "nginx")))],
     ["vm1: port 80 of frontend http is taken by nginx; free it or bind the frontend to another port"]),
    (LB, [host("vm1", haproxy=listening(False, (8404, "?")))],
     ["vm1: port 8404 of frontend admin is taken by a program ss cannot name; free it or bind the frontend to "
      "another port"]),
    (LB, [host("vm2")], []),  # not an lb host: no HAProxy section
    (LB, [host("vm1", haproxy=HaproxyFact(None, False, None, None))], []),  # no ss there: cannot tell
    (None, [host("vm1", haproxy=listening(False, (80, "nginx")))], []),
])
def test_port_clashes(lb, hosts, problems):
    assert port_clashes(lb, {h.host: h for h in hosts}) == problems
