"""When the state machine speaks: the first repeat of a delayed (``for:``) alert.

Pure: the state machine takes ``now``; nothing here reads a clock.
"""

from __future__ import annotations

from alerts import states
from alerts.config import Route
from alerts.rules import Observation

ROUTE = Route(channels=["hook"], repeat_interval_s=60.0)
HELD = Observation("breaker_30s", "b", "critical", "circuit breaker open", for_s=30.0)


def _at(alert: states.Alert | None, now: float) -> tuple[states.Alert | None, list[tuple[str, int]]]:
    """One evaluation with the condition still true, as the engine runs it."""
    alert, notices = states.step(alert, HELD, now, lambda _severity: ROUTE, lambda: "a1")
    if alert is not None and alert.status == states.FIRING:
        alert, more = states.due(alert, now)
        notices += more
    return alert, [(n.kind, n.n) for n in notices]


def test_the_first_repeat_of_a_delayed_alert_counts_from_when_it_fired() -> None:
    alert, sent = _at(None, 0.0)
    assert alert is not None and alert.status == states.PENDING and sent == []
    alert, sent = _at(alert, 30.0)
    assert alert is not None and alert.fired_at == 30.0 and sent == [("firing", 0)]
    # 60 s after it became pending is only 30 s after it fired: no repeat yet
    for now in (60.0, 89.0):
        alert, sent = _at(alert, now)
        assert sent == [], now
    alert, sent = _at(alert, 90.0)
    assert sent == [("repeat", 1)]
    alert, sent = _at(alert, 149.0)
    assert sent == []
    alert, sent = _at(alert, 150.0)
    assert sent == [("repeat", 2)]
