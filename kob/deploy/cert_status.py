"""When each TLS frontend's certificate expires, and whether the lb hosts serve it (pure).

The certificate is the inventory's PEM file, read on the manager; each lb host reports the sha256 of the file it
holds, so "serving" costs no command beyond the observation. A host that holds another file serves another
certificate (a deploy rotates it); a host that holds none has not been deployed to.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from kob.deploy.observe import ClusterObservation
from kob.spec.inventory import Inventory
from kob.spec.tls_model import expiry_note


@dataclass(frozen=True)
class CertStatus:
    frontend: str
    file: str
    subject: str
    names: tuple[str, ...]
    fingerprint: str
    not_after: float
    days_left: float
    warning: str | None  # "EXPIRED" | "expires in N days" (under 14) | None
    hosts: dict[str, str] = field(default_factory=dict)  # lb host → serving | other (deploy rotates) | missing

    def as_json(self) -> dict:
        return {"frontend": self.frontend, "file": self.file, "subject": self.subject, "names": list(self.names),
                "fingerprint": self.fingerprint, "not_after": self.not_after, "days_left": round(self.days_left, 2),
                "warning": self.warning, "hosts": self.hosts}


def certificate_statuses(inventory: Inventory, seen: ClusterObservation | None,
                         now: float | None = None) -> list[CertStatus]:
    """Each TLS frontend's certificate; with ``seen``, which lb hosts serve it."""
    now = time.time() if now is None else now
    statuses = []
    for frontend in inventory.lb.frontends if inventory.lb else ():
        if frontend.tls is None:
            continue
        cert = frontend.tls.cert
        hosts = {}
        for host, observation in seen.hosts.items() if seen else ():
            if observation.haproxy is not None:
                held = dict(observation.haproxy.certs or ()).get(f"{frontend.name}.pem")
                hosts[host] = "missing" if held is None else "serving" if held == cert.digest else "other"
        statuses.append(CertStatus(frontend.name, str(cert.path), cert.subject, cert.names, cert.fingerprint,
                                   cert.not_after, cert.days_left(now), expiry_note(cert.not_after, now), hosts))
    return statuses


def render_certificates(statuses: list[CertStatus]) -> str:
    """Lines for `kob status`; empty without TLS frontends."""
    if not statuses:
        return ""
    lines = [f"{'CERTIFICATE':<14} {'NOT AFTER':<20} {'DAYS':>6}  SUBJECT"]
    for s in statuses:
        day = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(s.not_after))
        lines.append(f"{s.frontend:<14} {day:<20} {s.days_left:>6.1f}  {s.subject}"
                     + (f"  ! {s.warning}" if s.warning else ""))
        for host, state in sorted(s.hosts.items()):
            if state != "serving":
                lines.append(f"  {host}: {'another certificate' if state == 'other' else 'not installed'}; "
                             "`kob deploy` installs this one")
    return "\n".join(lines)
