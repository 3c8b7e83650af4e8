"""Alertmanager gets state, not events: every peer separately, re-sent while firing, resolves for 15 minutes.

Real engine, real SQLite outbox, real delivery workers on a fake clock, two real HTTP servers
standing for the two peers of an Alertmanager cluster (``/api/v2/alerts``): a firing alert is
posted to both with its labels, re-sent every ``resend_s`` with ``endsAt`` four periods ahead
(never a repeat or an escalation of ours), its resolve re-sent for 15 minutes then never again;
a peer that answers 503 is retried on its own while the other is told; a restarted monitor
re-sends the state at once (firing alerts and resolves still within their 15 minutes).
"""

from __future__ import annotations

import json
import time
from datetime import datetime

import pytest
from pytest_httpserver import HTTPServer

from alerts.outbox import REFRESH_KEEP_S
from alerts.state_refresh import RESOLVED_RESEND_S
from tests.support.alerts import FakeClock, Feed, make_service, settings

RESEND_S = 10.0
PATH = "/api/v2/alerts"


@pytest.fixture
def peers():
    servers = [HTTPServer(host="127.0.0.1", port=0), HTTPServer(host="127.0.0.1", port=0)]
    for s in servers:
        s.start()
    yield servers
    for s in servers:
        s.clear()
        s.stop()


def _cfg(peers, **route):
    am = {"type": "alertmanager", "urls": [p.url_for("/") for p in peers], "resend_s": RESEND_S}
    hook = {"type": "webhook", "urls": [peers[0].url_for("/hook")]}
    critical = {"channels": ["am"], "repeat_interval_s": 15, **route}
    return settings(
        channels={"am": am, "hook": hook},
        routes={"critical": critical},
        instance="mon-a",
        events={"stale": False},
    )


def _posted(server) -> list[dict]:
    """Every alert posted to one peer, in order (a POST may carry several)."""
    return [a for req, _ in server.log if req.path == PATH for a in json.loads(req.get_data())]


def _ts(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def _run(svc, clock, seconds: float, step: float = 1.0) -> None:
    end = clock() + seconds
    while clock() < end - 1e-9:
        clock.advance(step)
        svc.pump()


def _ok(*servers) -> None:
    for s in servers:
        s.expect_request(PATH, method="POST").respond_with_data("")


def test_a_firing_alert_is_state_re_sent_to_every_peer_and_its_resolve_for_15_minutes(peers, tmp_path):
    _ok(*peers)
    clock = FakeClock()
    feed = Feed(clock)
    svc = make_service(feed, _cfg(peers, escalate=[{"after_s": 5, "channels": ["am"]}]), tmp_path)
    try:
        feed.health(kill_switch="triggered")
        svc.pump()
        _run(svc, clock, 35)
        for peer in peers:
            sent = _posted(peer)
            assert len(sent) == 4  # the firing, then a re-send at 10, 20 and 30 s: no repeat, no escalation
            first = sent[0]
            assert first["labels"] == {
                "alertname": "kill_switch",
                "bot": "b1",
                "severity": "critical",
                "monitor": "mon-a",
            }
            assert first["annotations"]["summary"].startswith("[CRITICAL] FIRING b1:")
            assert first["generatorURL"] == first["annotations"]["dashboard"] == "http://monitor.test:8050"
            assert _ts(sent[-1]["endsAt"]) >= time.time() + 3 * RESEND_S  # four periods ahead of the send
        feed.health(kill_switch="armed")
        resolved_at = clock() + 1
        _run(svc, clock, RESOLVED_RESEND_S + 60)
        for peer in peers:
            after = [a for a in _posted(peer)[4:]]
            assert {_ts(a["endsAt"]) for a in after} == {resolved_at}  # every later post says "ended then"
            assert len(after) == RESOLVED_RESEND_S / RESEND_S  # the resolve, then re-sends for 15 minutes
    finally:
        svc.stop()


def test_a_peer_that_is_down_is_retried_on_its_own(peers, tmp_path):
    peers[0].expect_request(PATH, method="POST").respond_with_data("down", status=503)
    _ok(peers[1])
    clock = FakeClock()
    feed = Feed(clock)
    svc = make_service(feed, _cfg(peers), tmp_path)
    try:
        feed.health(kill_switch="triggered")
        svc.pump()
        assert len(_posted(peers[1])) == 1  # the live peer is told at once
        peers[0].clear()
        _ok(peers[0])
        _run(svc, clock, 5)
        assert len(_posted(peers[0])) == 1 and _posted(peers[0])[0]["labels"]["alertname"] == "kill_switch"
    finally:
        svc.stop()


def test_a_restarted_monitor_re_sends_the_state_at_once(peers, tmp_path):
    _ok(*peers)
    clock = FakeClock()
    feed = Feed(clock)
    cfg = _cfg(peers)
    svc = make_service(feed, cfg, tmp_path)
    feed.health(kill_switch="triggered")
    feed.health(kill_switch="triggered", bot="b2")
    svc.pump()
    _run(svc, clock, 2)
    feed.health(kill_switch="armed", bot="b2")
    _run(svc, clock, 2)
    svc.stop()
    before = len(_posted(peers[1]))
    clock.advance(3)  # down for less than one period
    feed = feed.restored()
    svc = make_service(feed, cfg, tmp_path)
    try:
        _run(svc, clock, 2)
        again = _posted(peers[1])[before:]
        states = {a["labels"]["bot"]: _ts(a["endsAt"]) > time.time() for a in again}
        assert states == {"b1": True, "b2": False}  # b1 still firing, b2's resolve still re-sent
    finally:
        svc.stop()


def test_a_test_alert_is_a_short_monitor_test_alert(peers, tmp_path):
    _ok(*peers)
    svc = make_service(Feed(FakeClock()), _cfg(peers), tmp_path)
    try:
        svc.send_test(["am"])
        svc.deliver()
        [sent] = _posted(peers[0])
        assert sent["labels"]["alertname"] == "MonitorTestAlert"
        assert _ts(sent["endsAt"]) <= time.time() + RESEND_S + 1
    finally:
        svc.stop()


def test_delivered_re_sends_older_than_an_hour_are_pruned_even_of_a_firing_alert(peers, tmp_path):
    _ok(*peers)
    clock = FakeClock()
    feed = Feed(clock)
    svc = make_service(feed, _cfg(peers), tmp_path)
    try:
        feed.health(kill_switch="triggered")
        svc.pump()
        _run(svc, clock, 25)
        [alert] = svc.active()
        outbox = svc.engine.outbox
        kinds = [r.kind for r in outbox.notifications_of(alert.alert_id)]
        assert kinds.count("refresh") == 4 and kinds.count("firing") == 2  # two peers each
        assert outbox.prune(10_000, clock() + REFRESH_KEEP_S - 30, 30 * 86400.0) == 0
        assert outbox.prune(10_000, clock() + REFRESH_KEEP_S, 30 * 86400.0) == 4
        assert [r.kind for r in outbox.notifications_of(alert.alert_id)] == ["firing", "firing"]
    finally:
        svc.stop()


def test_a_forgotten_bot_s_resolve_is_re_sent_too(peers, tmp_path):
    _ok(*peers)
    clock = FakeClock()
    feed = Feed(clock)
    svc = make_service(feed, _cfg(peers), tmp_path)
    try:
        feed.health(kill_switch="triggered")
        svc.pump()
        svc.forget("b1")
        forgotten_at = clock()
        _run(svc, clock, 25)
        ends = [_ts(a["endsAt"]) for a in _posted(peers[1])[1:]]
        assert ends == [forgotten_at] * 3  # the resolve, then its re-sends at 10 and 20 s
    finally:
        svc.stop()
