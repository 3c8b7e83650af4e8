"""The alert state as the dashboard shows it: one immutable snapshot, replaced whole when it changes.

Why: the dashboard's push thread runs several times a second for every open
page.  Reading SQLite there would tie the page's frame rate to the outbox's
lock and cost one query per alert per tick.  Instead the threads that change
the alert state publish a new snapshot after they commit (the evaluator after
each evaluation, each delivery worker after its pass, a command such as
Acknowledge after it writes), and readers take the current one with a single
attribute read: no lock, no I/O.

Building a snapshot reads the outbox only when its change counter moved since
the previous build (one set of queries per change, whatever the number of
alerts or pages); the in-memory part (active alerts with their current value,
channel health) is copied every time, which costs no I/O.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import msgspec

from alerts import history as history_mod
from alerts.read_model import (
    ActiveAlert,
    AlertStatus,
    ChannelStatus,
    DeliveryRow,
    HistoryEntry,
    StoreStatus,
    in_view,
    plain,
    status_of,
)
from alerts.silences import Silence
from alerts.states import Alert

log = logging.getLogger("alerts.snapshot")

#: Notifications kept in the snapshot's delivery history (the Alerts tab's table).
HISTORY_LIMIT = 200
#: Rows read to group the newest HISTORY_LIMIT notifications (a notification fans out per destination).
_ROWS_PER_NOTIFICATION = 20


class AlertSnapshot(msgspec.Struct, frozen=True, kw_only=True):
    """Everything the readers show of the alerts (alerts/read_model.py); never mutated once published."""

    active: tuple[ActiveAlert, ...] = ()
    history: tuple[HistoryEntry, ...] = ()
    status: AlertStatus = AlertStatus()
    outbox_version: int = -1  # the outbox change counter the stored part was read at
    #: the silences listed: active first, then those ended within 5 days (alerts/silences.py)
    silences: tuple[Silence, ...] = ()

    @property
    def firing(self) -> int:
        return self.status.firing

    def of_view(self, bot: str | None) -> AlertSnapshot:
        """The part one view shows: its bot's alerts and the monitor's own (None = every bot)."""
        if bot is None:
            return self
        return AlertSnapshot(
            active=tuple(a for a in self.active if in_view(a.bot, bot)),
            history=tuple(e for e in self.history if in_view(e.bot, bot)),
            status=self.status.for_view(bot),
            outbox_version=self.outbox_version,
            silences=self.silences,
        )

    def document(self) -> dict[str, Any]:
        """The alert read model served at ``/api/alerts``: open alerts (each with ``verifying``), status."""
        return {"active": plain(self.active), "status": plain(self.status)}


class _Outbox(Protocol):
    """The outbox reads a snapshot needs."""

    @property
    def version(self) -> int: ...
    def channel_counts(self) -> dict[str, dict[str, int]]: ...
    def latest_notifications(self, limit: int) -> list[DeliveryRow]: ...
    def sent_channels(self, alert_ids: tuple[str, ...]) -> dict[str, tuple[str, ...]]: ...


class _Engine(Protocol):
    failing: set[str]

    def open_alerts(self) -> tuple[list[Alert], frozenset[str]]: ...
    def silence_of(self, alert: Alert) -> Silence | None: ...
    def listed_silences(self, now: float) -> tuple[Silence, ...]: ...
    @property
    def now(self) -> float: ...


class _Worker(Protocol):
    @property
    def health(self) -> Any: ...


@dataclass(frozen=True, slots=True)
class _Stored:
    """The part of a snapshot read from SQLite, valid for one outbox version and set of active alerts."""

    version: int
    active_ids: tuple[str, ...]
    delivered: Mapping[str, tuple[str, ...]]
    history: tuple[HistoryEntry, ...]
    counts: Mapping[str, dict[str, int]]


class SnapshotPublisher:
    """Builds and holds the current :class:`AlertSnapshot`; ``publish()`` is called by the writers."""

    def __init__(
        self,
        outbox: _Outbox,
        engine: _Engine,
        workers: Callable[[], Mapping[str, _Worker]],
        store_status: Callable[[], StoreStatus] | None = None,
    ) -> None:
        self.outbox, self.engine, self.workers = outbox, engine, workers
        self.store_status = store_status
        self.current = AlertSnapshot()
        self.reads = 0  # times the stored part was read from SQLite
        self._stored: _Stored | None = None
        self._lock = threading.Lock()

    def publish(self) -> AlertSnapshot:
        """Rebuild from the engine, the workers and (if it changed) the outbox; never raises."""
        with self._lock:
            try:
                new = self._build()
                if new != self.current:  # an unchanged state keeps its object: readers' caches stay valid
                    self.current = new
            except Exception:  # a closed or failing outbox must not kill the thread that publishes
                log.exception("alert snapshot not rebuilt")
            return self.current

    def _build(self) -> AlertSnapshot:
        alerts, verifying = self.engine.open_alerts()
        try:
            stored = self._read_stored(tuple(a.alert_id for a in alerts))
        except sqlite3.DatabaseError:  # the store fails: the alerts in memory are published all the same
            stored = self._stored or _Stored(-1, (), {}, (), {})
        active = tuple(
            ActiveAlert.of(
                a,
                verifying=a.key in verifying,
                delivered=stored.delivered.get(a.alert_id, ()),
                silence=self.engine.silence_of(a),
            )
            for a in alerts
        )
        store = self.store_status() if self.store_status else StoreStatus()
        channels = {
            name: ChannelStatus(
                ok=w.health.ok,
                last_error=w.health.last_error,
                pending=stored.counts.get(name, {}).get("pending", 0),
                dead=stored.counts.get(name, {}).get("dead", 0),
            )
            for name, w in self.workers().items()
        }
        status = status_of(active, bool(self.engine.failing), store, channels)
        return AlertSnapshot(
            active=active,
            history=stored.history,
            status=status,
            outbox_version=stored.version,
            silences=self.engine.listed_silences(self.engine.now),
        )

    def _read_stored(self, active_ids: tuple[str, ...]) -> _Stored:
        version = self.outbox.version
        old = self._stored
        if old is not None and old.version == version and old.active_ids == active_ids:
            return old
        self.reads += 1
        rows = self.outbox.latest_notifications(HISTORY_LIMIT * _ROWS_PER_NOTIFICATION)
        history = tuple(history_mod.group(rows, HISTORY_LIMIT))
        self._stored = _Stored(
            version, active_ids, self.outbox.sent_channels(active_ids), history, self.outbox.channel_counts()
        )
        return self._stored
