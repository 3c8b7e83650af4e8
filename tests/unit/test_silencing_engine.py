"""Silences applied at the engine's one gate, through the real SQLite alert store and a real webhook.

A real AlertService (its outbox in a temp dir) on a fake clock, driven through the
operator facade as the front ends drive it; a pytest-httpserver receives what is sent.
"""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from app import actions
from app.operator import Operator
from tests.support.alerts import FakeClock, Feed, bodies, kinds, make_service, settings, webhook_channel

HOUR = 3600.0


def _cfg(url: str, **route: object):
    return settings(
        channels={"hook": webhook_channel(url), "pager": webhook_channel(url + "?pager")},
        routes={"critical": {"channels": ["hook"], **route}, "warning": {"channels": ["hook"]}},
        events={"stale": False},
    )


@pytest.fixture
def rig(httpserver, tmp_path):
    httpserver.expect_request("/hook").respond_with_data("ok")
    clock = FakeClock()
    feed = Feed(clock)
    svc = make_service(feed, _cfg(httpserver.url_for("/hook")), tmp_path)
    op = Operator(svc, feed.hub, None, timezone="UTC", clock=clock)
    yield SimpleNamespace(clock=clock, feed=feed, svc=svc, op=op, server=httpserver, tmp_path=tmp_path)
    svc.stop()


def _kill(rig, state: str = "triggered") -> None:
    rig.feed.health(bot="b1", kill_switch=state)
    rig.svc.pump()


def _sent(rig) -> list[str]:
    return [kind for rule, kind in kinds(rig.server) if rule == "kill_switch"]


def test_a_silenced_firing_is_not_sent_but_shown_firing_and_silenced(rig) -> None:
    made = rig.op.silence("b1", "kill_switch", "*", HOUR, "maintenance", actions.API)
    assert made.refused == "" and made.silence is not None
    _kill(rig)
    (alert,) = rig.op.snapshot().active
    assert alert.status == "firing" and alert.silenced_by == "api" and alert.silence_id == made.silence.id
    assert alert.silenced_until == made.silence.ends_at
    assert _sent(rig) == []
    assert rig.svc.outbox.notifications() == []  # no row written at all


def test_a_silence_of_another_bot_mutes_nothing(rig) -> None:
    rig.op.silence("b2", "kill_switch", "*", HOUR, "", actions.API)
    _kill(rig)
    assert _sent(rig) == ["firing"]
    assert rig.op.snapshot().active[0].silence_id == ""


def test_the_end_of_a_silence_while_firing_notifies_exactly_once(rig) -> None:
    rig.op.silence("b1", "*", "critical", 600, "", actions.telegram(5))
    _kill(rig)
    rig.clock.advance(599)
    rig.svc.pump()
    assert _sent(rig) == []
    rig.clock.advance(1)  # the end passes: the tick notices it, no event needed
    rig.svc.pump()
    for _ in range(3):
        rig.clock.advance(1)
        rig.svc.pump()
    assert _sent(rig) == ["firing"]
    (alert,) = rig.op.snapshot().active
    assert alert.silence_id == "" and not alert.suppressed and alert.notified == ("hook",)
    _kill(rig, "off")
    assert _sent(rig) == ["firing", "resolved"]


def test_a_resolve_whose_firing_was_never_notified_is_not_sent(rig) -> None:
    rig.op.silence("b1", "kill_switch", "*", HOUR, "", actions.API)
    _kill(rig)
    _kill(rig, "off")
    assert rig.op.snapshot().active == ()
    rig.clock.advance(2 * HOUR)  # and the silence's end brings back nothing
    rig.svc.pump()
    assert _sent(rig) == [] and rig.svc.outbox.notifications() == []


def test_repeats_and_escalations_are_muted_then_made_up_for_once(httpserver, tmp_path) -> None:
    httpserver.expect_request("/hook").respond_with_data("ok")
    clock = FakeClock()
    feed = Feed(clock)
    cfg = _cfg(
        httpserver.url_for("/hook"),
        repeat_interval_s=60,
        escalate=[{"after_s": 120, "channels": ["pager"]}],
    )
    svc = make_service(feed, cfg, tmp_path)
    op = Operator(svc, feed.hub, None, timezone="UTC", clock=clock)
    try:
        feed.health(bot="b1", kill_switch="triggered")
        svc.pump()  # fired and told before the silence
        made = op.silence("b1", "kill_switch", "*", HOUR, "", actions.DASHBOARD)
        for _ in range(10):  # 10 minutes: 9 repeats due, the escalation due
            clock.advance(60)
            svc.pump()
        events = [(r.channel, r.kind) for r in svc.outbox.notifications()]
        assert events == [("hook", "firing")]
        assert op.unsilence(made.silence.id, actions.DASHBOARD)
        assert not op.unsilence(made.silence.id, actions.DASHBOARD)  # already ended
        svc.pump()
        events = [(r.channel, r.kind) for r in svc.outbox.notifications()]
        assert events == [("hook", "firing"), ("pager", "firing")]  # the escalation's channel told once
        (row,) = [r for r in svc.outbox.notifications() if r.channel == "pager"]
        assert row.payload["by"] == "dashboard"
    finally:
        svc.stop()


def test_a_failover_never_resends_a_muted_firing(rig) -> None:
    rig.op.silence("b1", "kill_switch", "*", HOUR, "", actions.API)
    _kill(rig)
    for _ in range(5):  # far past the failover deadline
        rig.clock.advance(60)
        rig.svc.pump()
    assert rig.svc.outbox.notifications() == []


def test_silences_and_suppressed_firing_survive_a_restart(httpserver, tmp_path) -> None:
    httpserver.expect_request("/hook").respond_with_data("ok")
    clock = FakeClock()
    feed = Feed(clock)
    svc = make_service(feed, _cfg(httpserver.url_for("/hook")), tmp_path)
    made = Operator(svc, feed.hub, None, timezone="UTC", clock=clock).silence(
        "b1", "kill_switch", "*", 600, "", actions.API
    )
    feed.health(bot="b1", kill_switch="triggered")
    svc.pump()
    svc.stop()
    feed = feed.restored()
    svc = make_service(feed, _cfg(httpserver.url_for("/hook")), tmp_path)
    try:
        op = Operator(svc, feed.hub, None, timezone="UTC", clock=clock)
        assert [s.id for s in op.silences()] == [made.silence.id]
        feed.health(bot="b1", kill_switch="triggered")
        svc.pump()
        assert svc.outbox.notifications() == []  # still muted after the restart
        clock.advance(601)
        svc.pump()
        svc.pump()
        assert [r.kind for r in svc.outbox.notifications()] == ["firing"]
    finally:
        svc.stop()


def test_tests_are_never_silenced(rig) -> None:
    rig.op.silence("(monitor)", "*", "*", HOUR, "", actions.API)
    rig.op.silence("*", "*", "info", HOUR, "", actions.API)
    assert rig.op.send_test(actions.API).test_id is not None
    rig.svc.pump()
    assert [b["alert"]["kind"] for b in bodies(rig.server)] == ["test", "test"]  # hook and pager


def test_the_listing_shows_active_first_then_ended_for_five_days(rig) -> None:
    old = rig.op.silence("b1", "*", "*", 60, "", actions.API).silence
    live = rig.op.silence("b2", "*", "*", HOUR, "", actions.API).silence
    rig.clock.advance(120)
    gone = rig.op.silence("b3", "*", "*", HOUR, "", actions.API).silence
    assert rig.op.unsilence(gone.id, "telegram:9")
    assert [s.id for s in rig.op.silences()] == [live.id, gone.id, old.id]
    assert rig.op.silences()[1].expired_by == "telegram:9"
    rig.clock.advance(5 * 86400 - 30)  # the first ended 5 days and 30 s ago: no longer listed
    assert [s.id for s in rig.op.silences()] == [live.id, gone.id]  # both ended: the newest end first


def test_silence_alert_takes_the_alerts_bot_and_rule(rig) -> None:
    _kill(rig)
    (alert,) = rig.op.snapshot().active
    made = rig.op.silence_alert(alert.alert_id, HOUR, actions.telegram(3), "on it")
    assert (made.silence.bot, made.silence.rule, made.silence.severity) == ("b1", "kill_switch", "*")
    assert made.silence.comment == "on it" and made.silence.author == "telegram:3"
    assert rig.op.silence_alert("nope", HOUR, actions.API).refused == "No open alert nope."


def test_refusals_name_the_field(rig) -> None:
    assert "everything" in rig.op.silence("*", "*", "*", HOUR, "", actions.API).refused
    assert rig.op.silence("b1", "nope", "*", HOUR, "", actions.API).refused.startswith("rule:")
    assert rig.op.silence("b1", "*", "loud", HOUR, "", actions.API).refused.startswith("severity:")
    assert rig.op.silence("b1", "*", "*", 8 * 86400, "", actions.API).refused.startswith("duration:")
    assert rig.op.silences() == ()
