"""Chart series from usage histories: a host's CPU and memory, a service's CPU bucketed across hosts (tables)."""

from __future__ import annotations

import pytest

from kob.metrics.rates import ContainerUsage, HostUsage
from kob.metrics.series import bucket_for, host_series, service_cpu_series


def usage(host: str, time: float, *containers: ContainerUsage, cpu: float | None = None, mem_used: int = 0,
          mem_total: int = 1000) -> HostUsage:
    return HostUsage(host=host, time=time, interval=10.0, cpu=cpu, ncpu=2, load=(0.0, 0.0, 0.0),
                     mem_used=mem_used, mem_total=mem_total, disk_used=0, disk_total=0, containers=containers)


def c(service: str, cpu: float | None, replica: int = 1) -> ContainerUsage:
    return ContainerUsage(f"{service}-{replica}", service, replica, "running", 0, cpu, 1 << 20, None)


@pytest.mark.parametrize("name, history, metric, expected", [
    ("host cpu, unknown values left out", [usage("vm1", 10, cpu=12.5), usage("vm1", 20), usage("vm1", 30, cpu=40.0)],
     "cpu", [(10, 12.5), (30, 40.0)]),
    ("sorted by time", [usage("vm1", 30, cpu=3.0), usage("vm1", 10, cpu=1.0), usage("vm1", 20, cpu=2.0)],
     "cpu", [(10, 1.0), (20, 2.0), (30, 3.0)]),
    ("memory in % of the total", [usage("vm1", 10, mem_used=250), usage("vm1", 20, mem_used=1000)],
     "memory", [(10, 25.0), (20, 100.0)]),
    ("memory without a total is left out", [usage("vm1", 10, mem_used=250, mem_total=0),
                                            usage("vm1", 20, mem_used=500, mem_total=2000)],
     "memory", [(20, 25.0)]),
    ("no history", [], "cpu", []),
])
def test_host_series(name, history, metric, expected):
    assert host_series(history, metric) == expected


def test_host_series_names_the_metrics_it_knows():
    with pytest.raises(ValueError, match="unknown host metric 'disk': use one of cpu, memory"):
        host_series([usage("vm1", 10, cpu=1.0)], "disk")


@pytest.mark.parametrize("name, histories, bucket, expected", [
    ("two hosts in one bucket are summed",
     {"vm1": [usage("vm1", 101, c("web", 20.0))], "vm2": [usage("vm2", 104, c("web", 30.0, 2))]},
     10, [(100, 50.0)]),
    ("replicas on one host are summed",
     {"vm1": [usage("vm1", 101, c("web", 20.0), c("web", 5.0, 2))]}, 10, [(100, 25.0)]),
    ("a host's later sample in the bucket wins",
     {"vm1": [usage("vm1", 101, c("web", 20.0)), usage("vm1", 108, c("web", 35.0))]}, 10, [(100, 35.0)]),
    ("the later sample wins whatever the history's order",
     {"vm1": [usage("vm1", 108, c("web", 35.0)), usage("vm1", 101, c("web", 20.0))]}, 10, [(100, 35.0)]),
    ("the later sample wins even when it knows no cpu",
     {"vm1": [usage("vm1", 101, c("web", 20.0)), usage("vm1", 108, c("web", None))],
      "vm2": [usage("vm2", 103, c("web", 7.0, 2))]}, 10, [(100, 7.0)]),
    ("unknown cpu is skipped",
     {"vm1": [usage("vm1", 101, c("web", None), c("web", 10.0, 2))]}, 10, [(100, 10.0)]),
    ("a bucket with only unknown cpu is left out, not 0",
     {"vm1": [usage("vm1", 101, c("web", None)), usage("vm1", 111, c("web", 10.0))],
      "vm2": [usage("vm2", 102, c("web", None, 2))]}, 10, [(110, 10.0)]),
    ("other services are ignored",
     {"vm1": [usage("vm1", 101, c("web", 20.0), c("api", 70.0))], "vm2": [usage("vm2", 102, c("api", 5.0))]},
     10, [(100, 20.0)]),
    ("a service that runs nowhere has no points",
     {"vm1": [usage("vm1", 101, c("api", 70.0))]}, 10, []),
    ("buckets come sorted by start",
     {"vm1": [usage("vm1", 125, c("web", 3.0)), usage("vm1", 105, c("web", 1.0))],
      "vm2": [usage("vm2", 118, c("web", 2.0))]}, 10, [(100, 1.0), (110, 2.0), (120, 3.0)]),
    ("a bucket starts at a whole multiple of its width",
     {"vm1": [usage("vm1", 99.9, c("web", 1.0)), usage("vm1", 100.0, c("web", 2.0))]}, 10,
     [(90, 1.0), (100, 2.0)]),
    ("a bucket width that is not whole",
     {"vm1": [usage("vm1", 16, c("web", 4.0))], "vm2": [usage("vm2", 22.4, c("web", 1.0))]}, 7.5, [(15, 5.0)]),
    ("no hosts", {}, 10, []),
])
def test_service_cpu_series(name, histories, bucket, expected):
    assert service_cpu_series(histories, "web", bucket) == expected


@pytest.mark.parametrize("span, points, minimum, expected", [
    (0, 120, 5.0, 5.0),
    (600, 120, 5.0, 5.0),
    (601, 120, 5.0, 10.0),
    (3600, 120, 5.0, 30.0),
    (86400, 120, 5.0, 720.0),
    (600, 60, 5.0, 10.0),
    (90, 60, 1.0, 2.0),
    (-10, 120, 5.0, 5.0),
])
def test_bucket_for(span, points, minimum, expected):
    width = bucket_for(span, points, minimum)
    assert width == expected
    assert span / width <= points
