"""A stable digest of everything about a service that shapes its containers."""

from __future__ import annotations

import hashlib
import json

from kob.spec.service_codec import service_to_dict
from kob.spec.service_model import Service

# Fields that change neither a container nor its config: changing them never replaces a replica.
NOT_IN_CONTAINER = ("replicas", "placement", "update", "env_file", "autoscale")


def spec_hash(service: Service, env_file_digest: str = "") -> str:
    """Hex digest over the container-shaping fields, plus a digest of the env file's bytes.

    The env file's values never enter the hash in clear: only the caller's digest of
    the whole file does, so a changed secret rolls the service without showing it.
    """
    fields = {k: v for k, v in service_to_dict(service).items() if k not in NOT_IN_CONTAINER}
    fields["env_file_digest"] = env_file_digest
    canonical = json.dumps(fields, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]
