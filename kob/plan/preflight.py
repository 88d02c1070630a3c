"""Checks a deploy makes before it touches any host (pure): images, placement, the lb's ports.

Each returns the problems it finds as one-line messages; the caller refuses to go on if there are any.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Mapping, Protocol

from kob.facts.containers import HostObservation
from kob.plan.diff import DesiredService
from kob.spec.service_model import LoadBalancer

MANAGER = "manager"


@dataclass(frozen=True)
class ImageSource:
    """Where an image reference comes from, and the ID every host must have for it."""

    ref: str
    image_id: str
    origin: str  # MANAGER or a host name


class HostImages(Protocol):
    """What a host's observation says of its images (services' and jobs' observations both do)."""

    @property
    def images(self) -> Mapping[str, str]: ...  # ref → image ID


def image_sources(wants: list[DesiredService], hosts: Mapping[str, HostImages],
                  on_manager: Mapping[str, str]) -> tuple[dict[str, ImageSource], list[str]]:
    """ref → source for every image a service with replicas needs: the manager's ID first, else the hosts' one."""
    sources, problems = {}, []
    for ref in sorted({w.service.image for w in wants if w.replicas > 0}):
        names = ", ".join(sorted(w.service.name for w in wants if w.service.image == ref))
        found = image_source(ref, names, hosts, on_manager)
        if isinstance(found, ImageSource):
            sources[ref] = found
        else:
            problems.append(found)
    return sources, problems


def image_source(ref: str, users: str, hosts: Mapping[str, HostImages],
                 on_manager: Mapping[str, str]) -> ImageSource | str:
    """Where ``ref`` comes from: the manager's ID first, else the one ID the hosts have; else why not (a
    one-line problem naming ``users``, the services or jobs that need it)."""
    if ref in on_manager:
        return ImageSource(ref, on_manager[ref], MANAGER)
    holders: dict[str, list[str]] = {}
    for host, observation in hosts.items():
        if ref in observation.images:
            holders.setdefault(observation.images[ref], []).append(host)
    if not holders:
        return (f"image {ref} ({users}) is neither on the manager nor on any reachable host; "
                "build or `docker load` it on the manager or on one host")
    if len(holders) > 1:
        seen_as = ", ".join(f"{'/'.join(h)} {image_id[7:19]}" for image_id, h in sorted(holders.items()))
        return (f"image {ref} differs between hosts ({seen_as}) and the manager has none to settle "
                "it; remove the stale one or give the new build its own tag")
    (image_id, holders_of_it), = holders.items()
    return ImageSource(ref, image_id, holders_of_it[0])


def unplaceable(wants: list[DesiredService], unreachable: Mapping[str, str]) -> list[str]:
    """Services that want replicas but have no host to run on."""
    problems = []
    for want in wants:
        if want.replicas > 0 and not want.eligible:
            placement = want.service.placement
            rules = f"hosts: {placement.hosts}" + "".join(
                f", {c.label}{'==' if c.equal else '!='}{c.value}" for c in placement.constraints)
            down = f"; unreachable: {', '.join(sorted(unreachable))}" if unreachable else ""
            problems.append(f"{want.service.name}: no reachable host satisfies its placement ({rules}){down}")
    return problems


def port_clashes(lb: LoadBalancer | None, hosts: Mapping[str, HostObservation]) -> list[str]:
    """Frontend ports another program, or another inventory's load balancer, already holds on an lb host."""
    problems = []
    for host, observation in hosts.items():
        fact = observation.haproxy
        for frontend in lb.frontends if lb and fact else ():
            for port in frontend.ports():
                program = fact.port_taken_by(port)
                if program:
                    who = "a program ss cannot name" if program == "?" else program
                    problems.append(f"{host}: port {port} of frontend {frontend.name} is taken by {who}; "
                                    "free it or bind the frontend to another port")
    return problems


def expired_certificates(lb: LoadBalancer | None, now: float) -> list[str]:
    """TLS frontends whose certificate has ended (or not begun): HAProxy would serve it and clients refuse it."""
    problems = []
    for frontend in lb.frontends if lb else ():
        cert = frontend.tls.cert if frontend.tls else None
        if cert is None:
            continue
        where = f"{cert.path} (frontend {frontend.name}, line {frontend.tls.line})"
        if cert.not_after <= now:
            problems.append(f"{where}: the certificate expired on {_day(cert.not_after)}; renew it before deploying")
        elif cert.not_before > now:
            problems.append(f"{where}: the certificate is valid only from {_day(cert.not_before)}; check the "
                            "manager's clock or the certificate")
    return problems


def _day(seconds: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(seconds))
