"""The Metrics API: /api/metrics, /api/state, /api/health, and the operator's actions (an edge: HTTP).

The documents are the typed Structs of core/documents.py, encoded as they
are by msgspec (fast, and it writes NaN/inf as null, so a consumer never
receives invalid JSON).  Nothing here computes: every number comes from the
hub, the same source the dashboard and the alerts read.

The actions (``POST /api/alerts/<id>/ack``) go to the operator facade
(app/operator.py) through :class:`Acknowledger`, with the actor ``"api"``, as the
page's go with ``"dashboard"``.  Being POSTs, they pass the web guard's rules for
every state-changing request (app/web_guard.py): same origin and the page's CSRF
token, so a site the trader visits cannot acknowledge anything.  Silences
(``GET/POST /api/silences``, ``DELETE /api/silences/<id>``) go the same way,
through :class:`Silencer`; a refused silence is a 400 carrying the facade's sentence.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from typing import Protocol

import msgspec
from flask import Blueprint, Response, request
from msgspec import UNSET

from alerts.silences import Silence, SilenceOutcome
from app.actions import API
from app.hub import Hub

_encode = msgspec.json.Encoder().encode
#: An alert id as the engine makes them (and ``test-...``): anything else is no alert.
ALERT_ID = re.compile(r"[A-Za-z0-9_.:-]{1,128}")


class Acknowledger(Protocol):
    """What the API may ask of the operator facade: acknowledge a firing alert, naming the actor."""

    def acknowledge(self, alert_id: str, actor: str) -> bool: ...


class Silencer(Protocol):
    """What the API may ask of the operator facade about silences, naming the actor."""

    def silence(
        self, bot: str, rule: str, severity: str, duration_s: float, comment: str, actor: str
    ) -> SilenceOutcome: ...

    def unsilence(self, silence_id: str, actor: str) -> bool: ...

    def silences(self) -> tuple[Silence, ...]: ...


class Operations(Acknowledger, Silencer, Protocol):
    """Every action the API offers."""


class SilenceRequest(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """The body of ``POST /api/silences``: matchers (a name or ``*``), an end, a comment."""

    bot: str
    rule: str
    severity: str
    duration_s: float | None = None
    ends_at: float | None = None  # Unix time; instead of duration_s
    comment: str = ""


def json_response(doc: object, status: int = 200) -> Response:
    return Response(
        _encode(doc), status=status, mimetype="application/json", headers={"Cache-Control": "no-store"}
    )


def create_api(hub: Hub, alive: Callable[[], bool], operator: Operations | None = None) -> Blueprint:
    """The blueprint; ``alive`` tells /api/health whether ingest runs; ``operator`` adds the actions."""
    api = Blueprint("api", __name__, url_prefix="/api")
    if operator is not None:
        _register_actions(api, operator)

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
        running = alive()
        restarts = doc.collector.restarts
        body = {
            "status": "ok" if running else "failing",
            "collector_alive": running,
            "collector_restarts": 0 if restarts is UNSET else restarts,
            "last_event_age_s": min(ages) if ages else None,
            "bots": len(doc.bots),
            "bots_stale": sum(1 for b in bots if b.stale),
            "uptime_s": None if doc.monitor is UNSET else doc.monitor.uptime_s,
        }
        return json_response(body, 200 if running else 503)

    return api


def _register_actions(api: Blueprint, operator: Operations) -> None:
    _register_silences(api, operator)

    @api.post("/alerts/<alert_id>/ack")
    def ack(alert_id: str) -> Response:
        """Stop a firing alert's repeats and escalation, as the page's Acknowledge does."""
        if not ALERT_ID.fullmatch(alert_id):
            return json_response({"error": "not an alert id"}, 400)
        if not operator.acknowledge(alert_id, API):
            return json_response({"error": "no firing alert with this id", "alert_id": alert_id}, 404)
        return json_response({"acknowledged": True, "alert_id": alert_id, "by": API})


def _register_silences(api: Blueprint, operator: Silencer) -> None:
    @api.get("/silences")
    def silences() -> Response:
        """Active silences first, then those ended within 5 days."""
        return json_response({"silences": operator.silences()})

    @api.post("/silences")
    def silence() -> Response:
        """Make a silence; 400 with the sentence saying why when it is refused."""
        try:
            req = msgspec.json.decode(request.get_data(), type=SilenceRequest)
        except msgspec.DecodeError as exc:  # ValidationError included: the field is named
            return json_response({"error": f"invalid body: {exc}"}, 400)
        duration = req.duration_s
        if duration is None and req.ends_at is not None:
            duration = req.ends_at - time.time()
        made = operator.silence(req.bot, req.rule, req.severity, duration, req.comment, API)  # type: ignore[arg-type]
        if made.silence is None:
            return json_response({"error": made.refused}, 400)
        return json_response({"silence": made.silence}, 201)

    @api.delete("/silences/<silence_id>")
    def unsilence(silence_id: str) -> Response:
        """End a silence now (it stays listed, greyed, for 5 days)."""
        if not ALERT_ID.fullmatch(silence_id):
            return json_response({"error": "not a silence id"}, 400)
        if not operator.unsilence(silence_id, API):
            return json_response({"error": "no active silence with this id", "id": silence_id}, 404)
        return json_response({"expired": True, "id": silence_id, "by": API})
