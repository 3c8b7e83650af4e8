"""Composition root: build the hub, collector, API, dashboard and alerts, and run them.

Nothing imports this module except `app.__main__` and the tests; it is the
one place that knows every part, so the parts never need to know each other.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

import msgspec
import psutil
from flask import Flask

from alerts.read_model import AlertStatus
from alerts.service import AlertService
from app import dashboard, web_guard
from app.actions import DASHBOARD
from app.api import create_api, json_response
from app.hub import Hub
from app.liveness_log import LivenessWatcher
from app.operator import Operator
from app.persistence import Journal
from app.prometheus import Exposition, create_exporter
from app.report_scheduler import DailyReports, ReportScheduler
from app.settings import Settings, SettingsError, substitute_env
from app.settings_changes import Applied, Change
from app.settings_writer import SettingsWriter, plain
from app.telegram.links import Links
from collectors.curve import CurveConfig, load_or_create_server_keys
from collectors.demo import run_demo
from collectors.zmq_collector import Collector, CollectorSupervisor, Endpoint
from common.logline import line
from core.documents import MetricsDocument, PositionsDocument
from core.monitor_documents import (
    CollectorThread,
    EdgeStatus,
    JournalStatus,
    MonitorStatus,
    PersistenceStatus,
)
from core.store import StateStore

log = logging.getLogger(__name__)


def connect_url(endpoint: Endpoint) -> str:
    """Where a local bot connects to reach a bind endpoint (``*`` / 0.0.0.0 -> loopback)."""
    return endpoint.url.replace("://*:", "://127.0.0.1:").replace("://0.0.0.0:", "://127.0.0.1:")


def _settings_file(settings: Settings) -> Path | None:
    """The file the Alerts tab saves to; None when running on built-in defaults."""
    return Path(settings.source) if Path(settings.source).is_file() else None


def _curve(settings: Settings) -> CurveConfig | None:
    """The collector's CURVE keys, the monitor's pair created in the data directory on first start."""
    curve = settings.collector.curve
    if not curve.enabled:
        return None
    public, secret = load_or_create_server_keys(settings.storage.data_dir)
    if not curve.authorized_keys:
        log.warning(line("curve_no_authorized_keys", effect="every bot is refused"))
    log.info(line("curve_public_key", key=public.decode("ascii"), note="give it to the bots"))
    keys = curve.authorized_keys if isinstance(curve.authorized_keys, dict) else {}  # a list is refused
    return CurveConfig(public, secret, {k.encode("ascii"): frozenset(bots) for k, bots in keys.items()})


def _restore(
    settings: Settings, clock: Callable[[], float], accept_empty: bool
) -> tuple[Journal | None, Hub]:
    """The journal (when enabled) and the hub over the state restored from it, attached to it."""
    js = settings.storage.journal
    journal = Journal(settings.storage.data_dir, js, clock=clock) if js.enabled else None
    core = settings.core()
    store = journal.restore(core, clock, accept_empty=accept_empty) if journal else StateStore(core, clock)
    hub = Hub(store)
    if journal is not None:
        journal.attach(hub)
    return journal, hub


def _collector(settings: Settings, hub: Hub, endpoints: list[Endpoint]) -> CollectorSupervisor:
    """The ZeroMQ collector on ``endpoints``, restarted by its supervisor when it dies."""
    c = settings.collector
    return CollectorSupervisor(
        Collector(
            hub,
            endpoints,
            c.max_message_bytes,
            recovery_timeout_s=c.recovery_timeout_s,
            recovery_max_held=c.recovery_max_held,
            curve=_curve(settings),
        ),
        restart_delay_s=c.restart_delay_s,
    )


def _guard(flask_app: Flask, settings: Settings) -> web_guard.WebGuard:
    """The HTTP edge's gate (app/web_guard.py), installed before any route."""
    return web_guard.install(
        flask_app,
        bind_host=settings.server.host,
        port=settings.server.port,
        public_url=settings.server.public_url,
        allowed_hosts=settings.server.allowed_hosts,
        key_dir=settings.storage.data_dir,
    )


def _alerts(settings: Settings, hub: Hub, clock: Callable[[], float]) -> AlertService:
    """The alert service over the restored hub (its store opened, nothing evaluated until start)."""
    return AlertService(
        hub,
        settings.alerts,
        settings.storage,
        dashboard_url=settings.dashboard_url,
        stale_after_s=settings.collector.stale_after_s,
        clock=clock,
    )


class Monitor:
    """The whole monitor in one process; ``start()`` then serve ``flask_app``.

    ``operator`` (app/operator.py) is the one way in for every operator action; the
    page and the API are given it, never the parts it acts on.
    """

    def __init__(
        self,
        settings: Settings,
        demo: bool = False,
        clock: Callable[[], float] = time.time,
        *,
        accept_empty_state: bool = False,
    ) -> None:
        self.settings = settings
        self.started_at, self.clock = clock(), clock
        # The state is restored before anything can read it or write to it: no socket is open
        # yet and no alert is evaluated until start() (docs/architecture.md, Durability).
        self.journal, self.hub = _restore(settings, clock, accept_empty_state)
        self.hub.set_extras(self._extras)
        self.liveness = LivenessWatcher(self.hub)
        endpoints = [Endpoint(e.url, e.mode) for e in settings.collector.endpoints]
        self.collector = _collector(settings, self.hub, endpoints)
        self.flask_app = Flask("app")
        self.web_guard = _guard(self.flask_app, settings)  # before any route: it answers for all of them
        self.alerts = _alerts(settings, self.hub, clock)
        # the alerts' bots are caught up too, with the state's: a bot may have open alerts only
        self.collector.collector.catch_up_also(a.bot for a in self.alerts.active())
        self.listen_info = {"zmq": [str(e) for e in endpoints], "http": settings.dashboard_url}
        path = _settings_file(settings)
        self._writer = SettingsWriter(path) if path is not None else None
        self.reports = DailyReports(self.alerts, self.hub, settings.metrics.timezone, settings.reports, clock)
        self.report_scheduler = ReportScheduler(self.reports)
        self.operator = Operator(
            self.alerts,
            self.hub,
            self if self._writer else None,
            timezone=settings.metrics.timezone,
            reports=self.reports,
        )
        self.dashboard = self._mount_web()
        # the Telegram command link: one poller per token, for the monitor's lifetime (not per Save)
        self.telegram = Links(self.operator, Path(settings.storage.data_dir))
        self._demo_stop = threading.Event()
        self._demo_thread = self._demo_bot(endpoints) if demo else None
        self._process = psutil.Process()

    def _mount_web(self) -> dashboard.DashboardHandle:
        """The API's routes and the dashboard on the Flask app; both act through the operator facade."""
        self.alerts.engine.max_silence_s = (
            self.settings.silences.max_duration_s
        )  # what front ends are held to
        alive = lambda: self.collector.alive  # noqa: E731
        self.flask_app.register_blueprint(create_api(self.hub, alive, self.operator))
        self.flask_app.add_url_rule(  # the alert read model, as the Alerts tab shows it
            "/api/alerts", "alerts", lambda: json_response(self.alerts.snapshot().document())
        )
        self.flask_app.register_blueprint(create_exporter(self._exposition()))  # GET /metrics
        return dashboard.install(
            self.flask_app,
            self.hub,
            self.settings.dashboard,
            listen_info=self.listen_info,
            alerts_status=lambda: self.operator.snapshot().status,
            alerts=self.operator if self.operator.can_reconfigure else None,
            admin=self.operator,
        )

    def _exposition(self) -> Exposition:
        """What ``GET /metrics`` reads per scrape: the documents the API serves, one read each."""
        return Exposition(
            [
                (MetricsDocument, self.hub.metrics),
                (PositionsDocument, self.hub.positions),
                (AlertStatus, lambda: self.alerts.snapshot().status),
            ]
        )

    def _demo_bot(self, endpoints: list[Endpoint]) -> threading.Thread:
        bind = next((e for e in endpoints if e.mode == "bind" and e.url.startswith("tcp://")), None)
        if bind is None:
            raise ValueError("--demo needs a tcp bind endpoint for the simulated bot to connect to")
        return threading.Thread(
            target=self._run_demo, args=(connect_url(bind),), name="demo-bot", daemon=True
        )

    def _run_demo(self, url: str) -> None:
        try:
            run_demo(url, self._demo_stop)
        except Exception:
            log.exception("demo bot stopped")

    def _extras(self) -> EdgeStatus:
        """The collector thread and this process, for the metrics document (the hub merges it)."""
        return EdgeStatus(
            collector=msgspec.convert(self.collector.status(), CollectorThread),
            monitor=MonitorStatus(
                started_at=self.started_at,
                uptime_s=self.clock() - self.started_at,
                rss_bytes=self._process.memory_info().rss,
                threads=threading.active_count(),
                web_refused=self.web_guard.refused(),
                telegram=self.telegram.status() or msgspec.UNSET,
            ),
            persistence=self._persistence(),
        )

    def _persistence(self) -> PersistenceStatus:
        if self.journal is None:
            off = JournalStatus(
                state="off",
                failure=None,
                committed_batch=0,
                uncommitted=0,
                last_commit_at=None,
                queued=0,
                snapshots=0,
                last_snapshot_at=None,
                last_snapshot_pause_ms=None,
                data_bytes=0,
            )
            return PersistenceStatus(restore=None, journal=off)
        return PersistenceStatus(restore=self.journal.restore_info, journal=self.journal.status())

    # ---- reconfiguration at run time (the one owner; the dashboard calls it) ----
    def settings_document(self) -> dict[str, Any]:
        """The settings file as plain data, as it is on disk now (what the form shows)."""
        return plain(self._require_writer().document())

    def resolved_settings(self, doc: Mapping[str, Any]) -> dict[str, Any] | None:
        """``doc`` with ``${VAR}`` and the secrets file substituted, only to compute masks."""
        writer = self._require_writer()
        try:
            return substitute_env(dict(doc), writer.path, env={**os.environ, **writer.secrets(doc)})
        except SettingsError:
            return None

    def apply_settings(
        self, changes: Iterable[Change], secrets: Mapping[str, str] | None = None, *, actor: str = DASHBOARD
    ) -> Applied:
        """Validate a change like start-up would, write the file atomically, then apply it live.

        Applied live: the stale threshold (store, page and stale rule at once),
        the alert rules, routes and channels (engine and delivery workers).
        The rest of the file (server, collector endpoints...) takes effect at
        the next start.  Invalid -> nothing written, nothing applied.  Front ends
        reach this through the operator facade (``operator.apply_settings``), which
        names the ``actor``; it is logged with the reload.
        """
        writer = self._require_writer()
        saved = self._save(writer, changes, secrets)
        if isinstance(saved, Applied):
            return saved
        try:
            self._apply(saved)
        except Exception as exc:  # saved but not applied: say so, loudly
            log.exception(line("settings_reload_failed", error=type(exc).__name__))
            return Applied(True, f"Saved, but the alert engine could not reload: {type(exc).__name__}: {exc}")
        log.info(
            line(
                "settings_reloaded",
                source=actor,
                stale_after_s=saved.collector.stale_after_s,
                rules=len(saved.alerts.rules),
                channels=len(saved.alerts.channels),
            )
        )
        done = f"Saved to {writer.path.name} (previous version in {writer.backup_path.name})"
        return Applied(True, done + "; alert engine reloaded.")

    @staticmethod
    def _save(
        writer: SettingsWriter, changes: Iterable[Change], secrets: Mapping[str, str] | None
    ) -> Settings | Applied:
        """The settings as saved, or why nothing was written (an ``Applied`` saying so)."""
        try:
            report = writer.save_report(changes, secrets)
        except SettingsError as exc:  # the key only: a refused value may be a secret
            log.warning(line("settings_not_saved", file=str(writer.path), key=exc.key))
            return Applied(False, f"Not saved: {exc.key}: {exc.reason}", exc.key, exc.reason)
        except OSError as exc:
            log.error(line("settings_not_saved", file=str(writer.path), error=exc.strerror))
            return Applied(False, f"Not saved: cannot write {writer.path}: {exc.strerror}")
        keys, secret_keys = ",".join(report.keys) or None, ",".join(report.secrets) or None
        log.info(line("settings_saved", file=str(writer.path), keys=keys, secrets=secret_keys))
        return report.settings

    def _apply(self, settings: Settings) -> None:
        stale = settings.collector.stale_after_s
        self.alerts.reload(settings.alerts, stale_after_s=stale)
        self.alerts.engine.max_silence_s = settings.silences.max_duration_s  # the next silence's bound
        self.hub.set_stale_after(stale)  # the page's stale marker follows the same threshold at once
        self.telegram.sync(settings.alerts)
        self.reports.settings = settings.reports
        self.report_scheduler.reschedule()

    def _require_writer(self) -> SettingsWriter:
        if self._writer is None:
            raise RuntimeError("running on built-in defaults: there is no settings file to change")
        return self._writer

    def start(self) -> None:
        """Start every thread; raises if the collector cannot bind its endpoints."""
        if self.journal is not None:
            self.journal.start()
        self.collector.start()
        self.liveness.start()
        self.alerts.start()
        self.telegram.start(self.settings.alerts)
        self.report_scheduler.start()
        self.dashboard.start()
        if self._demo_thread is not None:
            self._demo_thread.start()

    def stop(self) -> None:
        self.liveness.stop()  # first: bots falling silent during the shutdown are no news
        self._demo_stop.set()
        if self._demo_thread is not None and self._demo_thread.is_alive():
            self._demo_thread.join(3)
        self.telegram.stop()
        self.dashboard.stop()
        self.report_scheduler.stop()
        self.alerts.stop()
        self.collector.stop()
        if self.journal is not None:
            self.journal.stop()  # after the collector: every applied batch is written, then checkpointed
