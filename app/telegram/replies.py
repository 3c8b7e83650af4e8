"""The replies to the reading commands, built from the typed documents (pure).

Figures are worded by the one presenter (core/present.py), so ``/status`` says
what the dashboard's cards say: the same values, the same rounding, times in
``metrics.timezone`` with the zone.  Inputs are the metrics document, the alert read
model and the positions of the bots asked about; nothing here reads a clock or a socket.
Every text a bot supplied is escaped (app/telegram/text.py).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import tzinfo

from msgspec import UNSET

from alerts import silences as silences_mod
from alerts.notification import Report
from alerts.read_model import ActiveAlert, AlertStatus
from alerts.silences import Silence
from alerts.states import FIRING
from app.telegram.text import esc
from core import present
from core.documents import BotMetrics, MetricsDocument, Position
from core.monitor_documents import TelegramLink


@dataclass(frozen=True, slots=True)
class Clock:
    """When and where a reply is read: ``now`` (wall clock) and the ``metrics.timezone`` zone."""

    now: float
    zone: tzinfo

    def when(self, ts: float | None) -> str:
        return present.when(ts, self.zone, self.now)


def liveness(m: BotMetrics) -> str:
    """``live (last event 0.4 s ago)`` / ``STALE (last event 3 min 05 s ago)``."""
    word = "STALE" if m.stale else "live"
    if m.last_event_age_s is None:
        return f"{word} (no event yet)"
    return f"{word} (last event {present.age(m.last_event_age_s)} ago)"


def _money(x: float | None, m: BotMetrics, signed: bool = False) -> str:
    text = present.signed(x) if signed else present.money(x)
    return f"{text} {esc(m.currency)}" if m.currency and text != present.NA else text


def _firing(alerts: Sequence[ActiveAlert], bot: str) -> int:
    return sum(1 for a in alerts if a.bot == bot and a.status == FIRING)


def status(
    doc: MetricsDocument, alerts: Sequence[ActiveAlert], positions: Mapping[str, int], clock: Clock
) -> str:
    """/status: per bot liveness, equity, daily P&L, drawdown, positions, firing alerts; totals."""
    lines = [f"<b>Status</b> at {clock.when(clock.now)}"]
    if not doc.bots:
        lines.append("No bot has reported yet.")
    for bot, m in doc.bots.items():
        lines.append(f"<b>{esc(bot)}</b> {liveness(m)}")
        lines.append(
            f"  equity {_money(m.equity, m)} · daily P&amp;L {_money(m.daily_pnl, m, True)}"
            f" · drawdown {present.drawdown(m.drawdown)}"
        )
        lines.append(
            f"  open positions {present.integer(positions.get(bot, 0))}"
            f" · firing alerts {present.integer(_firing(alerts, bot))}"
        )
    lines += totals(doc)
    return "\n".join(lines)


def totals(doc: MetricsDocument) -> list[str]:
    """Equity and daily P&L summed per currency: amounts in different currencies never add up."""
    sums: dict[str, list[float]] = {}
    for m in doc.bots.values():
        acc = sums.setdefault(m.currency or "", [0.0, 0.0])
        acc[0] += m.equity or 0.0
        acc[1] += m.daily_pnl or 0.0
    if not sums:
        return []
    lines = ["<b>Totals</b>"]
    for cur, (equity, daily) in sorted(sums.items()):
        label = esc(cur) if cur else "(no currency)"
        lines.append(f"  {label}: equity {present.money(equity)} · daily P&amp;L {present.signed(daily)}")
    return lines


def pnl(doc: MetricsDocument, bots: Sequence[str]) -> str:
    """/pnl: realized, unrealized, fees and today's P&L of each bot asked about."""
    lines = ["<b>P&amp;L</b>"]
    for bot in bots:
        m = doc.bots[bot]
        lines.append(f"<b>{esc(bot)}</b> today {_money(m.daily_pnl, m, True)}")
        lines.append(
            f"  realized {_money(m.realized_pnl, m, True)} · unrealized {_money(m.unrealized_pnl, m, True)}"
            f" · fees {present.fee(m.fees)}"
        )
    if len(bots) > 1:
        lines += totals(doc)
    return "\n".join(lines)


def positions(book: Mapping[str, Sequence[Position]]) -> str:
    """/positions: every open position of the bots asked about, marked."""
    lines = ["<b>Open positions</b>"]
    for bot, rows in book.items():
        if not rows:
            lines.append(f"<b>{esc(bot)}</b> none")
            continue
        lines.append(f"<b>{esc(bot)}</b> {present.integer(len(rows))}")
        for p in rows:
            lines.append(
                f"  {esc(p.symbol)} {present.qty(p.qty)} @ {present.price(p.avg_price)}"
                f" mark {present.price(p.mark, like=p.avg_price)} uPnL {present.signed(p.unrealized_pnl)}"
            )
    return "\n".join(lines)


def alerts(active: Sequence[ActiveAlert], clock: Clock) -> str:
    """/alerts: the open alerts, most recent first, each with the id /ack takes."""
    if not active:
        return "No open alert."
    lines = [f"<b>Open alerts</b> ({present.integer(len(active))})"]
    for a in sorted(active, key=lambda x: x.since, reverse=True):
        state = a.status.upper()
        if a.acknowledged:
            state += f", acknowledged by {esc(a.acked_by)} at {clock.when(a.acked_at)}"
        if a.silence_id:
            state += f", silenced by {esc(a.silenced_by)} until {clock.when(a.silenced_until)}"
        lines.append(f"[{esc(a.severity.upper())}] <b>{esc(a.bot)}</b> {esc(a.rule)}: {state}")
        lines.append(f"  {esc(a.summary)}" if a.summary else "  (no summary)")
        lines.append(f"  since {clock.when(a.fired_at or a.since)} · id <code>{esc(a.alert_id)}</code>")
    return "\n".join(lines)


def health(doc: MetricsDocument, alert_status: AlertStatus, clock: Clock) -> str:
    """/health: the collector, the journal, alert delivery and its channels, this chat link."""
    col = doc.collector
    alive = None if col.alive is UNSET else col.alive
    lines = ["<b>Monitor health</b>"]
    lines.append(f"Collector: {'running' if alive else 'DOWN' if alive is False else present.NA}")
    lines.append(f"Ingest rate: {present.rate(col.rate_per_s)}")
    p = None if doc.persistence is UNSET else doc.persistence
    if p is not None:
        j = p.journal
        state = f"FAILING: {esc(j.failure)}" if j.state == "failing" else j.state
        lines.append(f"State journal: {state}, last commit {clock.when(j.last_commit_at)}")
    lines.append(f"Firing alerts: {present.integer(alert_status.firing)}")
    lines.append(f"Alert delivery: {'FAILING' if alert_status.delivery_failing else 'ok'}")
    if not alert_status.store.ok:
        lines.append(f"Alert store: FAILING: {esc(alert_status.store.error)}")
    for name, ch in sorted(alert_status.channels.items()):
        text = "ok" if ch.ok else f"failing: {esc(ch.last_error or 'unknown error')}"
        lines.append(f"Channel {esc(name)}: {text} · pending {present.integer(ch.pending)}")
    mon = None if doc.monitor is UNSET else doc.monitor
    link = None if mon is None or mon.telegram is UNSET else mon.telegram
    if link is not None:
        lines.append(f"Telegram commands: {esc(link_text(link))}")
    return "\n".join(lines)


def link_text(link: TelegramLink) -> str:
    """The chat link as the Health tab and /health word it: ``polling``, ``CONFLICT: ...``."""
    text = link.state.upper() if link.state in ("conflict", "retrying") else link.state
    if link.error:
        text += f": {link.error}"
    if link.unauthorized:
        text += f" · {present.integer(link.unauthorized)} unauthorized attempts"
    return text


def _matcher(value: str) -> str:
    return "every" if value == "*" else esc(value)


def silence_line(s: Silence, clock: Clock) -> str:
    """``b1 max_drawdown (any severity) until 15:03:07 CET · by telegram:1 · deploy · id <code>``."""
    severity = "any severity" if s.severity == "*" else esc(s.severity)
    if silences_mod.active(s, clock.now):
        window = f"until {clock.when(s.ended_at)}"
    else:
        window = f"ended {clock.when(s.ended_at)}"
    text = f"bot {_matcher(s.bot)}, rule {_matcher(s.rule)} ({severity}) {window} · by {esc(s.author)}"
    if s.comment:
        text += f" · {esc(s.comment)}"
    return text + f" · id <code>{esc(s.id)}</code>"


def silences(listed: Sequence[Silence], clock: Clock) -> str:
    """/silences: the active ones first (soonest end first), then those ended lately."""
    if not listed:
        return "No silence."
    return "\n".join(["<b>Silences</b>", *(silence_line(s, clock) for s in listed)])


def report(body: Report) -> str:
    """/report: the report's title, then one ``label: value`` line each (the values already worded)."""
    lines = [f"<b>{esc(body.title)}</b>"]
    lines += [f"{esc(x.label)}: {esc(x.value)}" for x in body.lines]
    return "\n".join(lines)
