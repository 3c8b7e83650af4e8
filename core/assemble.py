"""Document assembly: a bot's state turned into the documents readers get (pure core).

The write path is the hot one, so the store keeps raw state (events, books,
rings) and builds :class:`MetricsDocument` and :class:`StateDocument` only when
read; the store caches the metrics document per version and refreshes only its
wall-clock fields per read (:meth:`StateStore.metrics <core.store.StateStore.metrics>`).
The documents' fields: core/documents.py; definitions: docs/metrics.md.
"""

from __future__ import annotations

from collections.abc import Reversible
from typing import TYPE_CHECKING, Any

from collectors.events import Fill, Order, OrderBody
from core.config import MetricsSettings
from core.documents import (
    BotHealth,
    BotMetrics,
    EventCounts,
    FillEntry,
    MetricsDocument,
    OpenOrder,
    Position,
    PositionsDocument,
    RejectEntry,
    StateDocument,
    Totals,
    copied,
)
from core.monitor_documents import CollectorStatus
from core.safety import fleet_totals, safety_metrics

if TYPE_CHECKING:
    from core.store import BotState

LATENCY_SERIES_POINTS = 500


def metrics_document(
    bots: dict[str, BotState], collector: CollectorStatus, m: MetricsSettings
) -> MetricsDocument:
    """Every bot's metrics (sorted by name), their totals and the collector's counters."""
    docs = {name: bot_metrics(s, m) for name, s in sorted(bots.items())}

    def total(field: str) -> float:
        return sum(getattr(b, field) or 0.0 for b in docs.values())  # a bot without equity yet adds 0

    totals = Totals(**{field: total(field) for field in Totals.__struct_fields__})
    return MetricsDocument(bots=docs, total=totals, collector=collector, fleet=fleet_totals(bots, docs))


def bot_metrics(s: BotState, m: MetricsSettings) -> BotMetrics:
    """One bot's metrics; liveness is left stale here, the store fills it in per read."""
    equity = s.series.equity
    sharpe, sharpe_returns = s.series.sharpe(s.now, m.risk_free_rate, m.sharpe_min_returns)
    return BotMetrics(
        equity=equity,
        equity_source=s.source,
        currency=s.currency,
        cash=s.cash,
        unrealized_pnl=s.unrealized(),
        daily_pnl=s.series.daily_pnl(),
        drawdown=s.series.drawdown,
        max_drawdown=s.series.max_drawdown,
        sharpe=sharpe,
        sharpe_returns=sharpe_returns,
        fills_today=s.fills_today,
        round_trips_today=s.round_trips_today,
        wins_today=s.wins_today,
        losses_today=s.losses_today,
        latency_ms=s.latency.summary(s.now),
        errors=s.errors.summary(s.now),
        events=_event_counts(s),
        position_mismatches=s.position_mismatches,
        last_event_ts=s.last_event_ts,
        health=BotHealth(
            apis=dict(sorted(s.apis.items())),
            circuit_breaker=s.circuit_breaker,
            kill_switch=s.kill_switch,
        ),
        last_event_age_s=None,  # liveness is filled in per read, see StateStore.metrics()
        stale=True,
        safety=safety_metrics(s.safety, s.now, s.open_orders, s.book.open_positions()),
        **_trade_stats(s),
        **_exposure(s, equity),
        **_day(s),
    )


def _day(s: BotState) -> dict[str, Any]:
    """The bot's calendar day so far (the daily report's figures); stale time grows per read."""
    decided = s.wins_today + s.losses_today
    return {
        "realized_pnl_today": s.realized_today,
        "fees_today": s.fees_today,
        "equity_day_start": s.series.day_start_equity,
        "max_drawdown_today": s.series.day_max_drawdown,
        "win_rate_today": s.wins_today / decided if decided else None,
        "largest_loss_today": s.largest_loss_today,
        "open_positions": len(s.book.open_positions()),
        "events_lost_today": s.lost - s.lost_before_today,
        "stale_s_today": s.stale_today_s,
    }


def _trade_stats(s: BotState) -> dict[str, Any]:
    """The book's realized side: P&L, fees and the closed round trips' statistics."""
    book = s.book
    trades = book.closed_trades
    return {
        "realized_pnl": book.realized,
        "fees": book.fees,
        "closed_trades": trades,
        "wins": book.wins,
        "losses": book.losses,
        "win_rate": book.wins / trades if trades else None,
        "profit_factor": book.gross_wins / -book.gross_losses if trades and book.losses else None,
        "expectancy": book.sum_trip_pnl / trades if trades else None,
    }


def _exposure(s: BotState, equity: float | None) -> dict[str, Any]:
    """Gross and net exposure of the open positions at their marks, and the leverage."""
    gross = net = 0.0
    for sym, pos in s.book.positions.items():
        value = pos.qty * s.marks.get(sym, pos.avg_price)
        gross += abs(value)
        net += value
    leverage = gross / equity if equity and equity > 0 else None
    return {"exposure_gross": gross, "exposure_net": net, "leverage": leverage}


def _event_counts(s: BotState) -> EventCounts:
    last_seq = s.last_seq if s.last_seq is not None and s.last_seq >= 0 else None
    return copied(EventCounts, s, last_seq=last_seq)


def state_document(bot: str, s: BotState, recent_rejects: Reversible[RejectEntry]) -> StateDocument:
    """The /api/state document of one bot (``recent_rejects``: the store-wide ones, oldest first)."""
    curve = s.series.curve
    return StateDocument(
        bot=bot,
        positions=_positions(s),
        open_orders=[_open_order(o, ts) for o, ts in s.open_orders.values()],
        recent_fills=[_fill_entry(f, realized) for f, realized in s.recent_fills],
        round_trips_today=list(s.trips_today),
        equity_curve=[(ts, eq) for ts, eq, _ in curve],
        drawdown_curve=[(ts, dd) for ts, _, dd in curve],
        latency_series=s.latency.series(LATENCY_SERIES_POINTS),
        recent_errors=list(reversed(s.errors.recent)),
        recent_rejects=list(reversed(recent_rejects)),
    )


def _positions(s: BotState) -> list[Position]:
    positions = []
    for sym, pos in sorted(s.book.open_positions().items()):
        mark = s.marks.get(sym, pos.avg_price)
        positions.append(
            Position(
                symbol=sym,
                qty=pos.qty,
                avg_price=pos.avg_price,
                mark=mark,
                unrealized_pnl=pos.qty * (mark - pos.avg_price),
            )
        )
    return positions


def positions_document(bots: dict[str, BotState]) -> PositionsDocument:
    """Every bot's open positions (sorted by bot, then symbol), without the rest of its book."""
    return PositionsDocument(bots={name: _positions(s) for name, s in sorted(bots.items())})


def _open_order(o: Order | OrderBody, ts: float) -> OpenOrder:
    return copied(OpenOrder, o, ts=ts)


def _fill_entry(f: Fill, realized: float) -> FillEntry:
    return copied(FillEntry, f, realized_pnl=realized)
