"""The in-memory store of a failing alert store: bounded, most urgent kept and sent first."""

from __future__ import annotations

from alerts.held import HeldStore
from alerts.outbox import NewRow


def _row(n: int, severity: str) -> NewRow:
    return NewRow(f"a{n}:firing:0:hook:d", f"a{n}", "hook", "d", "firing", severity, {"n": n})


def test_beyond_its_bound_the_oldest_least_urgent_goes_never_a_critical_one_first() -> None:
    held = HeldStore(max_rows=3)
    held.hold([], [_row(1, "critical"), _row(2, "info"), _row(3, "info")], 0.0)
    held.hold([], [_row(4, "warning")], 1.0)
    assert [r.alert_id for r in held.take("hook", "d", 2.0, 10)] == ["a1", "a4", "a3"]
    assert held.dropped == 1  # a2: the oldest info


def test_a_row_being_sent_is_never_dropped_and_a_held_notice_is_held_once() -> None:
    held = HeldStore(max_rows=1)
    held.hold([], [_row(1, "info")], 0.0)
    (sending,) = held.take("hook", "d", 0.0, 10)
    held.hold([], [_row(2, "critical"), _row(2, "critical")], 1.0)
    held.settle([sending.id], "sent", 2.0)
    assert held.delivered() == {"a1"}
    assert [r.alert_id for r in held.take("hook", "d", 2.0, 10)] == ["a2"]


def test_a_retry_waits_until_its_time() -> None:
    held = HeldStore()
    held.hold([], [_row(1, "critical")], 0.0)
    (row,) = held.take("hook", "d", 0.0, 10)
    held.settle([row.id], "retry", 0.0, "HTTP 503", due_at=5.0)
    assert held.take("hook", "d", 4.0, 10) == []
    assert held.next_due("hook") == {"d": 5.0}
    (again,) = held.take("hook", "d", 5.0, 10)
    assert again.attempts == 1  # attempts before this one, as a claim from the file says
