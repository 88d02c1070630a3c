"""A stable digest of everything about a service that shapes its containers."""

from __future__ import annotations

import dataclasses
import hashlib
import json

from kob.spec.service_model import Service

# Fields that change neither a container nor its config: changing them never replaces a replica.
NOT_IN_CONTAINER = ("replicas", "placement", "update", "line", "env_file")


def spec_hash(service: Service, env_file_digest: str = "") -> str:
    """Hex digest over the container-shaping fields, plus a digest of the env file's bytes.

    The env file's values never enter the hash in clear: only the caller's digest of
    the whole file does, so a changed secret rolls the service without showing it.
    """
    fields = {f.name: getattr(service, f.name) for f in dataclasses.fields(service) if f.name not in NOT_IN_CONTAINER}
    fields["env_file_digest"] = env_file_digest
    canonical = json.dumps(fields, sort_keys=True, default=_plain, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def _plain(value):
    if dataclasses.is_dataclass(value):
        return dataclasses.asdict(value)
    if hasattr(value, "items"):
        return dict(value.items())
    return str(value)
