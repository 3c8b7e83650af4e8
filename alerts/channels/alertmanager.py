"""Prometheus Alertmanager: the state of each alert, posted to ``/api/v2/alerts`` of every peer.

Alertmanager wants state, not events: an alert it is not told about again ends by
itself at its ``endsAt``.  So this type is *stateful* (its descriptor says so): the
engine re-sends every firing alert routed here every ``resend_s`` and every resolve
for 15 minutes (alerts/state_refresh.py), and never repeats or escalates for it:
Alertmanager groups, repeats, inhibits and routes on its own.  Each peer of a
cluster is a destination of its own (never a load balancer in front of them), so a
peer that is down is retried on its own while the others are told at once, and the
cluster's gossip sends the receiver each notification once.

Silences and acknowledgements made in this monitor are not pushed to Alertmanager:
its own silences are the way to quiet it.
"""

from __future__ import annotations

import base64
import json
import socket
import time
import urllib.error
import urllib.request
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Any, ClassVar

import msgspec

from alerts import messages, notification
from alerts.channels.base import (
    DESTINATION,
    BaseChannel,
    ChannelSettings,
    ChannelType,
    FormField,
    Result,
    Secret,
    http_result,
    transient,
)

if TYPE_CHECKING:
    from collections.abc import Mapping

    from alerts.rows import Row

API_PATH = "/api/v2/alerts"
#: ``alertname`` of a Test Alert and of a report (both about no rule): each ends by itself.
TEST_ALERTNAME, REPORT_ALERTNAME = "MonitorTestAlert", "MonitorReport"
#: A firing alert's ``endsAt`` is this many re-send periods ahead: three missed re-sends are tolerated.
ENDS_AFTER_RESENDS = 4
#: Alertmanager refuses label values beyond its limits; ours stay far below them.
LABEL_MAX = 200


class AlertmanagerSettings(
    ChannelSettings, frozen=True, kw_only=True, forbid_unknown_fields=True, tag="alertmanager"
):
    """``urls``: one base URL per Alertmanager peer (``http://am1:9093``); auth is optional."""

    required: ClassVar = (("urls",),)

    urls: Annotated[list[str], DESTINATION] = []
    username: Annotated[str | None, DESTINATION] = None  # basic auth, with ``password``
    password: Secret = None
    bearer_token: Secret = None
    # every firing alert is re-sent this often, its endsAt 4 periods ahead
    resend_s: Annotated[float, msgspec.Meta(ge=1, le=3600)] = 60.0


def iso(ts: float) -> str:
    """RFC 3339 in UTC, as Alertmanager reads it."""
    return datetime.fromtimestamp(ts, UTC).isoformat().replace("+00:00", "Z")


def _label(value: object) -> str:
    return messages.trim(messages.one_line(str(value)), LABEL_MAX)


def labels(p: Mapping[str, Any], monitor: str) -> dict[str, str]:
    """The alert's identity for Alertmanager: the same alert from two monitors has the same labels.

    The rule's own labels come first, so they can never replace the four that identify it.
    """
    kind = notification.kind_of(p)
    name = {"test": TEST_ALERTNAME, "report": REPORT_ALERTNAME}.get(kind, str(p.get("rule")))
    own = {_label(k): _label(v) for k, v in (p.get("labels") or {}).items()}
    return {
        **own,
        "alertname": _label(name),
        "bot": _label(messages.scope(p.get("bot"))),
        "severity": _label(p.get("severity")),
        "monitor": _label(monitor),
    }


def _as_state(p: Mapping[str, Any]) -> dict[str, Any]:
    """A state re-send words the alert as its state: firing, or resolved once it has a resolve time."""
    if notification.kind_of(p) != "alert":
        return dict(p)
    return {**p, "kind": "resolved" if p.get("resolved_at") is not None else "firing"}


def alert(p: Mapping[str, Any], monitor: str, dashboard_url: str, resend_s: float, now: float) -> dict:
    """One Alertmanager alert: labels, annotations, startsAt, endsAt and the dashboard's link.

    A firing alert ends ``4 x resend_s`` from now unless re-sent; a resolved one ended at its
    resolve time; a Test Alert or a report ends after one period (it is about nothing that lasts).
    """
    p = _as_state(p)
    starts = p.get("fired_at") or p.get("since") or p.get("now") or now
    if notification.kind_of(p) != "alert":
        ends = now + resend_s
    elif p["kind"] == "resolved":
        ends = p["resolved_at"]
    else:
        ends = now + ENDS_AFTER_RESENDS * resend_s
    detail = notification.lines(p)
    return {
        "labels": labels(p, monitor),
        "annotations": {
            "summary": notification.headline(p),
            "description": "\n".join(detail),
            "dashboard": dashboard_url,
        },
        "startsAt": iso(min(starts, ends)),
        "endsAt": iso(ends),
        "generatorURL": dashboard_url,
    }


class AlertmanagerChannel(BaseChannel):
    batch_max = 50  # one POST carries many alerts: Alertmanager takes a list
    default_rate = None  # a local cluster: no documented limit

    def destinations(self) -> list[str]:
        return [str(i) for i in range(len(self.cfg.urls))]

    def _body(self, rows: list[Row]) -> bytes:
        now = time.time()
        alerts = [
            alert(r.payload, _monitor(r.payload), self.dashboard_url, self.cfg.resend_s, now) for r in rows
        ]
        return json.dumps(alerts).encode()

    def render(self, rows: list[Row]) -> object:
        return self._body(rows)

    def _headers(self) -> dict[str, str]:
        headers = {"Content-Type": "application/json", "User-Agent": "botmonitor-alerts/1"}
        if self.cfg.bearer_token:
            headers["Authorization"] = f"Bearer {self.cfg.bearer_token}"
        elif self.cfg.username and self.cfg.password:
            pair = f"{self.cfg.username}:{self.cfg.password}".encode()
            headers["Authorization"] = "Basic " + base64.b64encode(pair).decode()
        return headers

    def send(self, dest: str, rows: list[Row]) -> Result:
        url = self.cfg.urls[int(dest)].rstrip("/") + API_PATH
        req = urllib.request.Request(url, data=self._body(rows), headers=self._headers(), method="POST")
        try:
            with urllib.request.urlopen(req, timeout=self.cfg.timeout_s) as resp:
                return http_result(resp.status, resp.headers.get("Retry-After"), "")
        except urllib.error.HTTPError as exc:
            detail = exc.read(300).decode("utf-8", "replace")
            return http_result(exc.code, exc.headers.get("Retry-After"), detail)
        except (urllib.error.URLError, OSError) as exc:
            return transient(f"{type(exc).__name__}: {getattr(exc, 'reason', exc)}")


def _monitor(p: Mapping[str, Any]) -> str:
    """This monitor's name (``alerts.instance``, frozen in the payload); the host name before it was."""
    return str(p.get("monitor") or socket.gethostname())


TYPE = ChannelType(
    "alertmanager",
    "Alertmanager",
    AlertmanagerSettings,
    AlertmanagerChannel,
    form=(
        FormField("urls", "Alertmanager URLs, one per peer (never a load balancer)", "urls"),
        FormField("username", "Basic auth user (optional)", "text"),
        FormField("password", "Basic auth password (optional)", "secret"),
        FormField("bearer_token", "Bearer token (optional)", "secret"),
    ),
    stateful=True,
)
