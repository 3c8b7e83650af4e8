"""An alert store written by the previous release opens with this one, as it was left.

``tests/fixtures/alerts-store-v1.sqlite3`` was written (and never regenerated) by the
release before typed notifications: schema 1, an acknowledged firing alert of b1
(delivered to ``hook``), a resolved alert of b2 with its firing and resolve still
pending, and a Test Alert whose row was dead-lettered.  A restart on it must take
back the open alert with its acknowledgement, read every row, and show the old test
row as a test in the delivery history.
"""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

from tests.support.alerts import FakeClock, Feed, make_service, settings

FIXTURE = Path(__file__).parents[1] / "fixtures" / "alerts-store-v1.sqlite3"
FIRING_ID, RESOLVED_ID, TEST_ID = "b3e9054c2aaf4a1e", "f58a884c76a64629", "test-3c03355f6a604149"
HOOK = {"type": "webhook", "urls": ["http://127.0.0.1:9/hook"]}  # never delivered: rows are read


def _opened(tmp_path: Path):
    data = tmp_path / "data"
    data.mkdir()
    shutil.copy(FIXTURE, data / "alerts.sqlite3")
    route = {"channels": ["hook"], "repeat_interval_s": 600}
    routes = {"critical": route, "warning": route}
    cfg = settings(channels={"hook": HOOK}, routes=routes, events={"stale": False})
    return make_service(Feed(FakeClock(1_700_000_010.0)), cfg, tmp_path)


def test_a_store_of_the_previous_release_opens_with_its_alerts_and_rows(tmp_path: Path) -> None:
    svc = _opened(tmp_path)
    try:
        assert svc.outbox.previous.existed and svc.outbox.previous.last_alive == 1_700_000_005.0
        snap = svc.publish()
        [active] = snap.active
        assert (active.alert_id, active.status, active.bot, active.rule) == (
            FIRING_ID,
            "firing",
            "b1",
            "max_drawdown",
        )
        assert (active.acked_by, active.delivered) == ("alice", ("hook",))
        rows = {(r.alert_id, r.kind): r.status for r in svc.outbox.notifications()}
        assert rows == {
            (FIRING_ID, "firing"): "sent",
            (RESOLVED_ID, "firing"): "pending",
            (RESOLVED_ID, "resolved"): "pending",
            (TEST_ID, "test"): "dead",
        }
        assert [a.alert_id for a in svc.outbox.history(5)] == [FIRING_ID, RESOLVED_ID]  # acked last
        by_id = {e.alert_id: e for e in snap.history}
        assert by_id[TEST_ID].kind == "test" and by_id[TEST_ID].title == "Test alert"
        assert by_id[FIRING_ID].kind == "alert" and by_id[FIRING_ID].event == "firing"
    finally:
        svc.stop()
    with sqlite3.connect(tmp_path / "data" / "alerts.sqlite3") as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == 1  # the layout is unchanged
