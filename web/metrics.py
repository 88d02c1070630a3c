"""``/metrics``: the page's data in Prometheus' text format, built with prometheus_client.

Each app has a registry of its own with one collector over its Site (never prometheus_client's
process-wide default registry, so two apps in one process do not clash). A scrape runs no SSH command:
it reads the page's latest overview (refreshed every ``--refresh`` seconds, as the page is, which also
reads HAProxy's `show stat` on the lb hosts) and each host's newest sample kept in the store (two store
reads a host), so the host figures are those of the last sample anyone took: the page, cron, `kob serve`'s
passes or `kob top`. The token rules are the page's (kob.web.auth guards every path).
"""

from __future__ import annotations

from collections.abc import Iterator

from flask import Flask, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.metrics_core import Metric

from kob.web.metric_families import (balancer_families, control_families, host_families, job_families,
                                     service_families)
from kob.web.site import Site


class SiteCollector:
    """Builds every kob_ family from one overview and the newest samples, afresh on each scrape."""

    def __init__(self, site: Site):
        self.site = site

    def collect(self) -> Iterator[Metric]:
        overview = self.site.overview()
        yield from host_families(overview["hosts"], self.site.latest_usage())
        yield from service_families(overview["services"])
        yield from balancer_families(overview["lb"])
        yield from job_families(overview["job_counts"])
        yield from control_families(overview)


def add_metrics(app: Flask, site: Site) -> None:
    """Serve ``/metrics`` from a registry that holds only this site's collector."""
    registry = CollectorRegistry(auto_describe=False)  # no describe(): registering does not scrape
    registry.register(SiteCollector(site))

    @app.get("/metrics")
    def metrics():
        return Response(generate_latest(registry), content_type=CONTENT_TYPE_LATEST)
