"""AlertService: the alert engine as the runtime sees it (start/stop, ack, reload, status).

Composition of the pieces: one SQLite outbox under ``storage.data_dir``, one
evaluator thread, one delivery thread per channel, and an optional watchdog ping.
For tests on a fake clock, ``pump()`` runs one evaluation and one delivery pass
synchronously instead of the threads.

What the dashboard shows comes from :meth:`AlertService.snapshot`, an immutable
snapshot that the evaluator, the workers and the commands republish after they
write (alerts/snapshot.py): the dashboard's push thread never reads SQLite.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Callable

from alerts import channels as channel_mod
from alerts import history as history_mod
from alerts.config import AlertsSettings
from alerts.delivery import ChannelWorker, RateLimiter, WorkerThread
from alerts.engine import Engine
from alerts.evaluator import EvaluatorThread
from alerts.held import HeldStore
from alerts.notification import Report
from alerts.outbox import Outbox
from alerts.read_model import ActiveAlert, AlertStatus, ChannelResult
from alerts.silences import Silence, SilenceOutcome
from alerts.snapshot import AlertSnapshot, SnapshotPublisher
from common.logline import line
from core.storage_settings import StorageSettings

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
        self.held = HeldStore()  # the store fails (disk full): alerts held in memory and sent from there
        self.channels = channel_mod.build(settings, dashboard_url)
        self.workers = self._workers()
        self.engine = Engine(
            self.outbox,
            settings,
            stale_after_s=stale_after_s,
            dashboard_url=dashboard_url,
            dests_of=self._dests_of,
            restored_bots=hub.bots(),  # built after the store's restore, before any event of this run
            held=self.held,
        )
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self.snapshots = SnapshotPublisher(self.outbox, self.engine, lambda: self.workers, self.held.status)
        self._sweep_unroutable()
        self.publish()

    def _workers(self) -> dict[str, ChannelWorker]:
        return {
            name: _PublishingWorker(
                ch,
                self.outbox,
                self.limiter,
                self.settings.delivery,
                self.clock,
                self.rng,
                self.held,
                after_pass=self.publish,
            )
            for name, ch in self.channels.items()
        }

    def _dests_of(self, name: str) -> list[str]:
        ch = self.channels.get(name)
        return ch.destinations() if ch else []

    def _sweep_unroutable(self) -> None:
        """Rows for channels/destinations no longer configured are dead-lettered, loudly, not lost."""
        now = self.clock()
        try:
            for name in self.outbox.pending_channels():
                n = self.outbox.dead_unroutable(
                    name, self._dests_of(name), now, f"channel {name!r} or its destination is not configured"
                )
                if n:
                    log.error(
                        line("alert_dead_lettered", channel=name, notifications=n, reason="not_configured")
                    )
        except sqlite3.DatabaseError as exc:  # a full disk: swept at the next reload or start
            self.held.fail(exc, now)

    # ---- lifecycle ------------------------------------------------------
    def start(self) -> None:
        if not self.settings.enabled:
            log.info(line("alerts_disabled", why="alerts.enabled is false"))
            return
        self._stop.clear()
        self.engine.start(self.clock())
        self._threads = [
            EvaluatorThread(self.engine, self.hub, self.clock, self._stop, self._wake_all, self.publish)
        ]
        self._threads += [WorkerThread(w, self._stop, self.clock) for w in self.workers.values()]
        if self.settings.watchdog.url:
            self._threads.append(threading.Thread(target=self._watchdog, name="alerts-watchdog", daemon=True))
        for t in self._threads:
            t.start()

    def stop(self) -> None:
        self._stop_threads()
        try:
            self.engine.mark_stopped(self.clock())  # the next start words an outage with this time
        except Exception:  # a failing disk must not keep the monitor from stopping
            log.exception("alerts: stop time not recorded")
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
        n = self.engine.evaluate(self.hub.metrics(), self.clock())
        self.publish()
        return n

    def deliver(self) -> None:
        for w in self.workers.values():
            w.run_once()

    def pump(self) -> None:
        """One evaluation then one delivery pass per channel, on the caller's thread."""
        self.evaluate()
        self.deliver()

    # ---- the runtime's API ----------------------------------------------
    def ack(self, alert_id: str, by: str) -> bool:
        """Acknowledge a firing alert; ``by`` is the actor (``dashboard``, ``api``, ``telegram:<id>``)."""
        acked = self.engine.ack(alert_id, by, self.clock())
        self.publish()  # the page shows "acknowledged" at its next frame, not after the next evaluation
        return acked

    def forget(self, bot: str, by: str | None = None) -> int:
        """Close every alert of a bot the operator forgot; how many were closed; ``by`` is the actor."""
        closed = self.engine.forget(bot, self.clock(), by)
        self._wake_all()  # resolved notices go out now, not at the next tick
        self.publish()
        return closed

    def silence(
        self, bot: str, rule: str, severity: str, duration_s: float | None, comment: str, by: str
    ) -> SilenceOutcome:
        """Make a silence (on disk before this returns), or say why not; ``by`` is the actor."""
        outcome = self.engine.silence(bot, rule, severity, duration_s, comment, by, self.clock())
        self.publish()
        return outcome

    def unsilence(self, silence_id: str, by: str) -> bool:
        """End a silence now; an alert it muted that still fires is notified at once."""
        ended = self.engine.unsilence(silence_id, by, self.clock())
        self._wake_all()
        self.publish()
        return ended

    def silences(self) -> tuple[Silence, ...]:
        """Active silences first, then those ended within 5 days."""
        return self.engine.listed_silences(self.clock())

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
        self.publish()
        if running:
            self.start()

    # ---- what the dashboard reads ----------------------------------------
    def publish(self) -> AlertSnapshot:
        """Rebuild the snapshot after a write (reads SQLite only if the outbox changed)."""
        return self.snapshots.publish()

    def snapshot(self) -> AlertSnapshot:
        """The alert state as last published: one attribute read, no lock, no I/O."""
        return self.snapshots.current

    def status(self) -> AlertStatus:
        """Firing count, delivery failing, per-channel health, brought up to date first. No secrets."""
        return self.publish().status

    def active(self) -> tuple[ActiveAlert, ...]:
        """The open alerts of the read model, brought up to date first (chat commands, tests)."""
        return self.publish().active

    def test_results(self, test_id: str) -> dict[str, ChannelResult]:
        """Per channel, where a test notification is: sending, delivered, retrying, failed."""
        return history_mod.channel_results(self.outbox.notifications_of(test_id))

    def previous_alive(self) -> float | None:
        """When the run before this one was last known alive (None: this is the first run)."""
        return self.engine.previous.last_alive

    def report_queued(self, report_id: str) -> bool:
        """Whether a report of this id is in the outbox (sent, or on its way)."""
        return bool(self.outbox.notifications_of(report_id))

    def alerts_since(self, since: float) -> tuple[ActiveAlert, ...]:
        """The alerts open now and those that ended since ``since`` (a day's alert counts)."""
        stored = self.outbox.load_active() + self.outbox.load_ended_since(since)
        return tuple(ActiveAlert.of(a) for a in stored)

    def channel_kinds(self) -> dict[str, str]:
        """Configured channel name -> its type (``slack``, ``telegram``...), in settings order."""
        return {name: str(getattr(ch.cfg, "type", name)) for name, ch in self.channels.items()}

    def send_test(self, channels: list[str] | None = None, by: str | None = None) -> str:
        """Queue a test notification to ``channels`` (default: all); its alert id. ``by``: the actor."""
        names = list(self.channels) if channels is None else [c for c in channels if c in self.channels]
        test_id = self.engine.enqueue_test(names, self.clock(), by)
        self.publish()
        self._wake_all()
        return test_id

    def send_report(
        self,
        report: Report,
        channels: list[str] | None = None,
        report_id: str | None = None,
        by: str | None = None,
    ) -> str:
        """Queue a report (kind ``report``) to ``channels`` (default: all); returns its id.

        With ``report_id`` (the daily report's key) a second send of the same id is a no-op.
        """
        names = list(self.channels) if channels is None else [c for c in channels if c in self.channels]
        report_id = self.engine.enqueue_report(report, names, self.clock(), report_id, by)
        self.publish()
        self._wake_all()
        return report_id

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
                log.warning(line("watchdog_ping_failed", host=host, error=type(exc).__name__))
            self._stop.wait(wd.interval_s)


class _PublishingWorker(ChannelWorker):
    """A channel worker that republishes the alert snapshot after each pass (its writes are done)."""

    def __init__(self, *args: object, after_pass: Callable[[], object]) -> None:
        super().__init__(*args)
        self._after_pass = after_pass

    def run_once(self) -> float | None:
        try:
            return super().run_once()
        finally:
            self._after_pass()
