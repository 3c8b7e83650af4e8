"""What each notice says, frozen at enqueue time: the notifications the engine hands its gate.

Pure: an alert's notice (firing, repeat, escalation, failover, resolve), a Test Alert
and a report become typed :class:`~alerts.notification.Notification` s with their
payloads; the engine (alerts/engine.py) passes every one of them through its one
gate, ``Engine.gate``, which makes the outbox rows.
"""

from __future__ import annotations

from typing import Any

import msgspec

from alerts import catalog, messages, states
from alerts.notification import TEST_EVENT, TEST_SUMMARY, Kind, Notification, Report
from alerts.states import Alert, Notice


def of_alert(alert: Alert, notice: Notice, payload: dict[str, Any]) -> Notification:
    """An alert's notice as the gate takes it (kind ``alert``)."""
    return Notification(
        kind="alert",
        key=notice.key,
        subject=alert.alert_id,
        event=notice.kind,
        severity=alert.severity,
        channels=notice.channels,
        payload=payload,
    )


def alert_payload(alert: Alert, kind: str, now: float, dashboard_url: str) -> dict[str, Any]:
    """Everything a message needs, frozen at enqueue time (a digest later re-renders it)."""
    return {
        "notification": "alert",
        "alert_id": alert.alert_id,
        "kind": kind,
        "severity": alert.severity,
        "rule": alert.rule,
        "title": catalog.title(alert.rule),
        "bot": alert.bot,
        "labels": dict(alert.labels),
        "summary": alert.summary,
        "resolved_summary": alert.resolved_summary,
        "value": alert.value,
        "threshold": alert.threshold,
        "op": alert.op,
        "since": alert.since,
        "fired_at": alert.fired_at,
        "resolved_at": alert.resolved_at,
        "acked_by": alert.acked_by,
        "now": now,
        "dashboard_url": dashboard_url,
    }


def restart_facts(alert: Alert, stopped_at: float | None, restarted_at: float | None) -> dict[str, Any]:
    """For a resolve decided at a restart: why, when the monitor stopped and came back, in words."""
    if alert.resolved_because is None:
        return {}
    if alert.resolved_because == states.FORGOTTEN:
        facts: dict[str, Any] = {"after_restart": {"why": states.FORGOTTEN}}
        return {**facts, "note": messages.restart_note({"kind": "resolved", **facts})}
    facts = {
        "after_restart": {
            "why": alert.resolved_because,
            "stopped_at": stopped_at,
            "restarted_at": restarted_at,
        }
    }
    facts["note"] = messages.restart_note({"bot": alert.bot, "kind": "resolved", **facts})
    return facts


def test(test_id: str, channels: list[str], now: float, dashboard_url: str) -> Notification:
    """Test Alert (kind ``test``): proves a channel works; about no rule, from the monitor itself."""
    payload = _one_off_payload("test", test_id, TEST_EVENT, now, dashboard_url)
    return _one_off("test", test_id, TEST_EVENT, channels, {**payload, "summary": TEST_SUMMARY})


def report(report_id: str, body: Report, channels: list[str], now: float, dashboard_url: str) -> Notification:
    """A report (kind ``report``): its title and label/value lines travel in the payload."""
    payload = _one_off_payload("report", report_id, "report", now, dashboard_url)
    payload.update(summary=body.title, report=msgspec.to_builtins(body))
    return _one_off("report", report_id, "report", channels, payload)


def _one_off_payload(kind: Kind, subject: str, event: str, now: float, dashboard_url: str) -> dict[str, Any]:
    return {
        "notification": kind,
        "alert_id": subject,
        "kind": event,
        "severity": "info",
        "bot": catalog.MONITOR,
        "now": now,
        "dashboard_url": dashboard_url,
    }


def _one_off(
    kind: Kind, subject: str, event: str, channels: list[str], payload: dict[str, Any]
) -> Notification:
    """A notification about no alert (a test, a report): severity info, sent once."""
    return Notification(
        kind=kind,
        key=f"{subject}:{event}:0",
        subject=subject,
        event=event,
        severity="info",
        channels=tuple(channels),
        payload=payload,
    )
