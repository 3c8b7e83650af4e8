"""A full alert store is loud: alerts are held in memory, sent from there, and written back later.

A real SQLite outbox made full the way a full disk makes it (SQLite answers
"database or disk is full"): its page limit is pinned and its free space
filled.  A critical alert then still reaches a real local webhook and the
published snapshot, the failure is logged once (not per evaluation) and shown in
the status; once there is room again the store resumes, says so, writes what was
held (the delivered FIRING as sent) and sends nothing twice.  Fake clock, the
service driven synchronously (``evaluate``/``deliver``).
"""

from __future__ import annotations

import logging
import sqlite3

import pytest

from tests.support.alerts import FakeClock, Feed, bodies, make_service, settings, webhook_channel

_FILL = {
    "alerts": "INSERT INTO alerts VALUES ('fill-' || ?, 'fill', 'filler', 'info', 0, randomblob(?))",
    "notifications": "INSERT INTO notifications (idem, alert_id, channel, dest, kind, prio, payload,"
    " created_at, due_at, status) VALUES ('fill-' || ?, 'fill', 'fill', 'fill', 'fill', 9, randomblob(?),"
    " 0, 0, 'filler')",
}


def _fill(db: sqlite3.Connection) -> None:
    """No room left in the file, not even in its tables' pages: every write fails as on a full disk."""
    pages = db.execute("PRAGMA page_count").fetchone()[0]
    db.execute(f"PRAGMA max_page_count = {pages + 4}")
    n = 0
    for sql in _FILL.values():
        for size in (2048, 256, 32, 1):
            try:
                while True:
                    n += 1
                    db.execute(sql, (n, size))
            except sqlite3.OperationalError as exc:
                assert "full" in str(exc)


def _free(db: sqlite3.Connection) -> None:
    """Room again: the limit lifted, the filler deleted."""
    db.execute("PRAGMA max_page_count = 1073741823")
    db.execute("DELETE FROM alerts WHERE status='filler'")
    db.execute("DELETE FROM notifications WHERE status='filler'")


@pytest.fixture
def hook(httpserver):
    httpserver.expect_request("/hook").respond_with_data("ok")
    return httpserver


def _service(feed: Feed, hook, tmp_path):
    route = {"channels": ["hook"], "repeat_interval_s": None}
    cfg = settings(
        channels={"hook": webhook_channel(hook.url_for("/hook"))},
        routes={"critical": route, "warning": {"channels": []}, "info": {"channels": []}},
        events={"stale": False},
    )
    return make_service(feed, cfg, tmp_path)


def _kinds(hook) -> list[tuple[str, str]]:
    return [(b["alert"]["rule"], b["alert"]["kind"]) for b in bodies(hook)]


def _log_count(caplog, event: str) -> int:
    return sum(1 for r in caplog.records if f"event={event} " in r.getMessage() + " ")


def test_a_critical_alert_reaches_the_channel_and_the_page_while_the_store_is_full(
    hook, tmp_path, caplog
) -> None:
    caplog.set_level(logging.INFO)
    clock = FakeClock()
    feed = Feed(clock)
    svc = _service(feed, hook, tmp_path)
    feed.account(100_000.0)
    svc.pump()
    _fill(svc.outbox._db)

    feed.account(80_000.0)  # a 20 % drawdown: critical
    svc.pump()
    assert _kinds(hook) == [("max_drawdown", "firing")]  # sent from memory
    snap = svc.snapshot()
    assert [a.rule for a in snap.active] == ["max_drawdown"]
    store = snap.status.store
    assert (store.ok, store.held_alerts) == (False, 1)
    assert "full" in (store.error or "")
    for _ in range(5):  # evaluations go on, failing the same way: said once
        clock.advance(1.5)
        svc.pump()
    assert _log_count(caplog, "alert_store_failing") == 1
    assert _kinds(hook) == [("max_drawdown", "firing")]

    _free(svc.outbox._db)
    clock.advance(1.5)
    svc.pump()
    status = svc.snapshot().status.store
    assert (status.ok, status.resumed_at) == (True, clock())
    assert _log_count(caplog, "alert_store_resumed") == 1
    rows = svc.outbox.notifications()
    assert [(r.kind, r.status) for r in rows] == [("firing", "sent")]  # written back as delivered
    assert [a.status for a in svc.outbox.history(5)] == ["firing"]

    clock.advance(10)
    svc.pump()
    assert _kinds(hook) == [("max_drawdown", "firing")]  # nothing sent twice
    feed.account(100_000.0)  # and the store works as before
    svc.pump()
    assert _kinds(hook) == [("max_drawdown", "firing"), ("max_drawdown", "resolved")]
    svc.stop()
