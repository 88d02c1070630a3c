"""Taking over what an earlier kob left on the hosts without owner labels (`kob adopt`).

kob before owner labels (kob.identity.owner) labelled containers only with their service, and ran
one HAProxy per lb host from /etc/haproxy/haproxy.cfg. Observations report such containers as
``legacy`` and every deploy leaves them alone. ``adopted`` hands those of the inventory's services
to a deploy as its own, marked by their empty owner so that the plan replaces each (a rolling
update), and hides the old HAProxy's hold on the frontend ports: the deploy starts the inventory's
own HAProxy beside it (both bind with SO_REUSEPORT), then stops the old one.
"""

from __future__ import annotations

import dataclasses

from kob.commands.haproxy import LEGACY
from kob.deploy.observe import ClusterObservation
from kob.facts.containers import HaproxyFact, HostObservation

LEGACY_CONFIG_NAME = LEGACY.config.rpartition("/")[2]


def adopted(seen: ClusterObservation, services: set[str]) -> ClusterObservation:
    """``seen`` with the legacy containers of ``services`` counted as the inventory's own."""
    hosts = {host: _adopt_host(observation, services) for host, observation in seen.hosts.items()}
    return ClusterObservation(hosts=hosts, unreachable=dict(seen.unreachable))


def _adopt_host(observation: HostObservation, services: set[str]) -> HostObservation:
    taken = tuple(c for c in observation.legacy if c.service in services)
    left = tuple(c for c in observation.legacy if c.service not in services)
    haproxy = _without_legacy_balancer(observation.haproxy) if observation.haproxy else None
    return dataclasses.replace(observation, containers=observation.containers + taken, legacy=left,
                               busy_ports=observation.busy_ports - {c.host_port for c in taken}, haproxy=haproxy)


def _without_legacy_balancer(fact: HaproxyFact) -> HaproxyFact:
    legacy_ports = {port for config, ports in fact.others if config == LEGACY_CONFIG_NAME for port in ports}
    others = tuple(entry for entry in fact.others if entry[0] != LEGACY_CONFIG_NAME)
    listeners = None if fact.listeners is None else tuple(
        (port, program) for port, program in fact.listeners if not (port in legacy_ports and program == "haproxy"))
    return dataclasses.replace(fact, others=others, listeners=listeners)
