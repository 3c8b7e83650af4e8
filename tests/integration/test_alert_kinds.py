"""Every message has a kind (alert, test, report), is worded by its kind's renderer, and passes one gate.

Real SQLite outbox, real delivery workers, a real HTTP server receiving the
webhook: a Test Alert arrives as kind ``test`` (about no rule) and is shown as a
test in the delivery history; a report arrives with its title and label/value
lines; and a gate that lets nothing through leaves the outbox empty whatever the
notice (firing, repeat, escalation, failover, resolve, test, report).
"""

from __future__ import annotations

from alerts.engine import Engine
from alerts.notification import Notification, Report, ReportLine
from alerts.outbox import NewRow
from tests.support.alerts import FakeClock, Feed, bodies, make_service, settings, webhook_channel


def _service(httpserver, tmp_path, **extra):
    hook = webhook_channel(httpserver.url_for("/hook"))
    route = {
        "channels": ["hook"],
        "repeat_interval_s": 60,
        "escalate": [{"after_s": 30, "channels": ["hook2"]}],
    }
    hook2 = webhook_channel(httpserver.url_for("/hook2"))
    hook3 = webhook_channel(httpserver.url_for("/hook3"))  # in no route: reached by failover only
    channels = {"hook": hook, "hook2": hook2, "hook3": hook3}
    cfg = settings(channels=channels, routes={"critical": route}, **extra)
    clock = FakeClock()
    feed = Feed(clock)
    return make_service(feed, cfg, tmp_path), feed, clock


def test_a_test_alert_is_kind_test_about_no_rule_and_shown_as_a_test(httpserver, tmp_path) -> None:
    httpserver.expect_request("/hook").respond_with_data("ok")
    svc, _feed, _clock = _service(httpserver, tmp_path)
    try:
        test_id = svc.send_test(["hook"])
        svc.deliver()
        [body] = bodies(httpserver)
        assert body["kind"] == "test" and body["alert"]["alert_id"] == test_id
        assert "rule" not in body["alert"]  # a test is about no rule
        assert body["text"].startswith("[INFO] TEST monitor: test alert")
        [entry] = svc.publish().history
        assert (entry.kind, entry.event, entry.state, entry.title) == ("test", "test", "TEST", "Test alert")
        assert entry.channels["hook"].state == "delivered"
    finally:
        svc.stop()


def test_a_report_reaches_a_webhook_with_its_title_and_lines(httpserver, tmp_path) -> None:
    httpserver.expect_request("/hook").respond_with_data("ok")
    svc, _feed, _clock = _service(httpserver, tmp_path)
    try:
        report = Report("Daily report b1", (ReportLine("PnL", "+1,250.00 USD"), ReportLine("Fills", "42")))
        report_id = svc.send_report(report, ["hook"])
        svc.deliver()
        [body] = bodies(httpserver)
        assert body["kind"] == "report" and body["alert"]["alert_id"] == report_id
        assert body["text"] == "[REPORT] Daily report b1"
        assert body["lines"] == ["PnL: +1,250.00 USD", "Fills: 42"]
        assert body["idempotency_key"] == f"{report_id}:report:0:hook:0"
        [entry] = svc.publish().history
        assert (entry.kind, entry.state, entry.what) == ("report", "REPORT", "Daily report b1")
    finally:
        svc.stop()


class _Closed(Engine):
    """A gate that lets nothing through (what a silence of everything would be)."""

    seen: list[str]

    def gate(self, notifications: list[Notification], now: float) -> list[NewRow]:
        self.seen += [f"{n.kind}:{n.event}" for n in notifications]
        return []


def test_every_notice_passes_the_one_gate(httpserver, tmp_path) -> None:
    svc, feed, clock = _service(httpserver, tmp_path)
    svc.engine.__class__ = _Closed
    svc.engine.seen = []
    try:
        feed.health(kill_switch="triggered")
        svc.pump()
        for _ in range(200):  # repeats, the escalation and the failover deadline (nothing was delivered) pass
            clock.advance(1)
            feed.health(kill_switch="triggered")
            svc.pump()
        feed.health(kill_switch="off")
        svc.pump()
        svc.send_test(["hook"])
        svc.send_report(Report("r"), ["hook"])
        assert svc.outbox.notifications() == []  # nothing reached the outbox but through the gate
        seen = set(svc.engine.seen)
        assert {
            "alert:firing",
            "alert:repeat",
            "alert:escalation",
            "alert:failover",
            "alert:resolved",
        } <= seen
        assert {"test:test", "report:report"} <= seen
    finally:
        svc.stop()
