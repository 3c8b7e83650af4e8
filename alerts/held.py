"""What the alert store could not write: kept in memory, delivered from memory, written back later.

The journal and ``alerts.sqlite3`` share ``storage.data_dir``.  When SQLite
raises (disk full, I/O error), an alert must still reach the channels and the
page: the notice that the journal is failing is precisely the one written
while the disk is full.  So the two fail independently.  The evaluator keeps
its alert states in memory and hands the states and notifications it could
not commit to :class:`HeldStore`; the delivery workers send those
notifications from here (:meth:`take`, :meth:`settle`), without the disk.
About once a second the evaluator tries to write everything held back
(:meth:`for_store`, :meth:`stored`); when it can, each notification goes to
the file with its outcome (delivered ones as sent), so nothing is sent twice,
and the store says it resumed.  A worker's outcome that the file refused
(a row claimed before the disk filled) is kept too (:meth:`defer`) and
replayed before that worker claims again.

Bounded: at most ``max_rows`` notifications wait here (plus those a worker is
sending, at most a batch per channel); beyond it a delivered one goes first,
then the oldest of the least urgent (counted and logged), so a critical one
goes only when nothing less urgent is left.
"""

from __future__ import annotations

import itertools
import logging
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from alerts.catalog import urgent_first
from alerts.read_model import StoreStatus
from alerts.rows import HeldRow, NewRow, Row
from alerts.states import Alert
from common.logline import line

log = logging.getLogger("alerts.store")

#: Notifications held in memory while the store fails (a few KB each).
MAX_HELD_ROWS = 1000
#: Deferred outcomes of rows claimed from the file (sent, retry, dead) kept for a later write.
MAX_DEFERRED = 10_000


@dataclass(slots=True)
class _Held:
    """One held notification and where its delivery stands."""

    id: int  # negative: never an outbox row id
    new: NewRow
    created_at: float
    due_at: float
    attempts: int = 0
    status: str = "pending"  # pending | sent | dead
    in_flight: bool = False
    sent_at: float | None = None
    last_error: str | None = None

    def as_row(self) -> Row:
        n = self.new
        prio = min(urgent_first(n.severity), urgent_first("info"))
        # attempts before this one, as a claim from the file reports them
        return Row(
            self.id,
            n.idem,
            n.alert_id,
            n.channel,
            n.dest,
            n.kind,
            prio,
            n.payload,
            self.created_at,
            self.attempts - 1,
        )


class HeldStore:
    """The alert store's health and everything held in memory while it fails. Thread-safe."""

    def __init__(self, max_rows: int = MAX_HELD_ROWS) -> None:
        self.max_rows = max_rows
        self._lock = threading.RLock()
        self._alerts: dict[str, Alert] = {}
        self._rows: dict[str, _Held] = {}
        self._deferred: deque[tuple[str, tuple]] = deque(maxlen=MAX_DEFERRED)
        self._ids = itertools.count(-1, -1)
        self.error: str | None = None
        self.failing_since: float | None = None
        self.resumed_at: float | None = None
        self.dropped = 0
        self.next_try = 0.0

    @property
    def failing(self) -> bool:
        return self.error is not None

    def fail(self, exc: BaseException, now: float) -> None:
        """The store refused a write: say so once (not per evaluation) and hold from now on."""
        with self._lock:
            if self.error is not None:
                return
            self.error = f"{type(exc).__name__}: {exc}"[:300]
            self.failing_since, self.next_try = now, now + 1.0
        log.critical(line("alert_store_failing", error=self.error, effect="alerts held in memory and sent"))

    def hold(self, alerts: list[Alert], rows: list[NewRow], now: float) -> None:
        """Keep states and notifications the store could not write (a notice already held is not added)."""
        with self._lock:
            for a in alerts:
                self._alerts[a.alert_id] = a
            for r in rows:
                if r.idem not in self._rows:
                    self._rows[r.idem] = _Held(next(self._ids), r, now, now)
            while sum(1 for h in self._rows.values() if not h.in_flight) > self.max_rows:
                self._drop_one()

    def _drop_one(self) -> None:
        idle = [h for h in self._rows.values() if not h.in_flight]
        done = [h for h in idle if h.status != "pending"]  # a delivered one is history: dropped first
        victim = done[0] if done else max(idle, key=lambda h: (urgent_first(h.new.severity), h.id))
        del self._rows[victim.new.idem]
        self.dropped += 1
        if victim.status == "pending":
            log.error(
                line("alert_dropped", alert_id=victim.new.alert_id, kind=victim.new.kind, why="held full")
            )

    # ---- the delivery workers ----------------------------------------------
    def take(self, channel: str, dest: str, now: float, limit: int) -> list[Row]:
        """Lease up to ``limit`` due held rows of one destination, most severe first."""
        with self._lock:
            due = [
                h
                for h in self._rows.values()
                if h.status == "pending"
                and not h.in_flight
                and h.new.channel == channel
                and h.new.dest == dest
                and h.due_at <= now
            ]
            due.sort(key=lambda h: (urgent_first(h.new.severity), -h.id))
            for h in due[:limit]:
                h.in_flight, h.attempts = True, h.attempts + 1
            return [h.as_row() for h in due[:limit]]

    def settle(
        self, ids: list[int], status: str, now: float, error: str | None = None, due_at: float = 0.0
    ) -> None:
        """Record a send's outcome: ``sent``, ``dead``, or ``retry`` at ``due_at``; ``release`` untouched."""
        with self._lock:
            for h in self._rows.values():
                if h.id not in ids:
                    continue
                h.in_flight = False
                if status == "release":
                    h.attempts -= 1
                elif status == "retry":
                    h.due_at, h.last_error = due_at, error
                else:
                    h.status, h.sent_at, h.last_error = status, now, error

    def delivered(self) -> set[str]:
        """Alert ids with a held notification delivered from memory (no failover needed for them)."""
        with self._lock:
            return {h.new.alert_id for h in self._rows.values() if h.status == "sent"}

    def next_due(self, channel: str) -> dict[str, float]:
        with self._lock:
            out: dict[str, float] = {}
            for h in self._rows.values():
                if h.new.channel == channel and h.status == "pending" and not h.in_flight:
                    out[h.new.dest] = min(out.get(h.new.dest, h.due_at), h.due_at)
            return out

    def defer(self, method: str, *args: object) -> None:
        """An outcome of a row claimed from the file that the file refused: written later."""
        with self._lock:
            self._deferred.append((method, args))

    def replay_deferred(self, outbox: Any) -> None:
        """Write the deferred outcomes (raises while the store still fails; nothing is lost then)."""
        with self._lock:
            while self._deferred:
                method, args = self._deferred[0]
                getattr(outbox, method)(*args)
                self._deferred.popleft()

    # ---- the evaluator: writing back ---------------------------------------
    def write_back(self, write: Callable[[list[Alert], list[HeldRow]], object], now: float) -> bool:
        """Try to write everything held (at most once a second); True when the store is ok again."""
        with self._lock:
            if self.error is None:
                return True
            if now < self.next_try:
                return False
            self.next_try = now + 1.0
            rows = [h for h in self._rows.values() if not h.in_flight]
            alerts = list(self._alerts.values())
            write(alerts, [_stored(h) for h in rows])  # raises while the disk is still full
            for h in rows:
                del self._rows[h.new.idem]
            self._alerts.clear()
            if any(h.in_flight for h in self._rows.values()):
                return False  # the rest goes at the next try, once their sends are done
            held = (len(alerts), len(rows))
            self.error, self.failing_since, self.resumed_at = None, None, now
        log.warning(line("alert_store_resumed", alerts_written=held[0], notifications_written=held[1]))
        return True

    def status(self) -> StoreStatus:
        with self._lock:
            return StoreStatus(
                ok=self.error is None,
                error=self.error,
                failing_since=self.failing_since,
                resumed_at=self.resumed_at,
                held_alerts=len(self._alerts),
                held_notifications=sum(1 for h in self._rows.values() if h.status == "pending"),
                dropped=self.dropped,
            )


def _stored(h: _Held) -> HeldRow:
    return HeldRow(h.new, h.status, h.attempts, h.created_at, h.due_at, h.sent_at, h.last_error)
