"""The silences' repository, in the alert store's SQLite file (table ``silences``).

A silence is written, with an fsync, before the call that made or expired it
returns (the file runs ``synchronous=FULL``): a monitor killed the next instant
still has it when it comes back.  It shares the outbox's connection and lock, like
the alert states (``alerts/alert_store.py``); the table is declared with the rest of
the file's layout in ``alerts/store_schema.py``.  No SQL about silences leaves this module.
"""

from __future__ import annotations

import sqlite3
import threading

import msgspec

from alerts.silences import LISTED_FOR_S, Silence
from alerts.store_schema import Tx

_decoder = msgspec.json.Decoder(Silence)


class SilenceStore:
    """Reads and writes of the silences. Thread-safe (the connection's lock)."""

    def __init__(self, db: sqlite3.Connection, lock: threading.Lock) -> None:
        self._db, self._lock = db, lock

    def put(self, silence: Silence, now: float) -> None:
        """Write (insert or replace) one silence, and drop those ended more than 5 days ago."""
        with Tx(self._db, self._lock) as db:
            db.execute(
                "INSERT OR REPLACE INTO silences (id, ended_at, doc) VALUES (?,?,?)",
                (silence.id, silence.ended_at, msgspec.json.encode(silence).decode()),
            )
            db.execute("DELETE FROM silences WHERE ended_at < ?", (now - LISTED_FOR_S,))

    def listed(self, now: float) -> list[Silence]:
        """The silences still listed at ``now`` (active, or ended within 5 days); unreadable rows skipped."""
        with self._lock:
            rows = self._db.execute(
                "SELECT doc FROM silences WHERE ended_at >= ? ORDER BY id", (now - LISTED_FOR_S,)
            ).fetchall()
        out = []
        for (doc,) in rows:
            try:
                out.append(_decoder.decode(doc))
            except msgspec.DecodeError:  # a row no monitor of ours wrote: never a crash at start-up
                continue
        return out
