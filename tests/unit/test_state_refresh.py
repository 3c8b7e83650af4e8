"""The state re-sends to a stateful channel type, decided on plain values (no clock, no store)."""

from __future__ import annotations

from dataclasses import replace

import msgspec

from alerts.config import AlertsSettings
from alerts.state_refresh import RESOLVED_RESEND_S, StateRefresh
from alerts.states import FIRING, RESOLVED, Alert, Notice

CFG = msgspec.convert(
    {
        "channels": {
            "am": {"type": "alertmanager", "urls": ["http://am1:9093"], "resend_s": 60},
            "hook": {"type": "webhook", "urls": ["https://example.org/hook"]},
        },
        "routes": {"critical": {"channels": ["am", "hook"], "repeat_interval_s": 60}},
    },
    AlertsSettings,
)


def _alert(alert_id: str = "a1", key: str = "kill_switch|b1", **kw) -> Alert:
    base = {"status": FIRING, "since": 0.0, "fired_at": 0.0, "notified": ("am", "hook")}
    return Alert(
        alert_id=alert_id, key=key, rule="kill_switch", bot="b1", severity="critical", **{**base, **kw}
    )


def _refreshes(out: list[tuple[Alert, Notice]]) -> list[tuple[str, tuple[str, ...]]]:
    return [(a.alert_id, n.channels) for a, n in out if n.kind == "refresh"]


def test_repeats_and_escalation_steps_leave_out_the_stateful_channel() -> None:
    r = StateRefresh(lambda since: [])
    a = _alert()
    notices = [(a, Notice("a1", "repeat", ("am", "hook"), 1)), (a, Notice("a1", "escalation", ("am",), 0))]
    out = r.notices(CFG, [], notices, 10.0)
    assert [(n.kind, n.channels) for _, n in out] == [("repeat", ("hook",))]


def test_a_firing_alert_is_re_sent_every_period_to_its_stateful_channels_only() -> None:
    r = StateRefresh(lambda since: [])
    a = _alert()
    assert r.notices(CFG, [a], [(a, Notice("a1", "firing", ("am", "hook")))], 0.0) == [
        (a, Notice("a1", "firing", ("am", "hook")))
    ]
    sent = [t for t in range(1, 200) if _refreshes(r.notices(CFG, [a], [], float(t)))]
    assert sent == [60, 120, 180]


def test_a_resolve_is_re_sent_for_15_minutes_unless_the_same_alert_fires_again() -> None:
    r = StateRefresh(lambda since: [])
    gone = _alert(status=RESOLVED, resolved_at=100.0)
    r.notices(CFG, [], [(gone, Notice("a1", "resolved", ("am", "hook")))], 100.0)
    times = [t for t in range(101, 1200) if _refreshes(r.notices(CFG, [], [], float(t)))]
    assert times == list(range(160, int(100 + RESOLVED_RESEND_S), 60))
    r = StateRefresh(lambda since: [])
    r.notices(CFG, [], [(gone, Notice("a1", "resolved", ("am",)))], 100.0)
    again = _alert("a2", fired_at=130.0)
    assert _refreshes(r.notices(CFG, [again], [(again, Notice("a2", "firing", ("am",)))], 170.0)) == []


def test_after_a_restart_the_state_is_re_sent_at_once() -> None:
    asked = []
    ended = _alert("a0", key="kill_switch|b2", status=RESOLVED, resolved_at=50.0)
    r = StateRefresh(lambda since: asked.append(since) or [ended])
    firing = replace(_alert(), notified=("am",))
    assert sorted(_refreshes(r.notices(CFG, [firing], [], 100.0))) == [("a0", ("am",)), ("a1", ("am",))]
    r.notices(CFG, [firing], [], 101.0)
    assert asked == [100.0 - RESOLVED_RESEND_S]  # read back once
