"""The Alerts tab's data: active alerts, delivery history and rules, as display-ready sections.

They arrive like every other section: the broadcaster calls :meth:`AlertSections.sections`
once per push tick and sends the sections that changed over /ws; the page stores them in
``dcc.Store`` s (:data:`STORES`) and clientside callbacks (assets/alerts_tab.js) render
them, so no Python runs per frame.  The sections are made from the alert service's
published snapshot (alerts/snapshot.py): the push thread never reads SQLite.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any, Protocol
from zoneinfo import ZoneInfo

import msgspec

from alerts import catalog, messages, silences
from alerts.config import AlertsSettings, Threshold, Thresholds
from alerts.read_model import ActiveAlert, AlertStatus, ChannelResult, HistoryEntry
from alerts.silences import Silence
from alerts.snapshot import AlertSnapshot
from alerts.states import active_order
from app.dashboard import fmt
from app.dashboard.safety_view import fleet_rows, safety_rows
from app.dashboard.view_input import ALL as ALL_BOTS
from core.documents import BotMetrics, MetricsDocument

log = logging.getLogger(__name__)

STORES = ("at-active", "at-history", "at-rules")

#: The zone of times on the Alerts tab until the monitor's metrics settings say otherwise.
UTC = ZoneInfo("UTC")


class AlertsView(Protocol):
    """What the pushed sections read of the operator facade (app/operator.py): answers, no objects."""

    def snapshot(self) -> AlertSnapshot: ...

    def alert_settings(self) -> AlertsSettings: ...

    @property
    def stale_after_s(self) -> float: ...

    @property
    def timezone(self) -> str | None: ...


class AlertSections:
    """The pushed part of the Alerts tab (a mixin of :class:`~app.dashboard.alerts_tab.AlertsTab`).

    Its rows are cached per published snapshot and view, so a tick that finds the
    snapshot unchanged costs one dictionary lookup.
    """

    alerts: AlertsView
    metrics_of: Callable[[], MetricsDocument] | None
    clock: Callable[[], float]
    _rows_of: tuple[AlertSnapshot | None, dict[str, tuple[dict, dict]]]

    def sections(self, view: str = ALL_BOTS, metrics: MetricsDocument | None = None) -> dict[str, Any]:
        """``at-active``, ``at-history``, ``at-rules`` of a view: display-ready, diffed by the broadcaster.

        A view of one bot shows that bot's alerts and the monitor's own (a failing journal
        concerns whoever is watching), and the Rules table's current values of that bot only.
        """
        try:
            active, history = self._snapshot_sections(self.alerts.snapshot(), view)
            return {"at-active": active, "at-history": history, "at-rules": self.rules_section(view, metrics)}
        except Exception:  # a failing engine must not stop the other sections
            log.exception("alerts tab sections failed")
            return {}

    def _snapshot_sections(
        self, snap: AlertSnapshot, view: str = ALL_BOTS
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """The active and history sections of one snapshot, made once per published snapshot and view."""
        cached, by_view = self._rows_of
        if snap is not cached:
            by_view = {}
            self._rows_of = (snap, by_view)
        zone, now = zone_of(self.alerts.timezone), self.clock()
        key = f"{view}|{zone.key}|{_day(now, zone)}"  # times show the zone, and the date when not today
        if key not in by_view:
            part = snapshot_of_view(snap, view)
            by_view[key] = (active_section(part, zone, now), history_section(part, zone, now))
        return by_view[key]

    def rules_section(self, view: str = ALL_BOTS, metrics: MetricsDocument | None = None) -> dict[str, Any]:
        if metrics is None and self.metrics_of is not None:
            metrics = self.metrics_of()
        rows = rules_rows(
            self.alerts.alert_settings(), self.alerts.stale_after_s, metrics_of_view(metrics, view)
        )
        return {"rows": rows}


def view_bot(view: str) -> str | None:
    """The read model's name of a view: its bot, or None for every bot."""
    return None if view == ALL_BOTS else view


def snapshot_of_view(snap: AlertSnapshot, view: str) -> AlertSnapshot:
    """The part of a snapshot one view shows (the rows are then made as for all bots)."""
    return snap.of_view(view_bot(view))


def metrics_of_view(metrics: MetricsDocument | None, view: str) -> MetricsDocument | None:
    """The metrics document with only the view's bot (the Rules table's current values)."""
    if metrics is None or view == ALL_BOTS:
        return metrics
    return msgspec.structs.replace(metrics, bots={b: m for b, m in metrics.bots.items() if b == view})


def alert_status(service: AlertsView) -> AlertStatus:
    """The alert status of the published snapshot, with the firing alerts counted per bot.

    The broadcaster narrows the status bar's firing count to a view with it
    (``AlertStatus.for_view``); the count and the Alerts tab come from one snapshot.
    """
    return service.snapshot().status


def channel_text(
    res: ChannelResult, zone: ZoneInfo | None = None, now: float | None = None
) -> tuple[str, str]:
    """A channel's delivery state as words and a css class (pos / warn / neg); times in ``zone``."""
    state = res.state
    if state == "delivered":
        return "delivered", "pos"
    if state == "retrying":
        return (
            f"retrying (attempt {res.attempt}, "
            f"next try {fmt.when(res.next_try, zone or UTC, time.time() if now is None else now)}): "
            f"{res.error}"
        ), "warn"
    if state in ("failed", "dead-lettered"):
        return f"{state}: {res.error}", "neg"
    return "sending…", "muted"


def zone_of(timezone: str | None) -> ZoneInfo:
    """The ``metrics.timezone`` in force (the operator facade's answer, fixed for the run).

    The same zone as the rest of the page's times (the broadcaster's), so every
    table shows one clock; UTC without one (the tab tested alone).
    """
    if not timezone:
        return UTC
    try:
        return ZoneInfo(timezone)
    except Exception:  # an unknown zone: times stay readable, in UTC and saying so
        return UTC


def _day(now: float, zone: ZoneInfo) -> str:
    """Today's date in ``zone`` (rows made yesterday would show no date on yesterday's times)."""
    return datetime.fromtimestamp(now, zone).date().isoformat()


def active_section(snap: AlertSnapshot, zone: ZoneInfo = UTC, now: float | None = None) -> dict[str, Any]:
    """Open alerts, most severe first (then firing before pending, then the oldest first); and the
    silences listed (the Silences section's table, pushed with the alerts they mute)."""
    now = time.time() if now is None else now
    alerts = sorted(snap.active, key=active_order)
    listed = [_silence_row(s, zone, now) for s in snap.silences]
    return {"rows": [_active_row(a, zone, now) for a in alerts], "silences": listed}


def _silence_row(s: Silence, zone: ZoneInfo, now: float) -> dict[str, Any]:
    """One silence: its matchers, its end (in the zone, and as an epoch for the page's "ends in"), who."""
    live = silences.active(s, now)
    ended = ""
    if not live:
        ended = f"ended {fmt.when(s.ended_at, zone, now)}" + (f", by {s.expired_by}" if s.expired_by else "")
    return {
        "id": s.id,
        "bot": messages.scope(s.bot) if s.bot != silences.ANY else s.bot,
        "rule": catalog.title(s.rule) if s.rule != silences.ANY else s.rule,
        "sev": s.severity,
        "until": fmt.when(s.ended_at, zone, now),
        "ends_at": s.ended_at,
        "by": s.author,
        "comment": s.comment,
        "active": live,
        "ended": ended,
    }


def history_section(snap: AlertSnapshot, zone: ZoneInfo = UTC, now: float | None = None) -> dict[str, Any]:
    """Notifications, newest first, each with the words it said."""
    now = time.time() if now is None else now
    rows = [_history_row(e, zone, now) for e in snap.history]
    bots = sorted({r["bot"] for r in rows if r["bot"]})
    return {"rows": rows, "bots": [[b, messages.scope(b)] for b in bots]}  # [value, name shown]


def _active_row(a: ActiveAlert, zone: ZoneInfo = UTC, now: float | None = None) -> dict[str, Any]:
    """One open alert: severity as a word, the bot, the rule's name, the fact once, since when."""
    now = time.time() if now is None else now
    status = "acknowledged" if a.acknowledged else a.status
    if a.verifying:  # carried over a restart; held until its bot's state caught up
        status = f"{status}, verifying after restart"
    if a.silence_id:  # its notices are muted; it is still evaluated and shown
        status = f"{status}, silenced until {fmt.when(a.silenced_until, zone, now)}, by {a.silenced_by}"
    acked = f"by {a.acked_by} at {fmt.when(a.acked_at, zone, now)}" if a.acknowledged else ""
    return {
        "id": a.alert_id,
        "sev": a.severity,
        "bot": a.bot,  # the id, as the bot selector knows it
        "who": messages.scope(a.bot),  # as the table shows it ("monitor" for the monitor's own)
        "rule": catalog.title(a.rule),
        "what": a.summary,
        "since": fmt.when(a.since, zone, now),
        "status": status,
        "esc": _escalation(a),
        "delivered": ", ".join(a.delivered) or ("not yet" if a.status == "firing" else "—"),
        "ackable": a.status == "firing" and not a.acknowledged,
        "acked": acked,
    }


def _escalation(a: ActiveAlert) -> str:
    """``none``, ``1 of 2 steps``; ``failover`` once every channel was told."""
    steps = a.escalation_steps
    text = f"{a.escalations} of {steps} step{'s' if steps != 1 else ''}" if steps else "none"
    return text + (", failover" if a.failed_over else "")


def _history_row(e: HistoryEntry, zone: ZoneInfo = UTC, now: float | None = None) -> dict[str, Any]:
    """One notification: when, severity, bot, the rule's name (or the kind's), its state word and its fact."""
    now = time.time() if now is None else now
    chans = [
        [f"{name}: {text}", cls]
        for name, res in sorted(e.channels.items())
        for text, cls in [channel_text(res, zone, now)]
    ]
    return {
        "t": fmt.when(e.created_at, zone, now),
        "sev": e.severity or "",
        "bot": e.bot or "",
        "who": messages.scope(e.bot) if e.bot else "",
        "rule": e.title,
        "kind": e.state,
        "what": (e.what or e.summary or "") + (f" (by {e.by})" if e.by else ""),  # an operator's action
        "ch": chans,
    }


def _short(x: object, unit: str = "", currency: str | None = None) -> str:
    """A value as the cards show it (``10.00%``, ``500 ms``, ``-500.00 USD``); empty for none."""
    return "" if x is None else messages.shown(x, unit, currency)


def rules_rows(
    settings: AlertsSettings, stale_after_s: float, metrics: MetricsDocument | None
) -> list[list[str]]:
    """[rule, condition, for, severity, enabled, current value per bot] for every rule.

    The built-in rules come from alerts.catalog in its order, custom rules after the thresholds.
    Rules are named as in every alert text; values are shown like the cards (``10.00%``, ``500 ms``,
    money with 2 decimals and each bot's currency).
    """
    bots = metrics.bots if metrics is not None else {}
    rows = [_threshold_row(rule, settings.thresholds, bots) for rule in catalog.THRESHOLDS]
    for r in settings.rules:
        m = catalog.metric(r.metric)
        rows.append(
            [
                r.name,
                f"{m.name} {r.op} {_short(r.value, m.unit)}",
                messages.duration(r.for_s) if r.for_s else "—",
                r.severity,
                "on" if r.enabled else "off",
                _current(bots, tuple(r.metric.split(".")), m.unit),
            ]
        )
    for ev in catalog.EVENTS:
        path = tuple(ev.metric.split(".")) if ev.metric else None
        unit = catalog.metric(ev.metric).unit if ev.metric else ""
        rows.append(
            [
                ev.shown,
                ev.condition.format(stale_after_s=messages.duration(stale_after_s)),
                "—",
                ev.severity,
                "on" if getattr(settings.events, ev.name) else "off",
                _current(bots, path, unit) if path else "—",
            ]
        )
    return rows + safety_rows(settings, bots) + fleet_rows(settings, metrics)


def _threshold_row(
    rule: catalog.ThresholdRule, thresholds: Thresholds, bots: dict[str, BotMetrics]
) -> list[str]:
    spec = getattr(thresholds, rule.name)
    long = spec if isinstance(spec, Threshold) else None
    value = long.value if long else spec
    path = rule.path(thresholds.latency_stat)
    name = catalog.metric(".".join(path)).name
    return [
        rule.shown,
        f"{name} {rule.op} {_short(value, rule.unit) if value is not None else '—'}",
        messages.duration(long.for_s) if long and long.for_s else "—",
        long.severity if long and long.severity else rule.severity,
        "on" if value is not None and (long is None or long.enabled) else "off",
        _current(bots, path, rule.unit),
    ]


def _current(bots: dict[str, BotMetrics], path: tuple[str, ...], unit: str = "") -> str:
    """Each bot's value of the rule's metric, like the cards (money in the bot's currency);
    null is "no data" (the rule cannot cross yet)."""
    from alerts.rules import lookup

    def shown(doc: BotMetrics) -> str:
        value = lookup(doc, path)
        return "no data" if value is None else _short(value, unit, doc.currency) or "n/a"

    vals = [f"{b}: {shown(doc)}" for b, doc in sorted(bots.items())]
    if not vals:
        return "no bot yet"
    return ", ".join(vals[:8]) + (f" (+{len(vals) - 8} bots)" if len(vals) > 8 else "")
