"""The outbox stays bounded: ended alerts beyond the newest N and their delivered rows are pruned;
firing alerts and dead-lettered notifications never are."""

from __future__ import annotations

import sqlite3

from alerts.outbox import NewRow, Outbox
from alerts.states import FIRING, RESOLVED, Alert


def alert(i: int, status: str) -> Alert:
    return Alert(
        alert_id=f"a{i}",
        key=f"k{i}",
        rule="r",
        bot="b",
        severity="warning",
        status=status,
        since=float(i),
        updated_at=float(i),
    )


def row(i: int) -> NewRow:
    return NewRow(
        idem=f"a{i}:firing:0:hook:d",
        alert_id=f"a{i}",
        channel="hook",
        dest="d",
        kind="firing",
        severity="warning",
        payload={},
    )


def counts(path: str) -> tuple[int, int]:
    db = sqlite3.connect(path)
    try:
        return (
            db.execute("SELECT COUNT(*) FROM alerts").fetchone()[0],
            db.execute("SELECT COUNT(*) FROM notifications").fetchone()[0],
        )
    finally:
        db.close()


def test_prune_keeps_the_newest_ended_alerts_and_everything_still_open(tmp_path) -> None:
    box = Outbox(str(tmp_path))
    box.write(
        [alert(i, RESOLVED) for i in range(50)] + [alert(100, FIRING)],
        [row(i) for i in range(50)] + [row(100)],
        now=1.0,
    )
    box._db.execute("UPDATE notifications SET status='sent'")
    box._db.execute("UPDATE notifications SET status='dead' WHERE alert_id='a0'")
    box.prune(keep=10)
    n_alerts, n_rows = counts(box.path)
    box.close()
    # the 10 newest rows of `alerts` include the firing one: 9 resolved + 1 firing survive
    assert n_alerts == 10
    # their 10 sent rows remain, plus a0's dead-lettered row (never deleted silently)
    assert n_rows == 11
