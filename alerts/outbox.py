"""The durable outbox: the queue of outgoing notifications, in the alert store's SQLite (WAL) file.

Why SQLite: a state change and the notifications it causes must be written in one
transaction, so that a crash can neither lose a notification nor re-announce an
alert after a restart.  Workers claim rows with a short lease; a row whose lease
expired (the process died mid-send) is simply claimable again.  Each row carries
an idempotency key (sent to webhooks as ``Idempotency-Key``) so a receiver can
drop the at-most-in-flight duplicates a crash may cause.

One connection guarded by a lock: the write rate is alert-sized (tens per second
at worst, batched per evaluation), far below what one connection sustains.

The file's schema and migrations are ``alerts/store_schema.py``; the alert states
are ``alerts/alert_store.py`` (``Outbox.states``), written in the outbox's
transactions.  Product code reads through the typed queries below only: no SQL
leaves this module.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterable
from typing import Any

from alerts import alert_store
from alerts.alert_store import AlertStore, Memory
from alerts.catalog import urgent_first
from alerts.notification import REFRESH_EVENT
from alerts.read_model import DeliveryCounts, DeliveryRow
from alerts.rows import HeldRow, NewRow, Row
from alerts.silence_store import SilenceStore
from alerts.states import FIRING, PENDING, Alert
from alerts.store_schema import SCHEMA_VERSION, PreviousRun, SchemaError, Tx, connect, migrate

__all__ = ["SCHEMA_VERSION", "HeldRow", "NewRow", "Outbox", "PreviousRun", "Row", "SchemaError"]


class Outbox:
    """All SQLite access of the alert engine. Thread-safe."""

    def __init__(self, data_dir: str, filename: str = "alerts.sqlite3") -> None:
        self.path, self._db = connect(data_dir, filename)
        self._lock = threading.Lock()
        self.previous = migrate(self._db, self.path)
        self.states = AlertStore(self._db, self._lock)
        self.silences = SilenceStore(self._db, self._lock)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    @property
    def version(self) -> int:
        """Changes written so far by this (the only) connection: the dashboard recomputes on change."""
        with self._lock:
            return self._db.total_changes

    def _tx(self) -> Tx:
        return Tx(self._db, self._lock)

    # ---- writes ---------------------------------------------------------
    def write(
        self,
        alerts: Iterable[Alert],
        rows: Iterable[NewRow],
        now: float,
        *,
        memory: Memory | None = None,
        alive: bool = False,
    ) -> int:
        """Persist state changes and their notifications atomically; returns rows inserted.

        ``INSERT OR IGNORE`` on the idempotency key makes re-enqueueing a notice a no-op.
        ``memory`` (counter rules' last value and move time) and the ``alive`` heartbeat
        go in the same transaction, so a restart never sees a state without the memory
        that produced it.
        """
        with self._tx() as db:
            alert_store.put_states(db, alerts, now, memory, alive)
            before = db.total_changes
            db.executemany(
                "INSERT OR IGNORE INTO notifications (idem, alert_id, channel, dest, kind, prio, payload,"
                " created_at, due_at) VALUES (?,?,?,?,?,?,?,?,?)",
                [
                    (
                        r.idem,
                        r.alert_id,
                        r.channel,
                        r.dest,
                        r.kind,
                        min(urgent_first(r.severity), urgent_first("info")),  # claimed in this order
                        json.dumps(r.payload, default=str),
                        now,
                        now,
                    )
                    for r in rows
                ],
            )
            return db.total_changes - before

    def write_held(
        self,
        alerts: Iterable[Alert],
        rows: Iterable[HeldRow],
        now: float,
        *,
        memory: Memory | None = None,
    ) -> None:
        """Write back what was held in memory while the store failed, in one transaction.

        Each notification goes in with its outcome (one delivered from memory is stored
        as sent, so it is never sent again); the states and counter memory go with them.
        """
        with self._tx() as db:
            alert_store.put_states(db, alerts, now, memory, True)
            db.executemany(
                "INSERT OR IGNORE INTO notifications (idem, alert_id, channel, dest, kind, prio, payload,"
                " created_at, due_at, attempts, status, last_error, sent_at)"
                " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
                [
                    (
                        h.new.idem,
                        h.new.alert_id,
                        h.new.channel,
                        h.new.dest,
                        h.new.kind,
                        min(urgent_first(h.new.severity), urgent_first("info")),
                        json.dumps(h.new.payload, default=str),
                        h.created_at,
                        h.due_at,
                        h.attempts,
                        h.status,
                        h.last_error,
                        h.sent_at,
                    )
                    for h in rows
                ],
            )

    def heartbeat(self, now: float) -> None:
        """Record that the monitor is alive at ``now``: the "stopped at about" of the next start.

        Written without an fsync (``synchronous=NORMAL`` for this statement only): a
        killed process loses nothing the kernel already has, and a once-a-second
        heartbeat must not cost a disk flush each time.  Power loss may cost the
        newest few: the next start then names a slightly earlier stop.
        """
        with self._lock:
            self._db.execute("PRAGMA synchronous=NORMAL")
            try:
                alert_store.put_heartbeat(self._db, now)
            finally:
                self._db.execute("PRAGMA synchronous=FULL")

    def claim(self, channel: str, dests: list[str], now: float, lease_s: float, limit: int) -> list[Row]:
        """Lease up to ``limit`` due rows of one channel for the given destinations, most severe first."""
        if not dests:
            return []
        marks = ",".join("?" * len(dests))
        with self._tx() as db:
            cur = db.execute(
                "SELECT id, idem, alert_id, channel, dest, kind, prio, payload, created_at, attempts"
                " FROM notifications WHERE status='pending' AND channel=? AND due_at<=?"
                f" AND (lease_until IS NULL OR lease_until<=?) AND dest IN ({marks})"
                " ORDER BY prio, id LIMIT ?",
                (channel, now, now, *dests, limit),
            )
            rows = [
                Row(r[0], r[1], r[2], r[3], r[4], r[5], r[6], json.loads(r[7]), r[8], r[9])
                for r in cur.fetchall()
            ]
            db.executemany(
                "UPDATE notifications SET lease_until=?, attempts=attempts+1 WHERE id=?",
                [(now + lease_s, r.id) for r in rows],
            )
        return rows

    def sent(self, ids: list[int], now: float) -> None:
        with self._tx() as db:
            db.executemany(
                "UPDATE notifications SET status='sent', sent_at=?, lease_until=NULL,"
                " last_error=NULL WHERE id=?",
                [(now, i) for i in ids],
            )

    def retry(self, ids: list[int], due_at: float, error: str) -> None:
        with self._tx() as db:
            db.executemany(
                "UPDATE notifications SET due_at=?, lease_until=NULL, last_error=? WHERE id=?",
                [(due_at, error[:500], i) for i in ids],
            )

    def release(self, ids: list[int]) -> None:
        """Give back claimed rows untouched (not an attempt): they were not sent."""
        with self._tx() as db:
            db.executemany(
                "UPDATE notifications SET lease_until=NULL, attempts=attempts-1 WHERE id=?",
                [(i,) for i in ids],
            )

    def dead(self, ids: list[int], error: str, now: float) -> None:
        """Dead-letter: kept with its last error, never silently dropped."""
        with self._tx() as db:
            db.executemany(
                "UPDATE notifications SET status='dead', lease_until=NULL, last_error=?,"
                " sent_at=? WHERE id=?",
                [(error[:500], now, i) for i in ids],
            )

    def dead_unroutable(self, channel: str, live_dests: list[str], now: float, why: str) -> int:
        """Dead-letter pending rows whose channel or destination no longer exists in the config.

        A channel with no live destination was removed from the settings: every
        pending row of it goes, with a reason that says so (an empty ``NOT IN ()``
        would match nothing and leave them pending, unseen).
        """
        if not live_dests:
            why = f"channel {channel!r} is not configured: it was removed from the settings"
            where, args = "", ()
        else:
            where, args = f" AND dest NOT IN ({','.join('?' * len(live_dests))})", tuple(live_dests)
        with self._tx() as db:
            cur = db.execute(
                "UPDATE notifications SET status='dead', lease_until=NULL, last_error=?, sent_at=?"
                f" WHERE status='pending' AND channel=?{where}",
                (why, now, channel, *args),
            )
            return cur.rowcount

    def pending_channels(self) -> list[str]:
        with self._lock:
            return [
                r[0]
                for r in self._db.execute("SELECT DISTINCT channel FROM notifications WHERE status='pending'")
            ]

    def reset_leases(self) -> int:
        """At start-up nothing of ours is in flight: rows leased by a dead process are due now."""
        with self._tx() as db:
            return db.execute(
                "UPDATE notifications SET lease_until=NULL WHERE status='pending' AND lease_until IS NOT NULL"
            ).rowcount

    # ---- reads ----------------------------------------------------------
    def next_due_by_dest(self, channel: str) -> dict[str, float]:
        """Per destination, the earliest time one of its rows becomes claimable (due, lease expired)."""
        with self._lock:
            rows = self._db.execute(
                "SELECT dest, MIN(MAX(due_at, COALESCE(lease_until, 0))) FROM notifications"
                " WHERE status='pending' AND channel=? GROUP BY dest",
                (channel,),
            ).fetchall()
        return dict(rows)

    def channel_counts(self) -> dict[str, DeliveryCounts]:
        """Per channel with any, its rows pending and dead (the Health tab's delivery backlog)."""
        with self._lock:
            rows = self._db.execute(
                "SELECT channel, status, COUNT(*) FROM notifications"
                " WHERE status IN ('pending','dead') GROUP BY channel, status"
            ).fetchall()
        return _counts(rows, ())

    def delivery_of(self, alert_ids: list[str]) -> dict[str, DeliveryCounts]:
        """Per alert, how many of its notification rows are sent / pending / dead."""
        if not alert_ids:
            return {}
        rows = self._of_alerts("alert_id, status, COUNT(*)", alert_ids, "GROUP BY alert_id, status")
        return _counts(rows, alert_ids)

    def notifications(
        self, *, alert_id: str | None = None, channel: str | None = None, status: str | None = None
    ) -> list[DeliveryRow]:
        """Stored rows, oldest first, filtered by any of alert, channel and status (tests, the history)."""
        terms = [(c, v) for c, v in (("alert_id", alert_id), ("channel", channel), ("status", status)) if v]
        where = " AND ".join(f"{c}=?" for c, _ in terms) or "1=1"
        return self._rows(f"{where} ORDER BY id", tuple(v for _, v in terms))

    def latest_notifications(self, limit: int) -> list[DeliveryRow]:
        """The newest ``limit`` rows, newest first (the dashboard's delivery history).

        Without the state re-sends to stateful channels (``refresh``, every minute per alert):
        the history lists what was said, and a re-send says nothing new.
        """
        return self._rows("kind != ? ORDER BY id DESC LIMIT ?", (REFRESH_EVENT, limit))

    def notifications_of(self, alert_id: str) -> list[DeliveryRow]:
        """Every row of one alert (or test), oldest first: a Test Alert's per-channel results."""
        return self.notifications(alert_id=alert_id)

    def sent_channels(self, alert_ids: Iterable[str]) -> dict[str, tuple[str, ...]]:
        """Per alert, the channels with at least one row sent (one query for all of them)."""
        ids = list(alert_ids)
        if not ids:
            return {}
        out: dict[str, set[str]] = {}
        for aid, channel in self._of_alerts("DISTINCT alert_id, channel", ids, "AND status='sent'"):
            out.setdefault(aid, set()).add(channel)
        return {aid: tuple(sorted(chans)) for aid, chans in out.items()}

    def _of_alerts(self, columns: str, alert_ids: list[str], rest: str) -> list[tuple]:
        """``columns`` of the rows of these alerts; ``rest`` (a further condition, a grouping)
        is this module's own SQL, never a caller's."""
        marks = ",".join("?" * len(alert_ids))
        with self._lock:
            sql = f"SELECT {columns} FROM notifications WHERE alert_id IN ({marks}) {rest}"
            return self._db.execute(sql, alert_ids).fetchall()

    def _rows(self, where_order: str, args: tuple) -> list[DeliveryRow]:
        """Rows of this module's own conditions (never a caller's SQL), typed."""
        with self._lock:
            cur = self._db.execute(f"SELECT {_ROW_COLUMNS} FROM notifications WHERE {where_order}", args)
            rows = cur.fetchall()
        return [_delivery_row(r) for r in rows]

    # ---- the alert states (alerts/alert_store.py), for the engine ------
    def load_memory(self) -> dict[tuple[str, str], tuple[Any, float | None]]:
        return self.states.load_memory()

    def load_active(self) -> list[Alert]:
        return self.states.load_active()

    def load_ended_since(self, since: float) -> list[Alert]:
        return self.states.load_ended_since(since)

    def history(self, limit: int) -> list[Alert]:
        return self.states.history(limit)

    def prune(self, keep: int, now: float | None = None, retention_s: float | None = None) -> int:
        """Bound the file; returns the notifications deleted.

        Ended alerts beyond the newest ``keep`` go with their delivered notifications;
        with ``retention_s``, every finished notification (delivered or dead-lettered)
        and every ended alert older than ``now - retention_s`` goes too.  An open
        alert's notifications stay, whatever their age: they say where it was delivered.
        """
        with self._tx() as db:
            alert_store.prune_ended(db, keep)
            old = 0 if now is None or retention_s is None else _prune_older(db, now - retention_s)
            old += 0 if now is None else _prune_refreshes(db, now)
            return (
                old
                + db.execute(
                    "DELETE FROM notifications WHERE status='sent' AND alert_id NOT IN"
                    " (SELECT alert_id FROM alerts)"
                ).rowcount
            )


#: A delivered state re-send is kept this long, even of an open alert: it says nothing new.
REFRESH_KEEP_S = 3600.0


def _prune_refreshes(db: sqlite3.Connection, now: float) -> int:
    """Delete the state re-sends delivered more than :data:`REFRESH_KEEP_S` ago; rows deleted.

    An alert firing for a week re-sent every minute to two peers would otherwise keep 20,000 rows.
    """
    return db.execute(
        "DELETE FROM notifications WHERE kind=? AND status='sent' AND sent_at < ?",
        (REFRESH_EVENT, now - REFRESH_KEEP_S),
    ).rowcount


def _prune_older(db: sqlite3.Connection, cutoff: float) -> int:
    """Delete finished notifications and ended alerts last touched before ``cutoff``; rows deleted."""
    n = db.execute(
        "DELETE FROM notifications WHERE status IN ('sent','dead') AND COALESCE(sent_at, created_at) < ?"
        " AND alert_id NOT IN (SELECT alert_id FROM alerts WHERE status IN (?,?))",
        (cutoff, PENDING, FIRING),
    ).rowcount
    alert_store.prune_ended_before(db, cutoff)
    return n


#: The columns a typed query reads: the fields of :class:`DeliveryRow`, named as the columns are.
_ROW_COLUMNS = ", ".join(DeliveryRow.__struct_fields__)


def _delivery_row(r: tuple) -> DeliveryRow:
    """A stored row, its payload decoded (a payload that does not decode reads as empty, never a crash)."""
    row = dict(zip(DeliveryRow.__struct_fields__, r, strict=True))
    try:
        payload = json.loads(row["payload"] or "{}")
    except ValueError:
        payload = {}
    row["payload"] = payload if isinstance(payload, dict) else {}
    return DeliveryRow(**row)


def _counts(rows: Iterable[tuple[str, str, int]], keys: Iterable[str]) -> dict[str, DeliveryCounts]:
    """``(key, status, n)`` rows as typed counts per key; each of ``keys`` is there even without a row."""
    by_key: dict[str, dict[str, int]] = {key: {} for key in keys}
    for key, status, n in rows:
        if status in DeliveryCounts.__struct_fields__:
            by_key.setdefault(key, {})[status] = n
    return {key: DeliveryCounts(**counts) for key, counts in by_key.items()}
