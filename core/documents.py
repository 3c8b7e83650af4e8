"""The documents the monitor serves: /api/metrics and /api/state, as typed Structs (pure).

One module owns their shape (with its two neighbours: core/document_base.py, the base
of every part, and core/monitor_documents.py, the monitor's own status parts).  The store
builds them, the hub adds the edge
status, the API encodes them as they are, and the dashboard and the alert
rules read attributes, so a field renamed or retyped here is caught by every
reader instead of silently reading ``None``.  Attribute names equal the JSON
keys and fields are declared in the order they are encoded; the JSON Schema
in docs/documents.schema.json is generated from these types
(:func:`json_schema`).  Definitions of the numbers: docs/metrics.md.

The Structs are frozen: the store caches one document per version and hands
the same objects to every reader.  Fields that only the running monitor knows
(collector thread, monitor process) are ``UNSET`` in the store's own document
and are then left out of the JSON, as they were always absent there.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, TypeVar

import msgspec
from msgspec import UNSET, UnsetType

from collectors.events import (
    ApiStatus,
    BreakerState,
    ErrorSeverity,
    KillSwitchState,
    OrderStatus,
    Side,
)
from core.document_base import DocPart
from core.exposition import counter, gauge, labelled
from core.monitor_documents import CollectorStatus, MonitorStatus, PersistenceStatus

#: A chart point: [ts, value].
Point = tuple[float, float]
#: Where a bot's equity comes from: its own account events, or the store's accounting.
EquitySource = Literal["account", "derived"]
#: The direction of a round trip.
TripSide = Literal["long", "short"]


# ---- /api/metrics -----------------------------------------------------------
class LatencyStats(DocPart, frozen=True, kw_only=True):
    """Latency over the window: all null (count 0) without a sample."""

    count: int
    avg: float | None
    p50: float | None
    p95: float | None
    max: float | None


class LatencySummary(LatencyStats, frozen=True, kw_only=True):
    """Overall latency plus one entry per operation seen in the window."""

    by_op: dict[str, LatencyStats]


class ErrorEntry(DocPart, frozen=True, kw_only=True):
    """One error a bot reported."""

    ts: float
    component: str
    severity: ErrorSeverity
    message: str


class ErrorSummary(DocPart, frozen=True, kw_only=True):
    """Error counts; ``last_critical`` is the newest critical error, null until one comes."""

    total: Annotated[int, counter("Errors the bot reported.", name="errors")]
    by_component: dict[str, int]
    by_severity: dict[str, int]
    last_5m: int
    last_critical: ErrorEntry | None


class EventCounts(DocPart, frozen=True, kw_only=True):
    """A bot's own counters: events applied, refused, missing from its sequence, restarts.

    ``recovered`` counts the applied events that came from a replay after a gap
    (they are in ``received`` too); ``lost`` only what the bot could no longer provide.
    ``run`` is the bot's current run (null for a bot that sends none) and ``last_seq``
    the last seq of that run applied (null before the first).
    """

    received: Annotated[int, counter("Events of the bot applied to its state.")]
    #: At /metrics as the sum over reasons of ``events_rejected{bot,reason}`` (one family, so a
    #: ``sum by (bot)`` counts each reject once).
    rejected: Annotated[int, msgspec.Meta(description="Messages of the bot the collector refused.")]
    lost: Annotated[int, counter("Events missing from the bot's sequence that it could no longer provide.")]
    seq_resets: Annotated[int, counter("Times the bot's sequence started over (a new run).")]
    recovered: Annotated[int, counter("Events applied from a replay after a gap.")] = 0
    #: ``rejected`` split by reason (``collectors.events.REASONS``): the values sum to it.
    rejected_by_reason: Annotated[
        dict[str, int],
        counter(
            "Messages of the bot the collector refused, by reason.",
            name="events_rejected",
            key_label="reason",
        ),
    ] = {}
    #: The bot's run the newest applied event belongs to (null while unknown).
    run: str | None = None
    #: Seq of the newest event applied in that run (null before the first): with ``run``, the
    #: position in the bot's stream the rest of this document reflects.
    last_seq: int | None = None


class BotHealth(DocPart, frozen=True, kw_only=True):
    """What the bot last said about its APIs and switches; null until it says so."""

    apis: dict[str, ApiStatus]
    circuit_breaker: BreakerState | None
    kill_switch: Annotated[
        KillSwitchState | None,
        gauge("1 while the bot's kill switch is triggered.", name="kill_switch_triggered", when="triggered"),
    ]


class StopBreach(DocPart, frozen=True, kw_only=True):
    """An order or fill that added risk after the bot reported itself stopped."""

    kind: Literal["order", "fill"]
    id: str  # the order id (an order) or the fill id (a fill)
    side: Side
    qty: float
    symbol: str
    ts: float
    after_s: float  # event time since the stop


class BookDisagreement(DocPart, frozen=True, kw_only=True):
    """A symbol on which the bot's newest snapshot disagreed with the monitor's accounting."""

    symbol: str
    monitor_qty: float
    bot_qty: float


class SafetyMetrics(DocPart, frozen=True, kw_only=True):
    """What the bot does, checked against what it says (docs/alerts.md, "Safety invariants").

    Ages and "since" figures are event time, up to the bot's newest event; the wall-clock time since
    then is ``last_event_age_s`` (the safety rules add it).
    """

    #: what stopped the bot (kill switch triggered, breaker open); null while it trades
    stopped_by: Literal["kill_switch", "circuit_breaker"] | None = None
    since_stop_s: float | None = None
    since_kill_switch_s: float | None = None
    #: orders and fills that opened or increased a position since the stop (grace included)
    new_risk_after_stop: int = 0
    #: fills that reduced a position since the stop (allowed)
    exits_after_stop: int = 0
    breaches: list[StopBreach] = []  # newest first, the last 10
    open_orders_after_kill: int = 0  # orders open now, while the kill switch is triggered
    open_order_ids: list[str] = []  # the first 10 of them
    orders_per_min: int = 0  # new orders in the last 60 s of event time
    duplicate_orders: int = 0  # order ids re-sent as new
    last_duplicate: str | None = None
    since_duplicate_s: float | None = None
    mark_age_s: dict[str, float] = {}  # per open position: time since its symbol's newest price
    oldest_mark_age_s: float | None = None
    book_disagreements: int = 0  # symbols the newest snapshot disagreed on
    disagreements: list[BookDisagreement] = []  # the first 10 of them


class BotMetrics(DocPart, frozen=True, kw_only=True):
    """Every metric of one bot (a custom alert rule's ``metric`` is a dotted path in here)."""

    equity: Annotated[float | None, gauge("Equity of the bot, in its currency.", labels=("currency",))]
    equity_source: EquitySource
    currency: str | None
    cash: float | None
    realized_pnl: Annotated[
        float, gauge("Realized P&L of the bot net of fees, in its currency.", labels=("currency",))
    ]
    unrealized_pnl: float
    fees: float
    daily_pnl: Annotated[
        float | None, gauge("P&L since the start of the bot's day, in its currency.", labels=("currency",))
    ]
    drawdown: Annotated[float, gauge("Fraction of equity below its peak now.", unit="ratio")]
    max_drawdown: Annotated[float, gauge("Largest fraction of equity below its peak so far.", unit="ratio")]
    sharpe: float | None
    #: Returns in the Sharpe window; ``sharpe`` is null while fewer than metrics.sharpe_min_returns.
    sharpe_returns: int
    closed_trades: int
    wins: int
    losses: int
    win_rate: float | None
    profit_factor: float | None
    expectancy: float | None
    fills_today: int
    round_trips_today: int
    wins_today: int
    losses_today: int
    exposure_gross: float
    exposure_net: float
    leverage: float | None
    latency_ms: LatencySummary
    errors: ErrorSummary
    events: EventCounts
    position_mismatches: Annotated[
        int, gauge("Symbols whose reported position differs from the one derived from fills.")
    ]
    last_event_ts: float | None
    health: BotHealth
    # liveness: wall clock, not event time, so refreshed at every read
    last_event_age_s: Annotated[
        float | None,
        gauge("Seconds since the bot's last event arrived.", name="last_event_age", unit="seconds"),
    ]
    stale: Annotated[bool, gauge("1 while the bot is older than collector.stale_after_s.")]
    # the bot's calendar day in metrics.timezone (what the daily report says): all reset when its
    # "now" enters a new day
    #: P&L realized by today's fills, net of their fees.
    realized_pnl_today: float | None
    #: Fees of today's fills.
    fees_today: float | None
    #: Equity at the start of the day: the last point before midnight (else the first of the day).
    equity_day_start: float | None
    #: Largest fall of equity from its running peak since the start of the day, as a fraction.
    max_drawdown_today: float | None
    #: ``wins_today / (wins_today + losses_today)``; null before the day's first win or loss.
    win_rate_today: float | None
    #: The most negative P&L of a round trip closed today; null without a losing one.
    largest_loss_today: float | None
    #: Symbols with an open position now.
    open_positions: int | None
    #: Events lost in sequence gaps found today.
    events_lost_today: int | None
    #: Seconds the bot was stale (no arrival for collector.stale_after_s) since the start of its day.
    stale_s_today: float | None
    #: safety facts: what the bot does against what it says (stops, runaway orders, stale marks)
    safety: SafetyMetrics


class Totals(DocPart, frozen=True, kw_only=True):
    """Sums across bots (a bot without equity yet counts 0)."""

    equity: float
    realized_pnl: float
    unrealized_pnl: float
    daily_pnl: float
    fees: float
    exposure_gross: float
    exposure_net: float


#: The fleet key of the bots that name no currency (derived equity).
NO_CURRENCY = "(none)"


class FleetTotals(DocPart, frozen=True, kw_only=True):
    """The "All bots" totals of the bots of one currency: what the fleet-wide limits check.

    ``drawdown`` is the summed equity below the sum of the bots' peaks (each bot's peak of its
    own curve): never less than the drawdown of the summed curve, equal when the bots peaked together.
    """

    bots: list[str]
    equity: float
    peak_equity: float
    drawdown: float
    daily_pnl: float
    exposure_gross: float


class MetricsDocument(DocPart, frozen=True, kw_only=True):
    """``GET /api/metrics``: per bot (sorted by id), totals, ingest, and the monitor itself."""

    bots: Annotated[dict[str, BotMetrics], labelled("Per bot, by id.", "bot", prefix="")]
    total: Totals
    collector: CollectorStatus
    #: the "All bots" totals per currency (key: the bots' currency, NO_CURRENCY for those naming none)
    fleet: dict[str, FleetTotals] = {}
    monitor: MonitorStatus | UnsetType = UNSET
    persistence: PersistenceStatus | UnsetType = UNSET


# ---- /api/state -------------------------------------------------------------
class Position(DocPart, frozen=True, kw_only=True):
    """An open position, marked at the symbol's latest price."""

    symbol: str
    qty: Annotated[float, gauge("Open position (negative: short).", name="position_quantity")]
    avg_price: float
    mark: float
    unrealized_pnl: Annotated[float, gauge("Unrealized P&L of the position at its mark.")]


class OpenOrder(DocPart, frozen=True, kw_only=True):
    """An order still working; ``ts`` is its event's (or its snapshot's) time."""

    order_id: str
    symbol: str
    side: Side
    type: str
    qty: float
    price: float | None
    status: OrderStatus
    filled_qty: float
    ts: float


class FillEntry(DocPart, frozen=True, kw_only=True):
    """A fill and the P&L it realized (net of its fee)."""

    ts: float
    fill_id: str
    order_id: str
    symbol: str
    side: Side
    qty: float
    price: float
    fee: float
    realized_pnl: float


class RoundTripEntry(DocPart, frozen=True, kw_only=True):
    """A round trip closed today."""

    symbol: str
    side: TripSide
    opened_ts: float
    closed_ts: float
    qty: float
    pnl: float


class RejectEntry(DocPart, frozen=True, kw_only=True):
    """A message the collector refused (``at`` is the wall-clock time it arrived)."""

    at: float
    reason: str
    detail: str
    topic: str | None
    bot: str | None
    excerpt: str


class StateDocument(DocPart, frozen=True, kw_only=True):
    """``GET /api/state?bot=``: one bot's book, newest first, and its chart series.

    ``recent_rejects`` are the collector's last rejects of all bots;
    ``latency_series`` the newest latency samples (bounded).
    """

    bot: str
    positions: list[Position]
    open_orders: list[OpenOrder]
    recent_fills: list[FillEntry]
    round_trips_today: list[RoundTripEntry]
    equity_curve: list[Point]
    drawdown_curve: list[Point]
    latency_series: list[Point]
    recent_errors: list[ErrorEntry]
    recent_rejects: list[RejectEntry]


class PositionsDocument(DocPart, frozen=True, kw_only=True):
    """Every bot's open positions at one version (what ``GET /metrics`` shows per symbol).

    Read under one lock acquisition for all bots, without the rest of a bot's book.
    """

    bots: Annotated[
        dict[str, list[Position]],
        labelled("Open positions per bot, by id, then by symbol.", "bot", prefix="", item_label="symbol"),
    ]


def json_schema() -> dict[str, Any]:
    """Machine-readable schema of both documents (written to docs/documents.schema.json)."""
    (metrics, state), components = msgspec.json.schema_components([MetricsDocument, StateDocument])
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "Trading bot monitor documents",
        "description": "Bodies of GET /api/metrics and GET /api/state?bot=<id>.",
        "documents": {"/api/metrics": metrics, "/api/state": state},
        "$defs": components,
    }


D = TypeVar("D", bound=DocPart)


def copied(kind: type[D], source: object, **rest: object) -> D:
    """A ``kind`` part whose fields are ``source``'s same-named attributes, except those in ``rest``.

    For a part that repeats what an event or a summary already holds (an open order, a
    fill, the latency figures): the field list stays here, declared once, and is not
    written out again at each place that fills one in.
    """
    own = {name: getattr(source, name) for name in kind.__struct_fields__ if name not in rest}
    return kind(**own, **rest)
