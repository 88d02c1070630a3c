"""kob's status page: a Flask application factory.

The page reads the state store it is given (tests pass a memory store). This
first version serves /healthz; the overview and API grow with the web issue.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, jsonify, render_template

from kob import __version__


def create_app(store: Any = None, config: dict[str, Any] | None = None) -> Flask:
    app = Flask(__name__)
    app.config.update(config or {})
    app.extensions["kob_store"] = store

    @app.get("/healthz")
    def healthz():
        return jsonify(status="ok", version=__version__)

    @app.get("/")
    def index():
        return render_template("index.html", version=__version__)

    return app
