"""The alert store's file: its SQLite schema, its migrations, and the one transaction helper.

Why apart from the repositories (``alerts/alert_store.py`` for alert states,
``alerts/outbox.py`` for the notification queue): the layout of the file is a
promise to every monitor that will open it later, and it changes by migration
only, in one place, whatever the queries above it become.  A file written by an
older monitor is upgraded in place; one written by a newer monitor is refused.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from dataclasses import dataclass

SCHEMA = """
CREATE TABLE IF NOT EXISTS alerts (
    alert_id TEXT PRIMARY KEY,
    key TEXT NOT NULL,
    status TEXT NOT NULL,
    severity TEXT NOT NULL,
    updated_at REAL NOT NULL,
    doc TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS alerts_status ON alerts(status);
CREATE INDEX IF NOT EXISTS alerts_updated ON alerts(updated_at);
CREATE TABLE IF NOT EXISTS notifications (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    idem TEXT NOT NULL UNIQUE,
    alert_id TEXT NOT NULL,
    channel TEXT NOT NULL,
    dest TEXT NOT NULL,
    kind TEXT NOT NULL,
    prio INTEGER NOT NULL,
    payload TEXT NOT NULL,
    created_at REAL NOT NULL,
    due_at REAL NOT NULL,
    lease_until REAL,
    attempts INTEGER NOT NULL DEFAULT 0,
    status TEXT NOT NULL DEFAULT 'pending',
    last_error TEXT,
    sent_at REAL
);
CREATE INDEX IF NOT EXISTS notif_claim ON notifications(status, channel, prio, id);
CREATE INDEX IF NOT EXISTS notif_alert ON notifications(alert_id);
CREATE TABLE IF NOT EXISTS rule_memory (
    rule TEXT NOT NULL,
    bot TEXT NOT NULL,
    value TEXT NOT NULL,
    moved_at REAL,
    PRIMARY KEY (rule, bot)
);
CREATE TABLE IF NOT EXISTS meta (
    key TEXT PRIMARY KEY,
    value REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS silences (
    id TEXT PRIMARY KEY,
    ended_at REAL NOT NULL,
    doc TEXT NOT NULL
);
"""

#: Schema version in ``PRAGMA user_version``: 0 = a file from before rule memory and the
#: heartbeat (its tables are added in place), 1 = this layout.  A table added in place that an
#: older monitor never reads (``silences``) keeps the version: that monitor opens the file as before.
SCHEMA_VERSION = 1


class SchemaError(RuntimeError):
    """The alerts file was written by a newer monitor: start-up stops rather than guess."""


@dataclass(frozen=True, slots=True)
class PreviousRun:
    """What the file says about the monitor that wrote it before this process opened it.

    ``last_alive`` is that run's last heartbeat (at most ``HEARTBEAT_S`` before it
    stopped, exact after a graceful stop); ``memory_known`` is False for a file of
    schema 0, whose counter rules' memory was never saved.
    """

    existed: bool
    last_alive: float | None
    memory_known: bool


def connect(data_dir: str, filename: str) -> tuple[str, sqlite3.Connection]:
    """Open (creating the directory) the store file: WAL, and an fsync for every commit."""
    os.makedirs(data_dir, exist_ok=True)
    path = os.path.join(data_dir, filename)
    db = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=30)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=FULL")  # an alert accepted is an alert on disk
    return path, db


def migrate(db: sqlite3.Connection, path: str) -> PreviousRun:
    """Create or upgrade the tables in place; an older file opens, a newer one is refused."""
    version = db.execute("PRAGMA user_version").fetchone()[0]
    if version > SCHEMA_VERSION:
        raise SchemaError(
            f"{path} has alert schema version {version}, newer than this monitor's"
            f" {SCHEMA_VERSION}: run the newer monitor, or move the file away to start afresh"
        )
    existed = (
        db.execute("SELECT 1 FROM sqlite_master WHERE type='table' AND name='alerts'").fetchone() is not None
    )
    db.executescript(SCHEMA)
    db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
    row = db.execute("SELECT value FROM meta WHERE key='last_alive'").fetchone()
    return PreviousRun(existed, row[0] if row else None, memory_known=version >= 1 or not existed)


class Tx:
    """``with`` block = one IMMEDIATE transaction under the connection lock."""

    def __init__(self, db: sqlite3.Connection, lock: threading.Lock) -> None:
        self.db, self.lock = db, lock

    def __enter__(self) -> sqlite3.Connection:
        self.lock.acquire()
        try:
            self.db.execute("BEGIN IMMEDIATE")
        except BaseException:
            self.lock.release()
            raise
        return self.db

    def __exit__(self, exc_type, exc, tb) -> None:
        try:
            if not exc_type:
                self.db.execute("COMMIT")
            elif self.db.in_transaction:  # SQLite already rolled back after "disk full": keep its error
                self.db.execute("ROLLBACK")
        finally:
            self.lock.release()
