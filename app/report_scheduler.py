"""The daily report at the edge: what it reads, where it goes, and the thread that fires it.

:class:`DailyReports` turns the live state into a report (``alerts/report.py`` builds
it from the metrics document and the alert read model) and queues it through the
alert service's outbox, so a report is retried, dead-lettered and shown in the
history like any notification.  The daily one carries the key
``report:daily:<YYYY-MM-DD>``: the outbox ignores a second one with the same key,
so a day is reported once whatever restarts happen.

:class:`ReportScheduler` fires it at ``reports.daily.at`` in ``metrics.timezone``
(zoneinfo: a DST change moves the instant, never the wall time).  At start, when
the monitor ran before and the latest cut-off's report is not in the outbox (the
monitor was down then, or died before queueing it), that report is sent at once,
marked late, from the restored state: the figures are what the monitor knew.

The clock is injected and :meth:`ReportScheduler.tick` does one step, so a fake
clock drives it in tests; the thread only waits between ticks.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from zoneinfo import ZoneInfo

from alerts import report as report_mod
from alerts.notification import Report
from alerts.report import AlertCounts, DailyReportSettings, ReportsSettings
from alerts.service import AlertService
from app.hub import Hub
from common.logline import line

log = logging.getLogger(__name__)

#: The longest wait between two looks at the clock (a clock jump or a settings change is seen by then).
MAX_WAIT_S = 30.0


class DailyReports:
    """Reports from the live state: the scheduler's daily one and the operator's "so far"."""

    def __init__(
        self,
        alerts: AlertService,
        hub: Hub,
        timezone: str,
        settings: ReportsSettings | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._alerts, self._hub, self.clock = alerts, hub, clock
        self.zone = ZoneInfo(timezone)
        #: ``reports:`` in force; the composition root replaces it when settings are applied
        self.settings = settings or ReportsSettings()

    @property
    def daily(self) -> DailyReportSettings:
        return self.settings.daily

    def channels(self) -> list[str]:
        """``reports.daily.channels``, else the ``warning`` route's; only channels configured now."""
        chosen = self.daily.channels
        if chosen is None:
            chosen = list(self._alerts.settings.route("warning").channels)
        kinds = self._alerts.channel_kinds()
        return [c for c in chosen if c in kinds]

    def counts(self, start: float, end: float) -> AlertCounts:
        """The alerts of ``[start, end)`` from the alert read model."""
        history = self._alerts.snapshot().history
        return report_mod.alert_counts(self._alerts.alerts_since(start), history, start, end)

    def _build(self, title: str, now: float) -> Report:
        since = report_mod.latest_cutoff(now, self.daily.at, self.zone)
        return report_mod.build(self._hub.metrics(), self.counts(since, now), title)

    def so_far(self) -> Report:
        """Today's figures now (alerts since the last cut-off): what ``/report`` answers."""
        now = self.clock()
        return self._build(report_mod.so_far_title(now, self.zone), now)

    def send_so_far(self, actor: str) -> str:
        """Queue today's figures so far to the report channels, recording ``actor``; its id."""
        return self._alerts.send_report(self.so_far(), self.channels(), by=actor)

    def send_daily(self, cutoff: float, late_at: float | None = None) -> bool:
        """Queue the report of ``cutoff`` once (the outbox key); False if it was already there."""
        key = report_mod.report_key(cutoff, self.zone)
        channels = self.channels()
        if not channels:  # nowhere to send it is a setting, not a failure: said once per cut-off
            log.warning(line("daily_report_skipped", key=key, why="no report channel configured"))
            return False
        if self._alerts.report_queued(key):
            return False
        title = report_mod.daily_title(cutoff, self.zone, late_at)
        since = report_mod.latest_cutoff(cutoff - 1e-3, self.daily.at, self.zone)
        report = report_mod.build(self._hub.metrics(), self.counts(since, cutoff), title)
        self._alerts.send_report(report, channels, report_id=key)
        log.info(line("daily_report_queued", key=key, late=late_at is not None, channels=",".join(channels)))
        return True

    def ran_before(self) -> bool:
        """The alert store holds a previous run (a first start owes no report)."""
        return self._alerts.previous_alive() is not None


class ReportScheduler:
    """Fires the daily report at each cut-off; at start, sends a missed one marked late."""

    def __init__(self, reports: DailyReports) -> None:
        self.reports = reports
        self._next: float | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def catch_up(self) -> bool:
        """At start: the latest cut-off's report, late, if the monitor ran before and it is missing."""
        r = self.reports
        if not r.daily.enabled or not r.ran_before():
            return False
        now = r.clock()
        return r.send_daily(report_mod.latest_cutoff(now, r.daily.at, r.zone), late_at=now)

    def tick(self) -> float:
        """One look at the clock: send the report of a cut-off reached; seconds to the next one."""
        r = self.reports
        now = r.clock()
        if self._next is None:
            self._next = report_mod.next_cutoff(now, r.daily.at, r.zone)
        elif now >= self._next:
            if r.daily.enabled:
                r.send_daily(self._next)  # the document as it is now, at the cut-off
            self._next = report_mod.next_cutoff(now, r.daily.at, r.zone)
        return self._next - now

    def reschedule(self) -> None:
        """The cut-off time changed: the next one is computed afresh at the next tick."""
        self._next = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="daily-report", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)

    def _run(self) -> None:
        try:
            self.catch_up()
        except Exception:  # never die: the next cut-off is still owed
            log.exception(line("daily_report_failed", when="start"))
        while not self._stop.is_set():
            try:
                wait = self.tick()
            except Exception:
                log.exception(line("daily_report_failed", when="cut-off"))
                wait = MAX_WAIT_S
            self._stop.wait(min(max(wait, 0.01), MAX_WAIT_S))
