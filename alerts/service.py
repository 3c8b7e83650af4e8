"""AlertService: the alert engine as the runtime sees it (start/stop, ack, reload, status).

Composition of the pieces: one SQLite outbox under ``storage.data_dir``, one
evaluator thread, one delivery thread per channel, and an optional watchdog ping.
For tests on a fake clock, ``pump()`` runs one evaluation and one delivery pass
synchronously instead of the threads.
"""

from __future__ import annotations

import logging
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Callable

from alerts import channels as channel_mod
from alerts import history as history_mod
from alerts.config import AlertsSettings, StorageSettings
from alerts.delivery import ChannelWorker, RateLimiter, WorkerThread
from alerts.engine import Engine, EvaluatorThread
from alerts.outbox import Outbox

log = logging.getLogger("alerts")


class AlertService:
    """Alert rules, states and durable delivery, fed by a ``Hub``."""

    def __init__(
        self,
        hub,
        settings: AlertsSettings,
        storage: StorageSettings,
        *,
        dashboard_url: str,
        stale_after_s: float,
        clock: Callable[[], float] = time.time,
        rng=None,
    ) -> None:
        self.hub, self.settings, self.clock, self.rng = hub, settings, clock, rng
        self.dashboard_url = dashboard_url
        self.outbox = Outbox(storage.data_dir)
        self.outbox.reset_leases()  # whatever a previous process had in flight is due again now
        self.limiter = RateLimiter()
        self.channels = channel_mod.build(settings, dashboard_url)
        self.workers = self._workers()
        self.engine = Engine(
            self.outbox,
            settings,
            stale_after_s=stale_after_s,
            dashboard_url=dashboard_url,
            dests_of=self._dests_of,
        )
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._sweep_unroutable()

    def _workers(self) -> dict[str, ChannelWorker]:
        return {
            name: ChannelWorker(ch, self.outbox, self.limiter, self.settings.delivery, self.clock, self.rng)
            for name, ch in self.channels.items()
        }

    def _dests_of(self, name: str) -> list[str]:
        ch = self.channels.get(name)
        return ch.destinations() if ch else []

    def _sweep_unroutable(self) -> None:
        """Rows for channels/destinations no longer configured are dead-lettered, loudly, not lost."""
        now = self.clock()
        for name in self.outbox.pending_channels():
            n = self.outbox.dead_unroutable(
                name, self._dests_of(name), now, f"channel {name!r} or its destination is not configured"
            )
            if n:
                log.error(
                    "alerts: %d pending notification(s) for unconfigured channel %s dead-lettered", n, name
                )

    # ---- lifecycle ------------------------------------------------------
    def start(self) -> None:
        if not self.settings.enabled:
            log.info("alerts disabled by settings")
            return
        self._stop.clear()
        self._threads = [EvaluatorThread(self.engine, self.hub, self.clock, self._stop, self._wake_all)]
        self._threads += [WorkerThread(w, self._stop, self.clock) for w in self.workers.values()]
        if self.settings.watchdog.url:
            self._threads.append(threading.Thread(target=self._watchdog, name="alerts-watchdog", daemon=True))
        for t in self._threads:
            t.start()

    def stop(self) -> None:
        self._stop_threads()
        self.outbox.close()

    def _stop_threads(self) -> None:
        """Stop the evaluator, workers and watchdog, then close the channels' connections."""
        self._stop.set()
        self._wake_all()
        for t in self._threads:
            t.join(timeout=15)
        self._threads = []
        for ch in self.channels.values():
            ch.close()

    def _wake_all(self) -> None:
        for w in self.workers.values():
            w.wake.set()

    # ---- synchronous driving (tests, fake clock) -------------------------
    def evaluate(self) -> int:
        return self.engine.evaluate(self.hub.metrics(), self.clock())

    def deliver(self) -> None:
        for w in self.workers.values():
            w.run_once()

    def pump(self) -> None:
        """One evaluation then one delivery pass per channel, on the caller's thread."""
        self.evaluate()
        self.deliver()

    # ---- the runtime's API ----------------------------------------------
    def ack(self, alert_id: str, by: str) -> bool:
        return self.engine.ack(alert_id, by, self.clock())

    def reload(self, settings: AlertsSettings, stale_after_s: float | None = None) -> None:
        """Swap rules, routes and channels; firing alerts keep their policy and are not re-sent.

        ``stale_after_s`` (``collector.stale_after_s``) feeds the stale-bot rule, so the
        dashboard's settings form can change it without a restart.
        """
        if stale_after_s is not None:
            self.engine.stale_after_s = stale_after_s
        running = bool(self._threads)
        self._stop_threads()
        self.settings = settings
        self.channels = channel_mod.build(settings, self.dashboard_url)
        self.workers = self._workers()
        self.engine.reload(settings, self.clock())
        self._sweep_unroutable()
        if running:
            self.start()

    def status(self) -> dict:
        """For the dashboard banner: firing count, delivery failing, per-channel health. No secrets."""
        counts = self.outbox.channel_counts()
        chans = {}
        for name, w in self.workers.items():
            c = counts.get(name, {"pending": 0, "dead": 0})
            chans[name] = {
                "ok": w.health.ok,
                "last_error": w.health.last_error,
                "pending": c["pending"],
                "dead": c["dead"],
            }
        return {
            "firing": self.engine.firing_count(),
            "delivery_failing": bool(self.engine.failing),
            "channels": chans,
        }

    def active(self) -> list[dict]:
        return self.engine.active()

    def history(self, limit: int = 200) -> list[dict]:
        return self.outbox.history(limit)

    def notification_history(self, limit: int = 200) -> list[dict]:
        """The newest ``limit`` notifications with a delivered/retrying/failed result per channel."""
        rows = self.outbox.latest_notifications(limit * 20)
        return history_mod.group(rows, limit)

    def test_results(self, test_id: str) -> dict[str, dict]:
        """Per channel, where a test notification is: sending, delivered, retrying, failed."""
        return history_mod.channel_results(self.outbox.notifications_of(test_id))

    def send_test(self, channels: list[str] | None = None) -> str:
        """Queue a test notification to ``channels`` (default: all); returns its alert id."""
        names = list(self.channels) if channels is None else [c for c in channels if c in self.channels]
        test_id = self.engine.enqueue_test(names, self.clock())
        self._wake_all()
        return test_id

    # ---- watchdog -------------------------------------------------------
    def _watchdog(self) -> None:
        """Dead man's switch: a missing ping tells an outside service the monitor is dead."""
        wd = self.settings.watchdog
        host = urllib.parse.urlsplit(wd.url or "").hostname
        while not self._stop.is_set():
            try:
                with urllib.request.urlopen(wd.url, timeout=wd.timeout_s) as resp:
                    resp.read(64)
            except Exception as exc:  # never die; the URL may hold a secret, log the host only
                log.warning("watchdog ping to %s failed: %s", host, type(exc).__name__)
            self._stop.wait(wd.interval_s)
