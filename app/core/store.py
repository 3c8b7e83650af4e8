"""The state store: every bot's state and its exact risk metrics (pure core).

No I/O and no threads: the collector thread calls :meth:`StateStore.apply`
under the hub's lock, readers call :meth:`metrics` / :meth:`state`.  Every
time-based metric uses the events' own ``ts`` ("now" is a bot's latest event
ts), so replaying the same events gives the same numbers; the injected
``clock`` is used only for liveness (age of the last arrival) and rates.
Definitions: docs/metrics.md.
"""

from __future__ import annotations

import copy
from collections import OrderedDict, deque
from collections.abc import Callable, Iterable

import msgspec
import numpy as np

from app.core.accounting import Book, RoundTrip
from app.core.accounting import Position as BookPosition
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
from app.core.forget import ForgetBot
from app.core.series import DayClock, EquitySeries
from app.core.windows import ErrorLog, LatencyWindow, _Samples
from collectors.events import (
    OPEN_ORDER_STATUSES,
    TOPIC_OF,
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
    #: the bot's current run (None: it sends none); ``last_seq`` is the last applied seq of this run
    run: str | None = None

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
        # never copied per batch (it may hold 10,000 orders): changes are undone from a log instead
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
        # symbols with a mark or an open position (the per-bot cap counts these)
        self.symbols: set[str] = set()
        self.circuit_breaker: str | None = None
        self.kill_switch: str | None = None

    def __setstate__(self, state: dict) -> None:
        """A checkpoint from before the symbol count was kept: derive it."""
        self.__dict__.update(state)
        if "symbols" not in state:
            self.symbols = set(self.marks) | set(self.book.positions)

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

    def new_run(self, run: str | None) -> None:
        """The bot restarted with ``run``: seq counts from 0 again, so a first seq ``k`` > 0 is ``k`` lost.

        A bot whose run was never known adopts it (its first event, or a checkpoint
        from before runs were kept): that is not a restart.
        """
        if self.run is not None:
            self.seq_resets += 1
            self.last_seq = -1
        self.run = run

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
        #: events whose applying raised, with the exception (the hub logs and drains them)
        self.failures: list[tuple[AppliedReject, Exception]] = []
        self._kinds: set[type] = set()
        self._rings = _RingSaves(0)
        #: (bot, order id, previous value or _MISSING, evicted) per change of open orders in the
        #: batch being applied: how a failed event's changes to them are undone without a copy
        self._orders_undo: list[tuple] = []
        self._replaying = False

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

    def apply_batch(self, items: Iterable[object], arrival: float, received: int = 0) -> list:
        """Apply one batch in arrival order: events and :class:`AppliedReject` items.

        ``arrival`` is the batch's wall-clock receive time, used for every
        liveness and reject time of the batch, so replaying a journaled batch
        reproduces exactly what was applied live.

        Applying is contained per event: when one raises, that event becomes an
        ``internal_error`` reject, its bot is left exactly as before it (see
        :meth:`_contain`), and the rest of the batch is applied.  Returns what was
        applied, the journal's record: ``items`` itself, or a copy in which each
        event that failed is replaced by the reject it became, so a replay
        reproduces the live outcome even if the failure would not recur.
        """
        if received:
            self.count_received(received)
        batch = items if isinstance(items, list) else list(items)
        # each bot as it was before the batch touched it: copied once per bot and batch (what
        # the batch's kinds of event can change), so containment costs a copy per batch
        before: dict[str, BotState | None] = {}
        kinds = set(map(type, batch))
        self._kinds = kinds
        self._rings = _RingSaves(len(batch))
        self._orders_undo = []
        applied = batch
        for i, item in enumerate(batch):
            bot = item.bot
            if bot is not None and bot not in before:
                s = self.bots.get(bot)
                before[bot] = None if s is None else _copy_bot(s, kinds, self._rings)
            try:
                self._apply_item(item, arrival)
            except Exception as exc:
                if applied is batch:
                    applied = list(batch)
                applied[i] = self._contain(applied, i, exc, before, arrival)
        return applied

    def _undo_orders(self, bot: str, orders: OrderedDict) -> None:
        """Return ``orders`` (the bot's before the batch) to its state before the batch.

        Changes made after a snapshot replaced the open orders went to the new
        mapping, which is dropped with the failed state.  Order is exact except
        for an order the failed event itself closed: it comes back last.
        """
        mine = [u for u in self._orders_undo if u[0] == bot]
        self._orders_undo = [u for u in self._orders_undo if u[0] != bot]  # the replay logs them again
        for n, u in enumerate(mine):
            if u[1] is _REPLACED:
                mine = mine[:n]
                break
        for _, oid, old, evicted in reversed(mine):
            if old is _MISSING:
                orders.pop(oid, None)
            else:
                orders[oid] = old
                if evicted:
                    orders.move_to_end(oid, last=False)

    def _apply_item(self, item: object, arrival: float) -> None:
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
        elif type(item) is ForgetBot:
            self.forget(item.bot)
        else:
            self.apply(item, arrival)  # type: ignore[arg-type]

    def _contain(
        self, applied: list, i: int, exc: Exception, before: dict[str, BotState | None], arrival: float
    ) -> AppliedReject:
        """Undo the half-applied item ``i`` and count it as an ``internal_error`` reject.

        The bot is restored from its copy taken before the batch touched it, and
        what the batch applied to it since (items ``< i``, failed ones already
        replaced by their rejects) is applied again, bot-side only: the store-wide
        counters already hold them.  Deterministic, so the result equals "every
        item but this one".
        """
        event = applied[i]
        bot = event.bot
        saved = before.get(bot)
        if saved is None:
            self.bots.pop(bot, None)
        else:
            self._rings.rewind(saved)
            self.bots[bot] = _copy_bot(saved, self._kinds, self._rings)
            self._undo_orders(bot, saved.open_orders)
        self._replaying = True
        try:
            for prior in applied[:i]:
                if prior.bot == bot:
                    self._apply_item(prior, arrival)
        finally:
            self._replaying = False
        topic = _topic_name(event)
        reject = AppliedReject(
            reason="internal_error",
            detail=f"{type(exc).__name__}: {exc} (while applying this {topic} event)"[:300],
            topic=topic,
            bot=bot if isinstance(bot, str) else None,
            seq=getattr(event, "seq", None),
            excerpt=_excerpt(event),
        )
        self.failures.append((reject, exc))
        self._apply_item(reject, arrival)
        return reject

    def count_recovered(self, bot: str, n: int) -> None:
        """``n`` events of ``bot`` were applied from a replay (they count as received too)."""
        state = self.bots.get(bot)
        if state is not None:
            state.recovered += n
            self.version += 1

    def last_seqs(self) -> dict[str, int]:
        """The last seq applied per bot: where the collector's catch-up starts after a restart."""
        return {name: s.last_seq for name, s in self.bots.items() if s.last_seq is not None}

    def last_runs(self) -> dict[str, str]:
        """The current run per bot that sends one: the run ``last_seqs`` belong to."""
        return {name: s.run for name, s in self.bots.items() if s.run is not None}

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
        While a contained failure re-applies a bot's part of the batch, only
        the bot's side is counted again: the store-wide counters hold it already.
        """
        if not self._replaying:
            self._count_reject(reason, detail, topic, excerpt, bot, at)
        state = self.bots.get(bot) if bot else None
        if state is not None:
            state.rejected += 1
            if seq is not None:
                state.track_seq(seq)
        self.version += 1

    def _count_reject(
        self, reason: str, detail: str, topic: str | None, excerpt: str, bot: str | None, at: float | None
    ) -> None:
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

    def forget(self, bot: str) -> bool:
        """Drop everything known of ``bot`` (the operator's "forget bot"); False if unknown.

        Its past rejects stay in the store-wide counters: they were received.
        """
        if self.bots.pop(bot, None) is None:
            return False
        self.version += 1
        return True

    def apply(self, event: Event, arrival: float | None = None) -> bool:
        """Apply one valid event; False (and counted) if a bound of ``limits`` refuses it.

        ``arrival`` is the wall-clock receive time (the collector passes one per
        batch); it only feeds liveness.  This is the ingest hot path, hence the
        inlined sequence and day bookkeeping.
        """
        s = self.bots.get(event.bot)
        refused = self._refusal(s, event)
        if refused is not None:
            self.reject(*refused, topic=_topic_name(event), bot=event.bot, seq=event.seq, at=arrival)
            return False
        if s is None:
            s = self.bots[event.bot] = BotState(event.bot, self.config)
        self.version += 1
        seq, ts = event.seq, event.ts
        if event.run != s.run:
            s.new_run(event.run)
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

    def _refusal(self, s: BotState | None, event: Event) -> tuple[str, str] | None:
        """Why ``event`` would take its bot over a bound of ``limits`` (reason, detail), or None.

        Checked before anything is applied, so a refused event changes nothing
        but the reject counters (and its bot's sequence tracking).
        """
        limits = self.config.limits
        if s is None:
            allowed = limits.allowed_bots
            if allowed is not None and event.bot not in allowed:
                return "unknown_bot", "bot id not in limits.allowed_bots"
            if len(self.bots) >= limits.max_bots:
                return "too_many_bots", f"more than {limits.max_bots} bots (limits.max_bots)"
        check = _CAPS.get(type(event))
        return None if check is None else check(self, s, event)

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
        if s.book.positions[ev.symbol].qty == 0:  # flat: nothing left to value, drop it
            del s.book.positions[ev.symbol]
            s.marks.pop(ev.symbol, None)
            s.symbols.discard(ev.symbol)
        else:
            s.marks[ev.symbol] = ev.price
            s.symbols.add(ev.symbol)
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
        s.symbols.update(ev.prices)
        self._point(s, ev.ts)

    def _order(self, s: BotState, ev: Order | OrderBody, ts: float | None = None) -> None:
        orders, undo, oid = s.open_orders, self._orders_undo, ev.order_id
        if ev.status in OPEN_ORDER_STATUSES:
            if oid not in orders and len(orders) >= s.max_open_orders:
                undo.append((s.bot, *orders.popitem(last=False), True))  # bounded: evict the oldest
            undo.append((s.bot, oid, orders.get(oid, _MISSING), False))
            orders[oid] = (ev, getattr(ev, "ts", ts))
        else:
            old = orders.pop(oid, _MISSING)
            if old is not _MISSING:
                undo.append((s.bot, oid, old, False))

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
        s.symbols = set(s.marks) | set(s.book.positions)
        self._orders_undo.append((s.bot, _REPLACED, None, False))
        s.open_orders = OrderedDict()  # a new one: the batch's copy of the bot keeps the old one
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
        m = self.config.metrics
        sharpe, sharpe_returns = s.series.sharpe(s.now, m.risk_free_rate, m.sharpe_min_returns)
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
            sharpe=sharpe,
            sharpe_returns=sharpe_returns,
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
                run=s.run,
                last_seq=s.last_seq if s.last_seq is not None and s.last_seq >= 0 else None,
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


_ATOMS = (int, float, str, bool, type(None), tuple, frozenset)


_MISSING = object()
_REPLACED = object()


class _RingSaves:
    """What a batch can overwrite in the sample rings of a bot copy, to put back on a rewind.

    Copying a full ring (100,000 samples, three arrays) for every bot and batch
    would cost more than applying the batch.  A ring is append-only, so the copy
    shares its arrays and keeps only the slots the batch could overwrite (at most
    one per item, from the write position on); rewinding writes them back.  A
    ring that grows during the batch gets new arrays, leaving the shared ones as
    they were.
    """

    def __init__(self, batch_len: int) -> None:
        self.batch_len = batch_len
        self._saved: dict[int, tuple] = {}  # id(ring copy) -> arrays, slots, their old values

    def mark(self, ring: _Samples) -> _Samples:
        c = copy.copy(ring)
        size = len(ring.ts)
        idx = (ring.next + np.arange(min(self.batch_len, size))) % size
        key = None if ring.key is None else ring.key[idx]
        self._saved[id(c)] = (ring.ts, ring.ms, ring.key, idx, ring.ts[idx], ring.ms[idx], key)
        return c

    def rewind(self, bot: BotState) -> None:
        """Put back, in the arrays ``bot``'s rings share, what the batch has overwritten."""
        for name in _WINDOWS:
            window = getattr(bot, name, None)
            if window is not None:
                self._rewind(window)

    def _rewind(self, obj: object) -> None:
        for _, v in _fields(obj):
            if isinstance(v, _Samples):
                saved = self._saved.get(id(v))
                if saved is not None:
                    ts, ms, key, idx, ts_old, ms_old, key_old = saved
                    ts[idx], ms[idx] = ts_old, ms_old
                    if key is not None:
                        key[idx] = key_old
            elif not isinstance(v, (*_ATOMS, *_FLAT, msgspec.Struct)) and (
                hasattr(v, "__dict__") or hasattr(v, "__slots__")
            ):
                self._rewind(v)


def _copy_bot(s: BotState, kinds: set[type], rings: _RingSaves | None = None) -> BotState:
    """:func:`_fast_copy_bot`, or a deep copy of the whole state should a part defeat it."""
    try:
        return _fast_copy_bot(s, kinds, rings)
    except Exception:
        return copy.deepcopy(s)


def _fast_copy_bot(s: BotState, kinds: set[type], rings: _RingSaves | None = None) -> BotState:
    """An independent copy of what events of ``kinds`` can change in a bot's state.

    Cheap enough to take once per bot and batch: a part no event of the batch
    can change (the open orders of a batch without orders, say) is shared, not
    copied; containers of immutable things (events, entries, tuples) are copied
    shallowly, at C speed (the equity series' buckets too);
    anything else (the book, the latency and error windows, any state added
    later) deeply.
    """
    c = object.__new__(type(s))
    for name, v in vars(s).items():
        touched_by = _TOUCHED_BY.get(name)
        if isinstance(v, _ATOMS) or (touched_by is not None and kinds.isdisjoint(touched_by)):
            pass
        elif name in _SHALLOW:
            v = v.copy()
        elif name == "series":
            v = _copy_series(v)
        elif name == "book":
            v = _copy_book(v)
        elif name in _WINDOWS:
            v = _copy_window(v, rings)
        else:
            v = copy.deepcopy(v)
        setattr(c, name, v)
    return c


#: BotState containers whose items are never mutated in place (immutable events and tuples)
_SHALLOW = frozenset({"marks", "apis", "recent_fills", "trips_today", "symbols"})
#: The event kinds whose handlers change a large part of a bot's state (see _HANDLERS);
#: a part not listed here is copied for every batch.
_TOUCHED_BY: dict[str, frozenset[type]] = {
    "book": frozenset({Fill, Snapshot}),
    "marks": frozenset({Fill, Mark}),
    "symbols": frozenset({Fill, Mark, Snapshot}),
    "recent_fills": frozenset({Fill}),
    "trips_today": frozenset({Fill}),
    "open_orders": frozenset(),  # shared, never copied: see StateStore._undo_orders
    "latency": frozenset({Latency}),
    "errors": frozenset({Error}),
    "apis": frozenset({Health}),
}


#: The latency and error windows: numpy rings, counters and deques of immutable entries.
_WINDOWS = frozenset({"latency", "errors"})
_FLAT = (dict, set, list, deque, np.ndarray)


def _copy_window(window: object, rings: _RingSaves | None = None) -> object:
    """A window with its own rings and counters (a deep copy costs about 4x as much).

    Its containers hold only immutable things (numbers, names, frozen entries),
    so one level of copy per container suffices; nested objects (a window's
    rings, slotted or not) are copied alike.
    """
    c = copy.copy(window)
    for name, v in _fields(window):
        if rings is not None and isinstance(v, _Samples):
            setattr(c, name, rings.mark(v))
        elif isinstance(v, _FLAT):
            setattr(c, name, v.copy())
        elif not isinstance(v, (*_ATOMS, msgspec.Struct)) and (
            hasattr(v, "__dict__") or hasattr(v, "__slots__")
        ):
            setattr(c, name, _copy_window(v, rings))
    return c


def _fields(obj: object) -> list[tuple[str, object]]:
    """(name, value) of every attribute an object holds, in its __dict__ or its slots."""
    fields = list(vars(obj).items()) if hasattr(obj, "__dict__") else []
    for cls in type(obj).__mro__:
        for name in getattr(cls, "__slots__", ()):
            if name not in ("__dict__", "__weakref__") and hasattr(obj, name):
                fields.append((name, getattr(obj, name)))
    return fields


def _copy_book(book: Book) -> Book:
    """The book with its own positions and open round trips (slotted: a deep copy costs 10x)."""
    c = copy.copy(book)
    c.positions = {
        sym: BookPosition(p.qty, p.avg_price, None if p.trip is None else copy.copy(p.trip))
        for sym, p in book.positions.items()
    }
    return c


def _copy_series(series: EquitySeries) -> EquitySeries:
    c = copy.copy(series)
    c.curve = list(series.curve)
    c.buckets = deque(series.buckets)  # its entries are replaced, never changed: see EquitySeries
    return c


def _topic_name(event: object) -> str:
    return TOPIC_OF.get(type(event), type(event).__name__)


def _excerpt(event: object) -> str:
    try:
        return msgspec.json.encode(event)[:200].decode("utf-8", "replace")
    except Exception:
        return ""


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


def _new_names(known: object, names: Iterable[str]) -> int:
    return sum(1 for n in set(names) if n not in known)  # type: ignore[operator]


def _cap(kind: str, cap: int, held: int, new: int) -> tuple[str, str] | None:
    if new and held + new > cap:
        return f"too_many_{kind}", f"{held} {kind} held, {new} new would exceed limits.max_{kind} ({cap})"
    return None


def _symbols_cap(store: StateStore, s: BotState | None, ev: Fill | Mark | Snapshot) -> tuple[str, str] | None:
    if s is not None and type(ev) is not Snapshot:  # the hot path: symbols the bot already holds
        held_now = s.symbols
        if ev.symbol in held_now if type(ev) is Fill else held_now.issuperset(ev.prices):  # type: ignore[union-attr]
            return None
    if type(ev) is Fill:
        names: Iterable[str] = (ev.symbol,)
    elif type(ev) is Mark:
        names = ev.prices
    else:
        names = [p.symbol for p in ev.positions if p.qty]  # type: ignore[union-attr]
    held = set() if s is None else s.symbols
    return _cap("symbols", store.config.limits.max_symbols, len(held), _new_names(held, names))


def _ops_cap(store: StateStore, s: BotState | None, ev: Latency) -> tuple[str, str] | None:
    if s is None or ev.op in s.latency:
        return None
    cap = store.config.limits.max_latency_ops
    if len(s.latency) >= cap:
        s.latency.prune(s.now)  # ops with no sample left in the window no longer count
    if len(s.latency) < cap:
        return None
    return "too_many_ops", f"{cap} latency ops in the window (limits.max_latency_ops)"


def _components_cap(store: StateStore, s: BotState | None, ev: Error) -> tuple[str, str] | None:
    if s is None or ev.component in s.errors.by_component:
        return None
    cap = store.config.limits.max_error_components
    if len(s.errors.by_component) < cap:
        return None
    return "too_many_components", f"{cap} error components held (limits.max_error_components)"


def _apis_cap(store: StateStore, s: BotState | None, ev: Health) -> tuple[str, str] | None:
    if not ev.apis:
        return None
    held = {} if s is None else s.apis
    return _cap("apis", store.config.limits.max_apis, len(held), _new_names(held, ev.apis))


#: The per-bot bounds each event type can push against (docs/metrics.md, "Bounds").
_CAPS: dict[type, Callable[[StateStore, BotState | None, Event], tuple[str, str] | None]] = {
    Fill: _symbols_cap,
    Mark: _symbols_cap,
    Snapshot: _symbols_cap,
    Latency: _ops_cap,
    Error: _components_cap,
    Health: _apis_cap,
}


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
