"""Which changes to a service roll its containers, and which do not."""

from __future__ import annotations

import dataclasses
from types import MappingProxyType

import pytest

from kob.plan.spec_hash import spec_hash
from kob.spec.service_model import HealthCheck, Placement, Service, UpdatePolicy

BASE = Service(name="web", image="kob-demo/web:1", port=80, env=MappingProxyType({"A": "1"}))


@pytest.mark.parametrize("change, rolls", [
    ({"image": "kob-demo/web:2"}, True),
    ({"env": MappingProxyType({"A": "2"})}, True),
    ({"command": ("httpd", "-f")}, True),
    ({"port": 8080}, True),
    ({"healthcheck": HealthCheck(http_path="/healthz")}, True),
    ({"restart": "always"}, True),
    ({"replicas": 9}, False),
    ({"placement": Placement(max_per_host=1)}, False),
    ({"update": UpdatePolicy(parallelism=3)}, False),
    ({"line": 99}, False),
])
def test_what_rolls_a_service(change, rolls):
    assert (spec_hash(dataclasses.replace(BASE, **change)) != spec_hash(BASE)) == rolls


def test_a_changed_env_file_rolls_without_its_values_in_the_hash_input():
    assert spec_hash(BASE, "digest-a") != spec_hash(BASE, "digest-b")
    assert spec_hash(BASE) == spec_hash(dataclasses.replace(BASE)) and len(spec_hash(BASE)) == 16
