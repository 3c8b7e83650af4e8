"""The alert states' repository: open and ended alerts, counter rules' memory, the heartbeat.

It shares the outbox's connection and lock (``alerts/outbox.py`` opens the file)
because a state change and the notifications it causes are written in one
transaction: ``put_states`` runs inside the caller's transaction for that reason.
The schema and its migrations are ``alerts/store_schema.py``.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterable, Mapping
from typing import Any

from alerts.states import CLOSED, FIRING, PENDING, RESOLVED, Alert

#: Counter rules' memory: (rule, bot) -> (last value, when it last moved).
Memory = Mapping[tuple[str, str], tuple[Any, float | None]]


class AlertStore:
    """Reads of the stored alert states. Thread-safe (the connection's lock)."""

    def __init__(self, db: sqlite3.Connection, lock: threading.Lock) -> None:
        self._db, self._lock = db, lock

    def load_memory(self) -> dict[tuple[str, str], tuple[Any, float | None]]:
        """Counter rules' memory as last committed (JSON lists back to the tuples they were)."""
        with self._lock:
            rows = self._db.execute("SELECT rule, bot, value, moved_at FROM rule_memory").fetchall()
        return {(r, b): (tuples(json.loads(v)), at) for r, b, v, at in rows}

    def load_active(self) -> list[Alert]:
        """The open (pending or firing) alerts: what a restart takes back."""
        with self._lock:
            rows = self._db.execute(
                "SELECT doc FROM alerts WHERE status IN (?,?)", (PENDING, FIRING)
            ).fetchall()
        return [Alert.from_dict(json.loads(r[0])) for r in rows]

    def load_ended_since(self, since: float) -> list[Alert]:
        """Alerts resolved at or after ``since``, oldest first (a restart checks their evidence too)."""
        with self._lock:
            rows = self._db.execute(
                "SELECT doc FROM alerts WHERE status=? AND updated_at>=? ORDER BY updated_at",
                (RESOLVED, since),
            ).fetchall()
        return [Alert.from_dict(json.loads(r[0])) for r in rows]

    def history(self, limit: int) -> list[Alert]:
        """The newest ``limit`` alerts of any status, newest first."""
        with self._lock:
            rows = self._db.execute(
                "SELECT doc FROM alerts ORDER BY updated_at DESC LIMIT ?", (limit,)
            ).fetchall()
        return [Alert.from_dict(json.loads(r[0])) for r in rows]


def put_states(
    db: sqlite3.Connection, alerts: Iterable[Alert], now: float, memory: Memory | None, alive: bool
) -> None:
    """Alert states, counter memory and the heartbeat, inside the caller's transaction."""
    if memory:
        db.executemany(
            "INSERT OR REPLACE INTO rule_memory VALUES (?,?,?,?)",
            [(r, b, json.dumps(v), at) for (r, b), (v, at) in memory.items()],
        )
    if alive:
        put_heartbeat(db, now)
    db.executemany(
        "INSERT OR REPLACE INTO alerts VALUES (?,?,?,?,?,?)",
        [
            (a.alert_id, a.key, a.status, a.severity, a.updated_at, json.dumps(a.to_dict(), default=str))
            for a in alerts
        ],
    )


def put_heartbeat(db: sqlite3.Connection, now: float) -> None:
    """The monitor is alive at ``now``: the "stopped at about" of the next start."""
    db.execute("INSERT OR REPLACE INTO meta VALUES ('last_alive', ?)", (now,))


def prune_ended(db: sqlite3.Connection, keep: int) -> None:
    """Ended alerts beyond the newest ``keep`` go (inside the caller's transaction)."""
    db.execute(
        "DELETE FROM alerts WHERE status IN (?,?) AND alert_id NOT IN"
        " (SELECT alert_id FROM alerts ORDER BY updated_at DESC LIMIT ?)",
        (RESOLVED, CLOSED, keep),
    )


def prune_ended_before(db: sqlite3.Connection, cutoff: float) -> None:
    """Ended alerts last touched before ``cutoff`` go (inside the caller's transaction)."""
    db.execute("DELETE FROM alerts WHERE status IN (?,?) AND updated_at < ?", (RESOLVED, CLOSED, cutoff))


def tuples(value: Any) -> Any:
    """JSON has no tuple: a remembered tuple comes back as a list and must compare equal again."""
    return tuple(tuples(v) for v in value) if isinstance(value, list) else value
