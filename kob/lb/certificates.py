"""TLS frontends' certificates on the lb hosts: shipped where the host's file differs, rotated without a reload.

The PEM leaves the manager only on the stdin of ``install_cert_argv``; what is compared, printed and kept is
its sha256 (the host reports its files' digests in the observation), fingerprint and not-after.
"""

from __future__ import annotations

import posixpath
from typing import Sequence

from kob.commands.haproxy_certs import (
    EXIT_CERT_REFUSED,
    install_cert_argv,
    prune_certs_argv,
)
from kob.errors import LbError
from kob.facts.containers import HaproxyFact
from kob.lb.model import LbConfig, LbTls
from kob.transport.base import SshTarget, Transport


def certs_to_ship(config: LbConfig, fact: HaproxyFact | None) -> list[LbTls]:
    """The config's certificates whose file on the host is missing or differs (all, when not observed)."""
    held = dict(fact.certs or ()) if fact is not None else {}
    return [tls for tls in config.certificates() if held.get(posixpath.basename(tls.crt_path)) != tls.cert.digest]


def stale_certs(config: LbConfig, fact: HaproxyFact | None) -> list[str]:
    """Certificate files on the host that no frontend of the config uses any more."""
    wanted = {posixpath.basename(tls.crt_path) for tls in config.certificates()}
    return sorted(name for name, _ in (fact.certs or ()) if name not in wanted) if fact is not None else []


def cert_preview(config: LbConfig, fact: HaproxyFact | None) -> list[str]:
    """What a deploy would do to the host's certificates, for --check: names, fingerprints, dates; never a PEM."""
    lines = [f"certificate {_frontend(tls)}: would {'rotate' if _held(tls, fact) else 'install'} "
             f"({tls.cert.summary()})" for tls in certs_to_ship(config, fact)]
    return lines + [f"certificate {name}: would remove" for name in stale_certs(config, fact)]


async def ship_certs(pool: Transport, target: SshTarget, certs: Sequence[LbTls], admin_socket: str) -> list[str]:
    """Install each certificate on the host (rotating it in the running HAProxy); "https rotated" ... per one."""
    done = []
    for tls in certs:
        result = await pool.run(target, install_cert_argv(tls.crt_path, admin_socket), input=tls.cert.pem.reveal())
        if result.rc == EXIT_CERT_REFUSED:
            raise LbError(target.name, f"certificate of frontend {_frontend(tls)} ({tls.cert.path}): "
                                       f"{_last_line(result.stderr)}; the old one keeps serving")
        if not result.ok:
            raise LbError(target.name, f"cannot install the certificate of frontend {_frontend(tls)} at "
                                       f"{tls.crt_path}: {_last_line(result.stderr)}")
        outcome = result.stdout.strip()
        if outcome != "unchanged":
            done.append(f"certificate {_frontend(tls)} {outcome}")
    return done


async def prune_certs(pool: Transport, target: SshTarget, certs_dir: str, config: LbConfig) -> None:
    keep = [posixpath.basename(tls.crt_path) for tls in config.certificates()]
    (await pool.run(target, prune_certs_argv(certs_dir, keep))).check()


def _held(tls: LbTls, fact: HaproxyFact | None) -> bool:
    return fact is not None and posixpath.basename(tls.crt_path) in dict(fact.certs or ())


def _frontend(tls: LbTls) -> str:
    return posixpath.basename(tls.crt_path).removesuffix(".pem")


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip() and "-----" not in line]
    return lines[-1][:200] if lines else "no message"
