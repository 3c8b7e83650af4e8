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
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Protocol

from alerts import history as history_mod

log = logging.getLogger("alerts.snapshot")

#: Notifications kept in the snapshot's delivery history (the Alerts tab's table).
HISTORY_LIMIT = 200
#: Rows read to group the newest HISTORY_LIMIT notifications (a notification fans out per destination).
_ROWS_PER_NOTIFICATION = 20


@dataclass(frozen=True, slots=True)
class ChannelState:
    """One channel's health and queue as the status banner shows it (never a secret)."""

    ok: bool
    last_error: str | None
    pending: int
    dead: int


@dataclass(frozen=True, slots=True)
class ActiveAlert:
    """A pending or firing alert and the channels that confirmed delivering it."""

    alert: Mapping[str, Any]
    delivered: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class AlertSnapshot:
    """Everything the dashboard shows of the alerts; never mutated once published."""

    active: tuple[ActiveAlert, ...] = ()
    history: tuple[Mapping[str, Any], ...] = ()
    channels: Mapping[str, ChannelState] = field(default_factory=lambda: MappingProxyType({}))
    firing: int = 0
    delivery_failing: bool = False
    outbox_version: int = -1  # the outbox change counter the stored part was read at
    #: The alert store (alerts.sqlite3): ok, or failing with what is held in memory meanwhile.
    store: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({"ok": True}))

    def document(self) -> dict[str, Any]:
        """The alert read model served at ``/api/alerts``: open alerts (each with ``verifying``), status."""
        return {
            "active": [{**a.alert, "delivered": list(a.delivered)} for a in self.active],
            "status": self.status(),
        }

    def status(self) -> dict[str, Any]:
        """The status document (banner, Health tab): a fresh dict, so no reader can alter the snapshot."""
        return {
            "firing": self.firing,
            "delivery_failing": self.delivery_failing,
            "store": dict(self.store),
            "channels": {
                name: {"ok": c.ok, "last_error": c.last_error, "pending": c.pending, "dead": c.dead}
                for name, c in self.channels.items()
            },
        }


class _Outbox(Protocol):
    """The outbox reads a snapshot needs."""

    @property
    def version(self) -> int: ...
    def channel_counts(self) -> dict[str, dict[str, int]]: ...
    def latest_notifications(self, limit: int) -> list[dict[str, Any]]: ...
    def notifications(self, where: str = "1=1", args: tuple = ()) -> list[dict[str, Any]]: ...


class _Engine(Protocol):
    failing: set[str]

    def active(self) -> list[dict]: ...
    def firing_count(self) -> int: ...


class _Worker(Protocol):
    @property
    def health(self) -> Any: ...


@dataclass(frozen=True, slots=True)
class _Stored:
    """The part of a snapshot read from SQLite, valid for one outbox version and set of active alerts."""

    version: int
    active_ids: tuple[str, ...]
    delivered: Mapping[str, tuple[str, ...]]
    history: tuple[Mapping[str, Any], ...]
    counts: Mapping[str, dict[str, int]]


class SnapshotPublisher:
    """Builds and holds the current :class:`AlertSnapshot`; ``publish()`` is called by the writers."""

    def __init__(
        self,
        outbox: _Outbox,
        engine: _Engine,
        workers: Callable[[], Mapping[str, _Worker]],
        store_status: Callable[[], Any] | None = None,
    ) -> None:
        self.outbox, self.engine, self.workers = outbox, engine, workers
        self.store_status = store_status
        self.current = AlertSnapshot()
        self.builds = 0  # snapshots built (a reader's cost is nil; tests count the writers' work)
        self.reads = 0  # times the stored part was read from SQLite
        self._stored: _Stored | None = None
        self._lock = threading.Lock()

    def publish(self) -> AlertSnapshot:
        """Rebuild from the engine, the workers and (if it changed) the outbox; never raises."""
        with self._lock:
            try:
                new = self._build()
                self.builds += 1
                if new != self.current:  # an unchanged state keeps its object: readers' caches stay valid
                    self.current = new
            except Exception:  # a closed or failing outbox must not kill the thread that publishes
                log.exception("alert snapshot not rebuilt")
            return self.current

    def _build(self) -> AlertSnapshot:
        active = self.engine.active()
        try:
            stored = self._read_stored(tuple(a["alert_id"] for a in active))
        except sqlite3.DatabaseError:  # the store fails: the alerts in memory are published all the same
            stored = self._stored or _Stored(-1, (), {}, (), {})
        store = self.store_status().document() if self.store_status else {"ok": True}
        workers = self.workers()
        channels = {
            name: ChannelState(
                w.health.ok,
                w.health.last_error,
                stored.counts.get(name, {}).get("pending", 0),
                stored.counts.get(name, {}).get("dead", 0),
            )
            for name, w in workers.items()
        }
        return AlertSnapshot(
            active=tuple(
                ActiveAlert(MappingProxyType(a), stored.delivered.get(a["alert_id"], ())) for a in active
            ),
            history=stored.history,
            channels=MappingProxyType(channels),
            firing=self.engine.firing_count(),
            delivery_failing=bool(self.engine.failing),
            outbox_version=stored.version,
            store=MappingProxyType(store),
        )

    def _read_stored(self, active_ids: tuple[str, ...]) -> _Stored:
        version = self.outbox.version
        old = self._stored
        if old is not None and old.version == version and old.active_ids == active_ids:
            return old
        self.reads += 1
        rows = self.outbox.latest_notifications(HISTORY_LIMIT * _ROWS_PER_NOTIFICATION)
        history = tuple(MappingProxyType(e) for e in history_mod.group(rows, HISTORY_LIMIT))
        self._stored = _Stored(
            version, active_ids, self._delivered(active_ids), history, self.outbox.channel_counts()
        )
        return self._stored

    def _delivered(self, alert_ids: tuple[str, ...]) -> Mapping[str, tuple[str, ...]]:
        """Per alert, the channels with at least one row sent (one query for all alerts)."""
        if not alert_ids:
            return {}
        marks = ",".join("?" * len(alert_ids))
        rows = self.outbox.notifications(f"alert_id IN ({marks}) AND status='sent'", alert_ids)
        out: dict[str, set[str]] = {}
        for r in rows:
            out.setdefault(r["alert_id"], set()).add(r["channel"])
        return {aid: tuple(sorted(chans)) for aid, chans in out.items()}
