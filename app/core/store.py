"""The state store: every bot's state and its exact risk metrics (pure core).

No I/O and no threads: the collector thread calls :meth:`StateStore.apply`
under the hub's lock, readers call :meth:`metrics` / :meth:`state`.  Every
time-based metric uses the events' own ``ts`` ("now" is a bot's latest event
ts), so replaying the same events gives the same numbers; the injected
``clock`` is used only for liveness (age of the last arrival) and rates.
Definitions: docs/metrics.md.
"""

from __future__ import annotations

from collections import OrderedDict, deque
from collections.abc import Callable, Iterable

import msgspec

from app.core.accounting import Book, RoundTrip
from app.core.config import CoreConfig
from app.core.documents import (
    BotHealth,
    BotMetrics,
    CollectorStatus,
    EventCounts,
    FillEntry,
    MetricsDocument,
    OpenOrder,
    Position,
    RejectEntry,
    RoundTripEntry,
    StateDocument,
    Totals,
)
from app.core.series import DayClock, EquitySeries
from app.core.windows import ErrorLog, LatencyWindow
from collectors.events import (
    OPEN_ORDER_STATUSES,
    Account,
    Error,
    Event,
    Fill,
    Health,
    Latency,
    Mark,
    Order,
    OrderBody,
    Snapshot,
)
from collectors.sink import Recovered

MAX_BOTS = 1000
RECENT_ROUND_TRIPS = 200
LATENCY_SERIES_POINTS = 500


class AppliedReject(msgspec.Struct, frozen=True, kw_only=True, array_like=True):
    """A message the collector refused, as the store applies (and the journal keeps) it.

    A reject still used up its bot's sequence number, so it is applied in
    arrival order with the events and replayed with them after a restart.
    """

    reason: str
    detail: str
    topic: str | None = None
    bot: str | None = None
    seq: int | None = None
    excerpt: str = ""


class BotState:
    """Everything the monitor knows about one bot."""

    recovered = 0  # events applied from a replay (a class default: older checkpoints lack it)

    def __init__(self, bot: str, config: CoreConfig) -> None:
        m = config.metrics
        settings = config.bots.get(bot)
        self.bot = bot
        self.starting_equity = (settings and settings.starting_equity) or m.default_starting_equity
        self.book = Book()
        self.marks: dict[str, float] = {}
        self.source = "derived"
        self.series = self._new_series(config)
        self.cash: float | None = None
        self.currency: str | None = None
        self.latency = LatencyWindow(m.latency_window_s, m.latency_max_samples)
        self.errors = ErrorLog(m.error_max_samples)
        # raw events, turned into documents only when read (the write path is the hot one)
        self.open_orders: OrderedDict[str, tuple[Order | OrderBody, float]] = OrderedDict()
        self.max_open_orders = m.max_open_orders
        self.recent_fills: deque[tuple[Fill, float]] = deque(maxlen=m.recent_fills)
        self.trips_today: deque[RoundTripEntry] = deque(maxlen=RECENT_ROUND_TRIPS)
        self.received = self.rejected = self.lost = self.seq_resets = 0
        self.position_mismatches = 0
        self.last_seq: int | None = None
        self.first_ts: float | None = None
        self.now = float("-inf")
        self.last_event_ts: float | None = None
        self.last_arrival: float | None = None
        self.day_start = float("-inf")
        self.fills_today = self.round_trips_today = self.wins_today = self.losses_today = 0
        self.apis: dict[str, str] = {}
        self.circuit_breaker: str | None = None
        self.kill_switch: str | None = None

    @staticmethod
    def _new_series(config: CoreConfig) -> EquitySeries:
        m = config.metrics
        return EquitySeries(m.equity_curve_points, m.sharpe_interval_s, m.sharpe_window_s)

    def track_seq(self, seq: int) -> None:
        """Count events lost in gaps of the bot's sequence; seq 0 is a restart."""
        last = self.last_seq
        if last is not None and seq != 0:
            if seq > last + 1:
                self.lost += seq - last - 1
            elif seq <= last:
                self.seq_resets += 1  # restarted without announcing seq 0
        self.last_seq = seq

    def unrealized(self) -> float:
        total = 0.0
        for sym, pos in self.book.positions.items():
            if pos.qty:
                total += pos.qty * (self.marks.get(sym, pos.avg_price) - pos.avg_price)
        return total

    def derived_equity(self) -> float:
        return self.starting_equity + self.book.realized + self.unrealized()


class StateStore:
    """All bots' state; apply events, read metrics and per-bot state documents."""

    def __init__(self, config: CoreConfig, clock: Callable[[], float]) -> None:
        self.config = config
        self.clock = clock
        self.bots: dict[str, BotState] = {}
        self.day_clock = DayClock(config.metrics.timezone)
        self.version = 0
        self.received = 0
        self.rejected = 0
        self.rejected_by_reason: dict[str, int] = {}
        self.recent_rejects: deque[RejectEntry] = deque(maxlen=config.recent_rejects)
        self._rate_marks: deque[tuple[float, int]] = deque(maxlen=64)
        self._cache_version = -1
        self._cache: MetricsDocument | None = None

    # ---- writes ---------------------------------------------------------
    def set_stale_after(self, seconds: float) -> None:
        """Change the liveness threshold at run time (the settings form saves it)."""
        self.config = msgspec.structs.replace(self.config, stale_after_s=seconds)

    def count_received(self, n: int) -> None:
        """Messages taken off the socket, valid or not (the collector's counter)."""
        self.received += n
        now = self.clock()
        if not self._rate_marks or now - self._rate_marks[-1][0] >= 0.5:
            self._rate_marks.append((now, self.received))
        self.version += 1

    def apply_batch(self, items: Iterable[object], arrival: float, received: int = 0) -> None:
        """Apply one batch in arrival order: events and :class:`AppliedReject` items.

        ``arrival`` is the batch's wall-clock receive time, used for every
        liveness and reject time of the batch, so replaying a journaled batch
        reproduces exactly what was applied live.
        """
        if received:
            self.count_received(received)
        apply = self.apply
        for item in items:
            if type(item) is AppliedReject:
                self.reject(
                    item.reason,
                    item.detail,
                    topic=item.topic,
                    bot=item.bot,
                    seq=item.seq,
                    excerpt=item.excerpt,
                    at=arrival,
                )
            elif type(item) is Recovered:
                self.count_recovered(item.bot, item.count)
            else:
                apply(item, arrival)  # type: ignore[arg-type]

    def count_recovered(self, bot: str, n: int) -> None:
        """``n`` events of ``bot`` were applied from a replay (they count as received too)."""
        state = self.bots.get(bot)
        if state is not None:
            state.recovered += n
            self.version += 1

    def last_seqs(self) -> dict[str, int]:
        """The last seq applied per bot: where the collector's catch-up starts after a restart."""
        return {name: s.last_seq for name, s in self.bots.items() if s.last_seq is not None}

    def reject(
        self,
        reason: str,
        detail: str,
        *,
        topic: str | None = None,
        excerpt: str = "",
        bot: str | None = None,
        seq: int | None = None,
        at: float | None = None,
    ) -> None:
        """Count a rejected message under its reason; keep it for the Health tab.

        ``at`` is the arrival time of the message (the clock when not given).
        """
        self.rejected += 1
        self.rejected_by_reason[reason] = self.rejected_by_reason.get(reason, 0) + 1
        self.recent_rejects.append(
            RejectEntry(
                at=self.clock() if at is None else at,
                reason=reason,
                detail=detail[:300],
                topic=topic,
                bot=bot,
                excerpt=excerpt[:200],
            )
        )
        state = self.bots.get(bot) if bot else None
        if state is not None:
            state.rejected += 1
            if seq is not None:
                state.track_seq(seq)
        self.version += 1

    def apply(self, event: Event, arrival: float | None = None) -> bool:
        """Apply one valid event; False (and counted) if it would exceed MAX_BOTS.

        ``arrival`` is the wall-clock receive time (the collector passes one per
        batch); it only feeds liveness.  This is the ingest hot path, hence the
        inlined sequence and day bookkeeping.
        """
        s = self.bots.get(event.bot)
        if s is None:
            if len(self.bots) >= MAX_BOTS:
                self.reject("too_many_bots", f"more than {MAX_BOTS} bots", bot=event.bot, at=arrival)
                return False
            s = self.bots[event.bot] = BotState(event.bot, self.config)
        self.version += 1
        seq, ts = event.seq, event.ts
        if s.last_seq is not None and seq != s.last_seq + 1:
            s.track_seq(seq)
        s.last_seq = seq
        s.received += 1
        s.last_arrival = self.clock() if arrival is None else arrival
        s.last_event_ts = ts
        if s.first_ts is None:
            s.first_ts = ts
            self._advance(s, ts)
            s.series.append(ts, s.starting_equity)
        elif ts > s.now:
            self._advance(s, ts)
        handler = _HANDLERS.get(type(event))
        if handler is not None:
            handler(self, s, event)
        return True

    def _advance(self, s: BotState, ts: float) -> None:
        """Move the bot's "now" forward and roll its calendar day when needed."""
        s.now = ts
        day = self.day_clock.day_start(ts)
        if day > s.day_start:
            s.day_start = day
            s.series.roll_day(day)
            s.fills_today = s.round_trips_today = s.wins_today = s.losses_today = 0
            s.trips_today.clear()

    def _point(self, s: BotState, ts: float) -> None:
        if s.source == "derived":
            s.series.append(ts, s.derived_equity())

    def _on_account(self, s: BotState, ev: Account | Snapshot, equity: float, cash, currency) -> None:
        if s.source != "account":
            s.source = "account"
            s.series = BotState._new_series(self.config)
            s.series.roll_day(s.day_start)
        s.series.append(ev.ts, equity)
        s.cash = cash
        if currency is not None:
            s.currency = currency

    def _fill(self, s: BotState, ev: Fill) -> None:
        outcome = s.book.fill(ev.symbol, ev.side, ev.qty, ev.price, ev.fee, ev.ts)
        s.marks[ev.symbol] = ev.price
        s.recent_fills.appendleft((ev, outcome.realized))
        if ev.ts >= s.day_start:
            s.fills_today += 1
        for trip in outcome.closed:
            self._count_trip(s, trip)
        self._point(s, ev.ts)

    def _count_trip(self, s: BotState, trip: RoundTrip) -> None:
        if trip.closed_ts is None or trip.closed_ts < s.day_start:
            return
        s.round_trips_today += 1
        pnl = trip.pnl
        s.wins_today += pnl > 0
        s.losses_today += pnl < 0
        s.trips_today.appendleft(
            RoundTripEntry(
                symbol=trip.symbol,
                side=trip.side,
                opened_ts=trip.opened_ts,
                closed_ts=trip.closed_ts,
                qty=trip.qty,
                pnl=pnl,
            )
        )

    def _mark(self, s: BotState, ev: Mark) -> None:
        s.marks.update(ev.prices)
        self._point(s, ev.ts)

    def _order(self, s: BotState, ev: Order | OrderBody, ts: float | None = None) -> None:
        if ev.status in OPEN_ORDER_STATUSES:
            orders = s.open_orders
            if ev.order_id not in orders and len(orders) >= s.max_open_orders:
                orders.popitem(last=False)  # bounded: evict the oldest
            orders[ev.order_id] = (ev, getattr(ev, "ts", ts))
        else:
            s.open_orders.pop(ev.order_id, None)

    def _health(self, s: BotState, ev: Health) -> None:
        if ev.apis:
            s.apis.update(ev.apis)
        if ev.circuit_breaker is not None:
            s.circuit_breaker = ev.circuit_breaker
        if ev.kill_switch is not None:
            s.kill_switch = ev.kill_switch

    def _snapshot(self, s: BotState, ev: Snapshot) -> None:
        positions = [(p.symbol, p.qty, p.avg_price) for p in ev.positions]
        s.position_mismatches += s.book.replace(positions, ev.ts)
        s.open_orders.clear()
        for order in ev.open_orders:
            self._order(s, order, ev.ts)
        if ev.account is not None:
            a = ev.account
            self._on_account(s, ev, a.equity, a.cash, a.currency)
        else:
            self._point(s, ev.ts)

    # ---- reads ----------------------------------------------------------
    def metrics(self) -> MetricsDocument:
        """The /api/metrics document; the costly part is cached per version.

        Only liveness (age of the last arrival, stale) and the ingest rate
        depend on the wall clock, so they are the only fields refreshed per read.
        """
        if self._cache_version != self.version or self._cache is None:
            self._cache = self._compute_metrics()
            self._cache_version = self.version
        cached = self._cache
        now = self.clock()
        stale_after = self.config.stale_after_s
        replace = msgspec.structs.replace
        bots = {}
        for name, doc in cached.bots.items():
            arrival = self.bots[name].last_arrival
            age = None if arrival is None else max(0.0, now - arrival)
            bots[name] = replace(doc, last_event_age_s=age, stale=age is None or age > stale_after)
        collector = replace(cached.collector, rate_per_s=self._rate(now))
        return MetricsDocument(bots=bots, total=cached.total, collector=collector)

    def _rate(self, now: float) -> float:
        marks = [m for m in self._rate_marks if now - m[0] <= 5.0]
        if len(marks) < 2 or marks[-1][0] <= marks[0][0]:
            return 0.0
        return (marks[-1][1] - marks[0][1]) / (marks[-1][0] - marks[0][0])

    def _compute_metrics(self) -> MetricsDocument:
        bots = {name: self._bot_metrics(s) for name, s in sorted(self.bots.items())}
        docs = bots.values()

        def total(field: str) -> float:
            return sum(getattr(b, field) or 0.0 for b in docs)  # a bot without equity yet adds 0

        totals = Totals(**{field: total(field) for field in Totals.__struct_fields__})
        collector = CollectorStatus(
            received=self.received,
            rejected=self.rejected,
            rejected_by_reason=dict(self.rejected_by_reason),
            rate_per_s=0.0,
        )
        return MetricsDocument(bots=bots, total=totals, collector=collector)

    def _bot_metrics(self, s: BotState) -> BotMetrics:
        book = s.book
        equity = s.series.equity
        gross = net = 0.0
        for sym, pos in book.positions.items():
            value = pos.qty * s.marks.get(sym, pos.avg_price)
            gross += abs(value)
            net += value
        trades = book.closed_trades
        return BotMetrics(
            equity=equity,
            equity_source=s.source,
            currency=s.currency,
            cash=s.cash,
            realized_pnl=book.realized,
            unrealized_pnl=s.unrealized(),
            fees=book.fees,
            daily_pnl=s.series.daily_pnl(),
            drawdown=s.series.drawdown,
            max_drawdown=s.series.max_drawdown,
            sharpe=s.series.sharpe(s.now, self.config.metrics.risk_free_rate),
            closed_trades=trades,
            wins=book.wins,
            losses=book.losses,
            win_rate=book.wins / trades if trades else None,
            profit_factor=book.gross_wins / -book.gross_losses if trades and book.losses else None,
            expectancy=book.sum_trip_pnl / trades if trades else None,
            fills_today=s.fills_today,
            round_trips_today=s.round_trips_today,
            wins_today=s.wins_today,
            losses_today=s.losses_today,
            exposure_gross=gross,
            exposure_net=net,
            leverage=gross / equity if equity and equity > 0 else None,
            latency_ms=s.latency.summary(s.now),
            errors=s.errors.summary(s.now),
            events=EventCounts(
                received=s.received,
                rejected=s.rejected,
                lost=s.lost,
                seq_resets=s.seq_resets,
                recovered=s.recovered,
            ),
            position_mismatches=s.position_mismatches,
            last_event_ts=s.last_event_ts,
            health=BotHealth(
                apis=dict(sorted(s.apis.items())),
                circuit_breaker=s.circuit_breaker,
                kill_switch=s.kill_switch,
            ),
            last_event_age_s=None,  # liveness is filled in per read, see metrics()
            stale=True,
        )

    def state(self, bot: str) -> StateDocument | None:
        """The /api/state document of one bot, or None if it is unknown."""
        s = self.bots.get(bot)
        if s is None:
            return None
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
        curve = s.series.curve
        return StateDocument(
            bot=bot,
            positions=positions,
            open_orders=[_open_order(o, ts) for o, ts in s.open_orders.values()],
            recent_fills=[_fill_entry(f, realized) for f, realized in s.recent_fills],
            round_trips_today=list(s.trips_today),
            equity_curve=[(ts, eq) for ts, eq, _ in curve],
            drawdown_curve=[(ts, dd) for ts, _, dd in curve],
            latency_series=s.latency.series(LATENCY_SERIES_POINTS),
            recent_errors=list(reversed(s.errors.recent)),
            recent_rejects=list(reversed(self.recent_rejects)),
        )


def _open_order(o: Order | OrderBody, ts: float) -> OpenOrder:
    return OpenOrder(
        order_id=o.order_id,
        symbol=o.symbol,
        side=o.side,
        type=o.type,
        qty=o.qty,
        price=o.price,
        status=o.status,
        filled_qty=o.filled_qty,
        ts=ts,
    )


def _fill_entry(f: Fill, realized: float) -> FillEntry:
    return FillEntry(
        ts=f.ts,
        fill_id=f.fill_id,
        order_id=f.order_id,
        symbol=f.symbol,
        side=f.side,
        qty=f.qty,
        price=f.price,
        fee=f.fee,
        realized_pnl=realized,
    )


def _account(store: StateStore, s: BotState, ev: Account) -> None:
    store._on_account(s, ev, ev.equity, ev.cash, ev.currency)


_HANDLERS: dict[type, Callable] = {
    Fill: StateStore._fill,
    Mark: StateStore._mark,
    Account: _account,
    Order: StateStore._order,
    Latency: lambda store, s, ev: s.latency.add(ev.ts, ev.op, ev.ms),
    Error: lambda store, s, ev: s.errors.add(ev.ts, ev.component, ev.severity, ev.message),
    Health: StateStore._health,
    Snapshot: StateStore._snapshot,
}
