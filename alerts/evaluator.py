"""The ``alerts-evaluator`` thread: runs the engine on every hub change and on a tick.

Coalesced: it reads the newest version, however many changes happened meanwhile.  It never talks
to a channel: it only writes to SQLite (through the engine) and wakes the workers, so a dead Slack
cannot slow it, let alone ingest.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from alerts.engine import Engine

log = logging.getLogger("alerts.engine")


class EvaluatorThread(threading.Thread):
    """Evaluates on every hub change (coalesced) and every ``tick_s``; survives its own errors.

    ``on_enqueued`` wakes the delivery workers; ``on_evaluated`` publishes the state
    just committed (the alerts snapshot), so readers never query the outbox themselves.
    """

    def __init__(
        self,
        engine: Engine,
        hub,
        clock: Callable[[], float],
        stop: threading.Event,
        on_enqueued: Callable[[], None],
        on_evaluated: Callable[[], object] = lambda: None,
    ) -> None:
        super().__init__(name="alerts-evaluator", daemon=True)
        self.engine, self.hub, self.clock, self.stop = engine, hub, clock, stop
        self.on_enqueued, self.on_evaluated = on_enqueued, on_evaluated

    #: Ended alerts kept in the outbox (with their delivered notifications); older ones are pruned
    #: hourly so the SQLite file stays bounded, as is every finished notification (delivered or
    #: dead-lettered) older than ``alerts.delivery.retention_days``.
    KEEP_ENDED_ALERTS = 10_000
    PRUNE_EVERY_S = 3600.0

    def run(self) -> None:
        version = -1
        next_prune = 0.0
        while not self.stop.is_set():
            version = self.hub.wait_for_change(version, timeout=self.engine.settings.tick_s)
            if self.stop.is_set():
                break
            try:
                now = self.clock()
                if self.engine.evaluate(self.hub.metrics(), now):
                    self.on_enqueued()
                if now >= next_prune and not self.engine.held.failing:
                    retention_s = self.engine.settings.delivery.retention_days * 86400.0
                    self.engine.outbox.prune(self.KEEP_ENDED_ALERTS, now, retention_s)
                    next_prune = now + self.PRUNE_EVERY_S
                self.on_evaluated()
                self.stop.wait(self.engine.settings.min_interval_s)  # coalesce bursts of changes
            except Exception:  # the safety net must not die of one bad document
                log.exception("alert evaluation failed")
                self.stop.wait(0.5)
