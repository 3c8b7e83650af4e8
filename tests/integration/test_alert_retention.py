"""The alert store is bounded in time: dead letters and delivered history past the retention go.

A real SQLite outbox on a fake clock: notifications are dead-lettered or delivered
at chosen times, the clock moves on, and the hourly prune (``alerts.delivery.
retention_days``) removes what is older than the retention, and only that: an open
alert's notifications and anything still pending stay, whatever their age.
"""

from __future__ import annotations

import sqlite3

from alerts.outbox import NewRow, Outbox
from alerts.states import FIRING, RESOLVED, Alert
from tests.support.alerts import FakeClock, Feed, make_service, settings
from tests.support.waiting import wait_until

DAY = 86400.0


def _alert(aid: str, status: str, at: float) -> Alert:
    return Alert(aid, f"k-{aid}", "r", "b", "warning", status, at, updated_at=at)


def _row(aid: str, n: int = 0) -> NewRow:
    return NewRow(f"{aid}:firing:{n}:hook:d", aid, "hook", "d", "firing", "warning", {})


def _rows(path: str) -> dict[str, str]:
    """Each notification's alert id and status, straight from the file."""
    db = sqlite3.connect(path)
    try:
        return dict(db.execute("SELECT alert_id, status FROM notifications").fetchall())
    finally:
        db.close()


def _ids(box: Outbox, aid: str) -> list[int]:
    return [r.id for r in box.notifications(alert_id=aid)]


def _history(box: Outbox, clock: FakeClock) -> None:
    """Old: a dead letter, a delivered resolve, an open alert's row, a pending row; recent: a dead letter."""
    box.write([_alert("old-dead", RESOLVED, clock())], [_row("old-dead")], clock())
    box.write([_alert("old-sent", RESOLVED, clock())], [_row("old-sent")], clock())
    box.write([_alert("open", FIRING, clock())], [_row("open")], clock())
    box.write([], [_row("old-pending")], clock())
    box.dead(_ids(box, "old-dead"), "HTTP 404", clock())
    box.sent(_ids(box, "old-sent") + _ids(box, "open"), clock())
    clock.advance(29 * DAY)
    box.write([_alert("new-dead", RESOLVED, clock())], [_row("new-dead")], clock())
    box.dead(_ids(box, "new-dead"), "HTTP 404", clock())
    clock.advance(2 * DAY)  # the old ones are 31 days old, the new one 2 days


def test_prune_drops_finished_notifications_older_than_the_retention(tmp_path) -> None:
    clock = FakeClock()
    box = Outbox(str(tmp_path))
    _history(box, clock)
    assert box.prune(10_000, clock(), 30 * DAY) == 2
    assert _rows(box.path) == {"new-dead": "dead", "open": "sent", "old-pending": "pending"}
    assert [a.alert_id for a in box.history(10)] == ["new-dead", "open"]
    box.close()


def test_the_evaluator_prunes_with_the_configured_retention(tmp_path) -> None:
    clock = FakeClock()
    feed = Feed(clock)
    svc = make_service(feed, settings(delivery={"retention_days": 30}, events={"stale": False}), tmp_path)
    _history(svc.outbox, clock)
    svc.start()
    try:
        wait_until(lambda: "old-dead" not in _rows(svc.outbox.path), timeout=10)
    finally:
        svc.stop()
    assert _rows(svc.outbox.path) == {"new-dead": "dead", "open": "sent", "old-pending": "pending"}


def test_the_store_stays_bounded_over_months_of_dead_letters(tmp_path) -> None:
    clock = FakeClock()
    box = Outbox(str(tmp_path))
    for day in range(120):  # ten dead letters a day for four months, pruned hourly as the evaluator does
        for n in range(10):
            aid = f"d{day}-{n}"
            box.write([_alert(aid, RESOLVED, clock())], [_row(aid)], clock())
            box.dead(_ids(box, aid), "HTTP 410", clock())
        clock.advance(DAY)
        box.prune(10_000, clock(), 30 * DAY)
        assert len(_rows(box.path)) <= 10 * 31
    box.close()
