"""The Metrics API: /api/metrics, /api/state, /api/health (an edge: HTTP).

The documents are the typed Structs of app/core/documents.py, encoded as they
are by msgspec (fast, and it writes NaN/inf as null, so a consumer never
receives invalid JSON).  Nothing here computes: every number comes from the
hub, the same source the dashboard and the alerts read.
"""

from __future__ import annotations

from collections.abc import Callable

import msgspec
from flask import Blueprint, Response, request
from msgspec import UNSET

from app.hub import Hub

_encode = msgspec.json.Encoder().encode


def json_response(doc: object, status: int = 200) -> Response:
    return Response(
        _encode(doc), status=status, mimetype="application/json", headers={"Cache-Control": "no-store"}
    )


def create_api(hub: Hub, collector_alive: Callable[[], bool]) -> Blueprint:
    """Build the blueprint; ``collector_alive`` tells /api/health whether ingest runs."""
    api = Blueprint("api", __name__, url_prefix="/api")

    @api.get("/metrics")
    def metrics() -> Response:
        return json_response(hub.metrics())

    @api.get("/state")
    def state() -> Response:
        bot = request.args.get("bot")
        if not bot:
            return json_response({"error": "query parameter 'bot' is required", "bots": hub.bots()}, 400)
        doc = hub.state(bot)
        if doc is None:
            return json_response({"error": "unknown bot", "bots": hub.bots()}, 404)
        return json_response(doc)

    @api.get("/health")
    def health() -> Response:
        doc = hub.metrics()
        bots = doc.bots.values()
        ages = [b.last_event_age_s for b in bots if b.last_event_age_s is not None]
        alive = collector_alive()
        restarts = doc.collector.restarts
        body = {
            "status": "ok" if alive else "failing",
            "collector_alive": alive,
            "collector_restarts": 0 if restarts is UNSET else restarts,
            "last_event_age_s": min(ages) if ages else None,
            "bots": len(doc.bots),
            "bots_stale": sum(1 for b in bots if b.stale),
            "uptime_s": None if doc.monitor is UNSET else doc.monitor.uptime_s,
        }
        return json_response(body, 200 if alive else 503)

    return api
