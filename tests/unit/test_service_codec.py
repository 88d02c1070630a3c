"""Services survive the round trip through the store's JSON."""

from __future__ import annotations

import json
from pathlib import Path
from types import MappingProxyType

import pytest

from kob.spec.service_codec import service_from_dict, service_to_dict
from kob.spec.service_model import (Autoscale, Constraint, HealthCheck, Placement, Resources, Service, UpdatePolicy,
                                    Volume)

FULL = Service(
    name="web", image="kob-demo/web:2", replicas=4, port=80, command=("httpd", "-f"),
    env=MappingProxyType({"A": "1"}), env_file=Path("/etc/kob/web.env"),
    volumes=(Volume("/srv/data", "/data"), Volume("cache", "/cache", True)),
    healthcheck=HealthCheck(command=("test", "-f", "/ok"), interval=1.0, retries=5),
    resources=Resources(cpus=0.5, memory=1 << 28), restart="on-failure:3",
    placement=Placement(hosts="workers", strategy="least-loaded", constraints=(Constraint("zone", True, "a"),),
                        max_per_host=2),
    update=UpdatePolicy(parallelism=2, order="stop-first", failure_action="pause", monitor=1.5),
    autoscale=Autoscale(min=2, max=6, cpu=60.0, memory=None, scale_down_window=30.0, max_step=2))


@pytest.mark.parametrize("service", [FULL, Service(name="api", image="busybox"),
                                     Service(name="h", image="x", healthcheck=HealthCheck(http_path="/healthz"))])
def test_round_trip_through_json(service):
    data = json.loads(json.dumps(service_to_dict(service)))
    assert service_from_dict(data) == service
    assert "line" not in data


def test_env_file_is_only_a_path():
    assert service_to_dict(FULL)["env_file"] == "/etc/kob/web.env"
