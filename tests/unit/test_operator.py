"""The operator facade records who acted, and its Test Alert cooldown holds whichever front end asks.

A real AlertService (real SQLite outbox in a temp dir, a real webhook receiver) on
a fake clock; the facade is driven as each front end drives it, with its actor.
"""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from app import actions
from app.dashboard.alerts_tab import AlertsTab
from app.operator import TEST_COOLDOWN_S, Operator
from tests.support.alerts import FakeClock, Feed, make_service, settings, webhook_channel


@pytest.fixture
def rig(httpserver, tmp_path):
    httpserver.expect_request("/hook").respond_with_data("ok")
    clock = FakeClock()
    feed = Feed(clock)
    cfg = settings(
        channels={"hook": webhook_channel(httpserver.url_for("/hook"))},
        routes={"critical": {"channels": ["hook"]}, "warning": {"channels": ["hook"]}},
        events={"stale": False},
    )
    svc = make_service(feed, cfg, tmp_path)
    op = Operator(svc, feed.hub, None, timezone="UTC", clock=clock)
    yield SimpleNamespace(clock=clock, feed=feed, svc=svc, op=op)
    svc.stop()


def _firing(rig) -> str:
    rig.feed.health(bot="b1", kill_switch="triggered")
    rig.svc.pump()
    (alert,) = rig.svc.active()
    return alert.alert_id


def test_an_acknowledgement_records_who_and_from_where(rig) -> None:
    alert_id = _firing(rig)
    assert rig.op.acknowledge(alert_id, actions.telegram(12345))
    (alert,) = rig.op.snapshot().active
    assert alert.acked_by == "telegram:12345"
    assert not rig.op.acknowledge("no-such-alert", actions.API)


def test_a_forget_records_its_actor_on_the_resolve_in_the_history(rig) -> None:
    _firing(rig)
    assert rig.op.forget_bot("b1", actions.API) == "b1 forgotten; 1 alert(s) closed"
    rig.svc.pump()
    resolved = [e for e in rig.op.snapshot().history if e.event == "resolved"]
    assert [e.by for e in resolved] == ["api"]
    fired = [e for e in rig.op.snapshot().history if e.event == "firing"]
    assert [e.by for e in fired] == [None]  # what the rules sent on their own names nobody


def test_a_test_alert_records_its_actor_in_the_history(rig) -> None:
    sent = rig.op.send_test(actions.DASHBOARD)
    assert sent.test_id is not None and sent.channels == ("hook",)
    rig.svc.pump()
    (entry,) = [e for e in rig.op.snapshot().history if e.kind == "test"]
    assert entry.by == "dashboard" and entry.alert_id == sent.test_id


def test_the_test_cooldown_holds_whichever_front_end_presses(rig) -> None:
    tab = AlertsTab(rig.op, clock=rig.clock)  # the page's command, actor "dashboard"
    run, message = tab.send_test(None)
    assert run is not None and message == ""
    refused = rig.op.send_test(actions.telegram(7))  # another front end, within the cooldown
    assert refused.test_id is None and "Test refused" in refused.refused
    rig.clock.advance(TEST_COOLDOWN_S - 0.5)
    assert rig.op.send_test(actions.API).test_id is None
    assert tab.send_test(None)[0] is None  # and back on the page too
    rig.clock.advance(0.5)
    assert rig.op.send_test(actions.telegram(7)).test_id is not None
    assert (
        rig.op.send_test(actions.DASHBOARD, "hook").test_id is not None
    )  # a channel's own button: its own key


def test_a_test_to_an_unknown_channel_is_refused_without_taking_the_cooldown(rig) -> None:
    assert rig.op.send_test(actions.API, "nope").refused == "Channel nope is not configured (save it first)."
    assert rig.op.send_test(actions.API).test_id is not None


def test_the_alerts_tab_reads_the_zone_without_the_ingest_lock(rig, monkeypatch) -> None:
    _firing(rig)
    tab = AlertsTab(rig.op, rig.feed.hub.metrics, clock=rig.clock)

    def ingest_lock(_fn: object) -> None:
        raise AssertionError("the page took the ingest lock for the zone")

    monkeypatch.setattr(rig.feed.hub, "under_lock", ingest_lock)
    for _ in range(3):  # every push tick
        sections = tab.sections()
        assert set(sections) == {"at-active", "at-history", "at-rules"}
    assert tab.timezone_in_force() == "UTC"
