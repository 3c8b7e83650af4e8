"""The Hub: the thread-safe face of the pure StateStore.

Writers (the collector) apply whole batches under one lock acquisition, which
is what keeps ingest fast; readers (API, dashboard broadcaster, alert
evaluator) take the same lock only while a document is computed.  Change
notification is a version counter plus a Condition, so any number of threads
can wait for "something changed" without the collector ever waiting on them.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable
from typing import Protocol, TypeVar

import msgspec

from collectors.events import Event
from collectors.sink import RejectedMessage
from common.logline import line
from core.documents import MetricsDocument, PositionsDocument, StateDocument
from core.forget import ForgetBot
from core.monitor_documents import EdgeStatus
from core.store import AppliedReject, StateStore

T = TypeVar("T")
log = logging.getLogger(__name__)


class Recorder(Protocol):
    """Receives every applied batch, in applied order, under the hub's lock: must not block."""

    def record(self, arrival: float, received: int, items: list) -> None: ...


def _applied(item: RejectedMessage) -> AppliedReject:
    rej, topic, payload = item
    excerpt = payload[:200].decode("utf-8", "replace")
    return AppliedReject(
        reason=rej.reason, detail=rej.detail, topic=topic, bot=rej.bot, seq=rej.seq, excerpt=excerpt
    )


class Hub:
    """Shared, lock-protected access to one StateStore."""

    def __init__(self, store: StateStore, extras: Callable[[], EdgeStatus] | None = None) -> None:
        self._store = store
        self._lock = threading.Lock()
        self._changed = threading.Condition(threading.Lock())
        self._version = 0
        self._extras = extras
        self._recorder: Recorder | None = None

    @property
    def version(self) -> int:
        return self._version

    @property
    def received(self) -> int:
        """Messages taken off the socket so far (a cheap read: no lock, no document)."""
        return self._store.received

    @property
    def stale_after_s(self) -> float:
        """The liveness threshold in force (one source for the store, page and alerts)."""
        return self._store.config.stale_after_s

    def set_stale_after(self, seconds: float) -> None:
        with self._lock:
            self._store.set_stale_after(seconds)
        self._bump()

    def clock(self) -> float:
        return self._store.clock()

    def set_extras(self, extras: Callable[[], EdgeStatus]) -> None:
        """Provider of edge status merged into metrics() (collector thread, monitor)."""
        self._extras = extras

    # ---- writes ---------------------------------------------------------
    def apply_batch(self, items: Iterable[Event | RejectedMessage], received: int = 0) -> None:
        """Apply what was taken off the socket, in arrival order: events and rejects.

        Order matters: a rejected message still used up a sequence number, so
        applying it after later events would misreport a gap.  The batch is
        handed to the recorder (the journal) under the same lock, so the
        journal's order is the applied order; the recorder only queues it.  It
        gets what the store applied: an event whose applying raised is journaled
        as the ``internal_error`` reject it became, so a replay gives the same state.
        """
        batch = [_applied(item) if type(item) is tuple else item for item in items]
        with self._lock:
            store = self._store
            arrival = store.clock()
            applied = store.apply_batch(batch, arrival, received)
            if self._recorder is not None:
                self._recorder.record(arrival, received, applied)
            failures, store.failures = store.failures, []
        self._bump()
        for reject, exc in failures:
            log.error(line("event_internal_error", bot=reject.bot, seq=reject.seq), exc_info=exc)

    def forget(self, bot: str) -> bool:
        """Drop ``bot`` from the state, journaled as a batch item so a replay forgets it too.

        False (and nothing journaled) when the store does not know the bot.
        """
        with self._lock:
            if bot not in self._store.bots:
                return False
        self.apply_batch([ForgetBot(bot=bot)])
        return True

    def set_recorder(self, recorder: Recorder | None) -> None:
        """Who journals every applied batch (None: nobody)."""
        with self._lock:
            self._recorder = recorder

    def under_lock(self, fn: Callable[[StateStore], T]) -> T:
        """Run ``fn`` on the store while no batch is being applied (a consistent checkpoint)."""
        with self._lock:
            return fn(self._store)

    def last_seqs(self) -> dict[str, int]:
        """The last seq applied per bot (the collector resumes its gap detection from it)."""
        with self._lock:
            return self._store.last_seqs()

    def last_runs(self) -> dict[str, str]:
        """The current run of each bot that sends one (the run its last seq belongs to)."""
        with self._lock:
            return self._store.last_runs()

    def apply(self, event: Event) -> None:
        """Apply one event (tests and tools); the collector uses apply_batch."""
        self.apply_batch((event,), received=1)

    def _bump(self) -> None:
        with self._changed:
            self._version += 1
            self._changed.notify_all()

    # ---- reads ----------------------------------------------------------
    def wait_for_change(self, since: int, timeout: float) -> int:
        """Block until version > since or timeout; return the current version."""
        with self._changed:
            if self._version <= since:
                self._changed.wait_for(lambda: self._version > since, timeout)
            return self._version

    def metrics(self) -> MetricsDocument:
        """The /api/metrics document, with the edge status when a provider is set."""
        with self._lock:
            doc = self._store.metrics()
        if self._extras is None:
            return doc
        edge = self._extras()
        collector = doc.collector if edge.collector is None else doc.collector.with_thread(edge.collector)
        monitor = doc.monitor if edge.monitor is None else edge.monitor
        persistence = doc.persistence if edge.persistence is None else edge.persistence
        return msgspec.structs.replace(doc, collector=collector, monitor=monitor, persistence=persistence)

    def state(self, bot: str) -> StateDocument | None:
        with self._lock:
            return self._store.state(bot)

    def positions(self) -> PositionsDocument:
        """Every bot's open positions, read under one lock acquisition (``GET /metrics``)."""
        with self._lock:
            return self._store.positions()

    def bots(self) -> list[str]:
        with self._lock:
            return sorted(self._store.bots)
