"""kob's status page: a read-only Flask app over one inventory's store and hosts.

``create_app(store, inventory)`` is all a test needs (a memory store, no hosts).
`kob web` adds an SSH pool for live observation, a refresh interval and a token.

    /                    overview: hosts, services, load balancers, events
    /services/<name>     replicas, revisions, CPU over the kept history
    /hosts/<name>        usage, containers, CPU and memory over the kept history
    /jobs/<id>           a batch job, its attempts and their output
    /api/v1/...          the same as JSON: overview, hosts[/<name>], services[/<name>], lb, events, jobs[/<id>]
    /healthz             the page is up
    /metrics             Prometheus' text format (kob.web.metrics)

The page works without JavaScript; with it, static/kob.js swaps in the fresh <main>
every few seconds (a request with ``X-Kob-Partial: 1`` gets only that part).
"""

from __future__ import annotations

from typing import Any

from flask import Flask, Response, abort, current_app, jsonify, render_template, request

from kob import __version__
from kob.errors import KobError
from kob.view.watch import Watcher
from kob.spec.inventory import Inventory
from kob.store.base import Store
from kob.transport.base import Transport

from kob.web.auth import require_token
from kob.web.charts import svg_line_chart
from kob.web.formats import FILTERS
from kob.web.metrics import add_metrics
from kob.web.site import Site

PAGE_REFRESH = 3  # seconds between the page's own updates in the browser
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


def create_app(store: Store, inventory: Inventory, *, pool: Transport | None = None, refresh: float | None = None,
               token: str | None = None, site: Site | None = None) -> Flask:
    """The page of ``inventory``; ``pool`` adds live observation, ``token`` is required of every request."""
    app = Flask(__name__)
    site = app.extensions["kob_site"] = site or Site(Watcher(inventory, store, pool), refresh)
    app.jinja_env.filters.update(FILTERS)
    app.jinja_env.globals.update(chart=svg_line_chart, version=__version__, page_refresh=PAGE_REFRESH)
    if token:
        require_token(app, token)
    _pages(app)
    _api(app)
    add_metrics(app, site)

    @app.after_request
    def secure(response):
        response.headers.update(SECURITY_HEADERS)
        return response

    return app


def site_of(app: Flask) -> Site:
    return app.extensions["kob_site"]


def _site() -> Site:
    return site_of(current_app)


def _render(template: str, **context: Any) -> str:
    partial = request.headers.get("X-Kob-Partial") == "1"
    return render_template(template, partial=partial, overview=_site().overview(), **context)


def _pages(app: Flask) -> None:
    @app.get("/")
    def overview_page():
        return _render("overview.html")

    @app.get("/services/<name>")
    def service_page(name: str):
        return _render("service.html", service=_found(_site().service(name)))

    @app.get("/hosts/<name>")
    def host_page(name: str):
        return _render("host.html", host=_found(_site().host(name)))

    @app.get("/jobs/<int:job_id>")
    def job_page(job_id: int):
        return _render("job.html", job=_found(_site().job(job_id)))

    @app.errorhandler(KobError)
    def store_or_hosts_failed(error: KobError):
        message = f"kob cannot read the state right now: {error}"
        if request.path == "/metrics":
            return Response(message + "\n", 503, {"Content-Type": "text/plain; charset=utf-8"})
        if request.path.startswith("/api/"):
            return jsonify(error=message), 503
        return render_template("problem.html", partial=False, message=message), 503

    @app.errorhandler(404)
    def not_found(error):
        if request.path.startswith("/api/"):
            return jsonify(error=f"{request.path}: not found"), 404
        return render_template("problem.html", partial=False,
                               message=f"{request.path}: no such page. The overview lists every host and service."), 404


def _api(app: Flask) -> None:
    @app.get("/healthz")
    def healthz():
        site = _site()
        latest = site.watcher.latest
        return jsonify(status="ok", version=__version__, refreshed=latest["time"] if latest else None,
                       refresh_error=site.error)

    @app.get("/api/v1/overview")
    def api_overview():
        return jsonify(_site().overview())

    @app.get("/api/v1/<part>")
    def api_part(part: str):
        if part not in ("hosts", "services", "lb", "events", "jobs"):
            abort(404)
        return jsonify(_site().overview()[part])

    @app.get("/api/v1/services/<name>")
    def api_service(name: str):
        return jsonify(_found(_site().service(name)))

    @app.get("/api/v1/hosts/<name>")
    def api_host(name: str):
        return jsonify(_found(_site().host(name)))

    @app.get("/api/v1/jobs/<int:job_id>")
    def api_job(job_id: int):
        return jsonify(_found(_site().job(job_id)))


def _found(value: dict | None) -> dict:
    if value is None:
        abort(404)
    return value
