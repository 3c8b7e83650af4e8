"""Headless operation: every alert transition and delivery outcome is one ``key=value`` log line.

Real pieces: a Hub fed with real events, the SQLite outbox, webhook channels posting
to a local HTTP server (one fine, one refusing for good, one failing for now); only
time is fake.  The log is read as an operator's log shipper would: one record per
line, ``event=...`` then ``key=value`` pairs, and never a URL or a token.
"""

from __future__ import annotations

import logging
import re
import shlex

from werkzeug import Response

from tests.support.alerts import FakeClock, Feed, bodies, make_service, settings, webhook_channel

TOKEN = "s3cretT0kenInThePath"
_PAIR = re.compile(r'(\w+)=("(?:[^"\\]|\\.)*"|\S+)')


def _fields(message: str) -> dict[str, str]:
    """A log line as its key=value pairs (asserting that it is nothing else)."""
    assert "\n" not in message
    pairs = _PAIR.findall(message)
    assert " ".join(f"{k}={v}" for k, v in pairs) == message, message
    return {k: shlex.split(v)[0] if v.startswith('"') else v for k, v in pairs}


def _events(caplog) -> list[dict[str, str]]:
    return [_fields(r.getMessage()) for r in caplog.records if r.getMessage().startswith("event=alert")]


def _of(events: list[dict[str, str]], name: str, **match: str) -> list[dict[str, str]]:
    return [e for e in events if e["event"] == name and all(e.get(k) == v for k, v in match.items())]


def test_fired_resolved_escalated_acked_delivered_failed_dead_lettered_are_log_lines(
    httpserver, tmp_path, caplog
) -> None:
    caplog.set_level(logging.INFO)
    httpserver.expect_request("/ok").respond_with_data("ok")
    httpserver.expect_request("/pager").respond_with_data("ok")
    httpserver.expect_request(f"/refused/{TOKEN}").respond_with_data("no", status=403)
    httpserver.expect_request("/flaky").respond_with_response(Response("busy", status=503))
    channels = {
        "ok": webhook_channel(httpserver.url_for("/ok")),
        "refused": webhook_channel(httpserver.url_for(f"/refused/{TOKEN}")),
        "flaky": webhook_channel(httpserver.url_for("/flaky")),
        "pager": webhook_channel(httpserver.url_for("/pager")),
    }
    route = {"channels": ["ok", "refused", "flaky"], "escalate": [{"after_s": 10, "channels": ["pager"]}]}
    cfg = settings(channels=channels, routes={"critical": route}, events={"stale": False})
    clock = FakeClock()
    feed = Feed(clock)
    svc = make_service(feed, cfg, tmp_path)
    feed.health(circuit_breaker="closed")
    svc.pump()
    feed.health(circuit_breaker="open")
    clock.advance(1)
    svc.pump()
    for _ in range(12):  # past the escalation step
        clock.advance(1)
        feed.health(circuit_breaker="open")
        svc.pump()
    alert_id = svc.active()[0].alert_id
    assert svc.ack(alert_id, "alice")
    feed.health(circuit_breaker="closed")
    clock.advance(1)
    svc.pump()
    svc.stop()

    events = _events(caplog)
    common = {"alert_id": alert_id, "bot": "b1", "rule": "circuit_breaker", "severity": "critical"}
    (fired,) = _of(events, "alert_fired", **common)
    assert fired["what"] == "circuit breaker OPEN (was closed)"
    (resolved,) = _of(events, "alert_resolved", **common)
    assert resolved["what"] == "circuit breaker closed again" and resolved["because"] == "cleared"
    (escalated,) = _of(events, "alert_escalated", **common)
    assert escalated["channels"] == "pager"
    (acked,) = _of(events, "alert_acknowledged", **common)
    assert acked["by"] == "alice"
    assert _of(events, "alert_delivered", channel="ok", kind="firing", **common)
    assert _of(events, "alert_delivered", channel="ok", kind="resolved", **common)
    assert _of(events, "alert_delivered", channel="pager", kind="escalation", **common)
    (refused,) = _of(events, "alert_delivery_failed", channel="refused", kind="firing", **common)
    assert (refused["attempt"], refused["error"], refused["retry"]) == ("1", "HTTP 403", "false")
    assert _of(events, "alert_dead_lettered", channel="refused", kind="firing", reason="permanent", **common)
    retried = _of(events, "alert_delivery_failed", channel="flaky", kind="firing", **common)
    assert [e["attempt"] for e in retried][:2] == ["1", "2"] and retried[0]["error"] == "HTTP 503"
    assert "retry_in_s" in retried[0]
    # the resolve reached the channel with its words
    resolved_body = next(b for b in bodies(httpserver) if b["alert"]["kind"] == "resolved")
    assert resolved_body["what"] == "circuit breaker closed again"
    assert resolved_body["text"] == "[CRITICAL] RESOLVED b1: circuit breaker closed again"
    # never a secret, never a URL, in any line the monitor logged (the test server logs its own)
    ours = "\n".join(r.getMessage() for r in caplog.records if r.name.startswith("alerts"))
    assert "event=alert_dead_lettered" in ours
    assert TOKEN not in ours and "http://" not in ours
