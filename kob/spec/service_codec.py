"""Services to and from plain JSON-able dicts, for revisions kept in the store (pure).

Only what the inventory said is kept: an env_file stays a path, its secret
values are never read here.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from types import MappingProxyType
from typing import Any

from kob.spec.service_model import (Autoscale, Constraint, HealthCheck, Placement, Resources, Service, UpdatePolicy,
                                    Volume)


def service_to_dict(service: Service) -> dict[str, Any]:
    data = _plain(service)
    data.pop("line", None)
    return data


def _plain(value: Any) -> Any:
    if dataclasses.is_dataclass(value):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, (dict, MappingProxyType)):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, Path):
        return str(value)
    return value


def service_from_dict(data: dict[str, Any]) -> Service:
    health = data.get("healthcheck")
    placement = dict(data["placement"])
    placement["constraints"] = tuple(Constraint(**c) for c in placement.get("constraints", ()))
    return Service(
        name=data["name"], image=data["image"], replicas=data["replicas"], port=data["port"],
        command=tuple(data["command"]) if data["command"] is not None else None,
        env=MappingProxyType(dict(data["env"])),
        env_file=Path(data["env_file"]) if data["env_file"] else None,
        volumes=tuple(Volume(**v) for v in data["volumes"]),
        healthcheck=_health(health) if health else None,
        resources=Resources(**data["resources"]), restart=data["restart"],
        placement=Placement(**placement), update=UpdatePolicy(**data["update"]),
        autoscale=Autoscale(**data["autoscale"]) if data.get("autoscale") else None)


def _health(data: dict[str, Any]) -> HealthCheck:
    command = data.get("command")
    return HealthCheck(**{**data, "command": tuple(command) if command is not None else None})
