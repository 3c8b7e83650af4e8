"""The daily report: its settings, its cut-offs, and the report built from a metrics document (pure).

Every figure of a report is a figure of the metrics document it is built from
(the one ``/api/metrics`` served at the cut-off, or now for a report "so far"),
worded by the one presenter (``core/present.py``), so the report and the API
can never disagree.  The alert counts of the day come from the typed alert read
model.  The edge that fires it at ``reports.daily.at`` is ``app/report_scheduler.py``;
the operator's "report so far" is ``app/operator.py``.

Pure: documents and times in, a :class:`Report` out; the wall clock is passed in.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, time, timedelta, tzinfo
from typing import Annotated

import msgspec

from alerts.notification import Report, ReportLine
from alerts.read_model import ActiveAlert, HistoryEntry
from core import present
from core.documents import BotMetrics, MetricsDocument

#: ``HH:MM`` (or ``HH:MM:SS``), 24-hour clock.
_HHMM = Annotated[str, msgspec.Meta(pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9])?$(?!\n)")]
#: The history event of a silenced alert (counted as "silenced" in the day's alert counts).
SILENCED_EVENT = "silenced"
#: The idempotency prefix of a day's report: one per date, whatever restarts happen.
KEY_PREFIX = "report:daily:"


class DailyReportSettings(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """``reports.daily``: when and where the daily report goes."""

    enabled: bool = True
    #: The cut-off, ``HH:MM`` (or ``HH:MM:SS``) in ``metrics.timezone``.
    at: _HHMM = "00:00"
    #: Channel names; null: the channels of the ``warning`` route.
    channels: list[str] | None = None


class ReportsSettings(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """The ``reports:`` section of settings.yaml."""

    daily: DailyReportSettings = DailyReportSettings()


class AlertCounts(msgspec.Struct, frozen=True, kw_only=True):
    """Alerts of a day: how many fired, were acknowledged, were silenced."""

    fired: int = 0
    acknowledged: int = 0
    silenced: int = 0


# ---- cut-offs ----------------------------------------------------------------------------------
def _at(day: date, hhmm: str, zone: tzinfo) -> float:
    """The instant ``hhmm`` reads on ``day`` in ``zone`` (a time a DST change skips: the one after it)."""
    hour, minute, *second = (int(x) for x in hhmm.split(":"))
    return datetime.combine(day, time(hour, minute, *second), tzinfo=zone).timestamp()


def latest_cutoff(now: float, hhmm: str, zone: tzinfo) -> float:
    """The newest cut-off at or before ``now``."""
    today = datetime.fromtimestamp(now, zone).date()
    cut = _at(today, hhmm, zone)
    return cut if cut <= now else _at(today - timedelta(days=1), hhmm, zone)


def next_cutoff(now: float, hhmm: str, zone: tzinfo) -> float:
    """The first cut-off after ``now``."""
    today = datetime.fromtimestamp(now, zone).date()
    cut = _at(today, hhmm, zone)
    return cut if cut > now else _at(today + timedelta(days=1), hhmm, zone)


def report_date(cutoff: float, zone: tzinfo) -> date:
    """The day a cut-off closes: the local date just before it (00:00 closes the day before)."""
    return datetime.fromtimestamp(cutoff - 1e-3, zone).date()


def report_key(cutoff: float, zone: tzinfo) -> str:
    """The outbox key of the report of that cut-off: ``report:daily:YYYY-MM-DD``."""
    return KEY_PREFIX + report_date(cutoff, zone).isoformat()


# ---- the day's alert counts --------------------------------------------------------------------
def alert_counts(
    alerts: Iterable[ActiveAlert], history: Iterable[HistoryEntry], start: float, end: float
) -> AlertCounts:
    """Alerts fired and acknowledged in ``[start, end)``, and silences recorded in the history."""

    def within(ts: float | None) -> bool:
        return ts is not None and start <= ts < end

    seen = {a.alert_id: a for a in alerts}.values()  # an alert read twice counts once
    return AlertCounts(
        fired=sum(within(a.fired_at) for a in seen),
        acknowledged=sum(within(a.acked_at) for a in seen),
        silenced=sum(e.event == SILENCED_EVENT and within(e.created_at) for e in history),
    )


# ---- the report ----------------------------------------------------------------------------------
def _pnl(x: float | None, currency: str | None) -> str:
    text = present.signed(x)
    return f"{text} {currency}" if currency and text != present.NA else text


def bot_lines(bot: str, m: BotMetrics) -> list[ReportLine]:
    """One bot's day, every value a field of its metrics document (``bot`` is text from a bot)."""
    cur = m.currency
    return [
        ReportLine(
            f"{bot} P&L",
            f"realized {_pnl(m.realized_pnl_today, cur)} · unrealized {_pnl(m.unrealized_pnl, cur)}"
            f" · fees {present.amount(m.fees_today, cur)}",
        ),
        ReportLine(
            f"{bot} equity",
            f"{present.amount(m.equity_day_start, cur)} -> {present.amount(m.equity, cur)}"
            f" · max drawdown {present.drawdown(m.max_drawdown_today)}",
        ),
        ReportLine(
            f"{bot} trades",
            f"{present.integer(m.round_trips_today)} · win rate {present.pct(m.win_rate_today)}"
            f" · largest loss {_pnl(m.largest_loss_today, cur)}"
            f" · open positions {present.integer(m.open_positions)}",
        ),
        ReportLine(
            f"{bot} feed",
            f"stale {present.duration(m.stale_s_today)} · events lost {present.integer(m.events_lost_today)}",
        ),
    ]


def total_lines(bots: dict[str, BotMetrics]) -> list[ReportLine]:
    """The sums per currency (a bot without a currency adds to the total without one)."""
    by_currency: dict[str, list[BotMetrics]] = {}
    for m in bots.values():
        by_currency.setdefault(m.currency or "", []).append(m)
    return [_total_line(cur, ms) for cur, ms in sorted(by_currency.items())]


def _total_line(cur: str, ms: list[BotMetrics]) -> ReportLine:
    c = cur or None

    def total(field: str) -> float:
        return sum(getattr(m, field) or 0.0 for m in ms)  # a bot without the figure yet adds 0

    pnl = f"realized {_pnl(total('realized_pnl_today'), c)} · unrealized {_pnl(total('unrealized_pnl'), c)}"
    equity = f"{present.amount(total('equity_day_start'), c)} -> {present.amount(total('equity'), c)}"
    return ReportLine(
        f"Total {cur or '(no currency)'}",
        f"{pnl} · fees {present.amount(total('fees_today'), c)} · equity {equity}"
        f" · trades {present.integer(total('round_trips_today'))}",
    )


def build(doc: MetricsDocument, counts: AlertCounts, title: str) -> Report:
    """The report of a metrics document: totals per currency, the day's alerts, then each bot.

    The totals come first, so a channel that shortens a long report (SMS, a chat's message
    limit) keeps what matters most.
    """
    lines = total_lines(doc.bots)
    lines.append(
        ReportLine(
            "Alerts",
            f"fired {counts.fired} · acknowledged {counts.acknowledged} · silenced {counts.silenced}",
        )
    )
    lines += [line for bot, m in doc.bots.items() for line in bot_lines(bot, m)]
    if not doc.bots:
        lines.append(ReportLine("Bots", "none seen yet"))
    return Report(title, tuple(lines))


def daily_title(cutoff: float, zone: tzinfo, late_at: float | None = None) -> str:
    """``Daily report 2026-12-07 (cut-off 8 Dec 2026 00:00:00 EST)``; a late one says so and when."""
    title = f"Daily report {report_date(cutoff, zone).isoformat()} (cut-off {present.when(cutoff, zone)})"
    if late_at is not None:
        title += f", LATE: the monitor was down at the cut-off; sent {present.when(late_at, zone)}"
    return title


def so_far_title(now: float, zone: tzinfo) -> str:
    """``Report so far, 7 Dec 2026 14:03:07 EST``: today's figures on demand."""
    return f"Report so far, {present.when(now, zone)}"
