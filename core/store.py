"""The state store: every bot's state and its exact risk metrics (pure core).

No I/O and no threads: the collector thread calls :meth:`StateStore.apply`
under the hub's lock, readers call :meth:`metrics` / :meth:`state`.  Every
time-based metric uses the events' own ``ts`` ("now" is a bot's latest event
ts), so replaying the same events gives the same numbers; the injected
``clock`` is used only for liveness (age of the last arrival) and rates.
Definitions: docs/metrics.md.

The store is the front of the core's rooms: what each event does to its bot
is in core/apply.py, the bounds checked before it in core/caps.py, the
per-batch copy that lets a failing event be undone in core/containment.py,
and the documents readers get in core/assemble.py.
"""

from __future__ import annotations

from collections import OrderedDict, deque
from collections.abc import Callable, Iterable

import msgspec

from collectors.events import Event, Fill, Order, OrderBody
from collectors.sink import Recovered
from core.accounting import Book
from core.apply import HANDLERS as _HANDLERS  # the same dict: replacing a handler here replaces it
from core.apply import advance, stale_between
from core.assemble import metrics_document, positions_document, state_document
from core.caps import refusal
from core.config import CoreConfig
from core.containment import RingSaves, copy_bot, event_excerpt, topic_name, undo_orders
from core.documents import MetricsDocument, PositionsDocument, RejectEntry, RoundTripEntry, StateDocument
from core.forget import ForgetBot
from core.monitor_documents import CollectorStatus
from core.safety import SafetyState
from core.series import DayClock, EquitySeries
from core.windows import ErrorLog, LatencyWindow

RECENT_ROUND_TRIPS = 200


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
    # the bot's day (reset with it, see apply.advance); class defaults: a bot restored from a
    # checkpoint written before them starts from these
    realized_today = 0.0
    fees_today = 0.0
    largest_loss_today: float | None = None
    #: ``lost`` when the day started: events lost today are ``lost - lost_before_today``
    lost_before_today = 0
    #: stale seconds of the day up to the last arrival (the ongoing stretch is added per read)
    stale_today_s = 0.0
    #: the bot's rejects per reason (``collectors.events.REASONS``, a closed set); a class default
    #: (older checkpoints lack it) that is replaced on each reject, never changed in place, so
    #: sharing it (this default, containment's copies, the documents) is safe
    rejected_by_reason: dict[str, int] = {}

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
        self.safety = SafetyState()  # what the bot does against what it says (core/safety.py)

    def __setstate__(self, state: dict) -> None:
        """A checkpoint from before the symbol count was kept: derive it."""
        self.__dict__.update(state)
        if "symbols" not in state:
            self.symbols = set(self.marks) | set(self.book.positions)
        self.__dict__.setdefault("safety", SafetyState())  # kept since safety facts exist

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
            self.safety.restarted()
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
        self._rings = RingSaves(0)
        #: (bot, order id, previous value or MISSING, evicted) per change of open orders in the
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
        self._rings = RingSaves(len(batch))
        self._orders_undo = []
        applied = batch
        for i, item in enumerate(batch):
            bot = item.bot
            if bot is not None and bot not in before:
                s = self.bots.get(bot)
                before[bot] = None if s is None else copy_bot(s, kinds, self._rings)
            try:
                self._apply_item(item, arrival)
            except Exception as exc:
                if applied is batch:
                    applied = list(batch)
                applied[i] = self._contain(applied, i, exc, before, arrival)
        return applied

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
            self.bots[bot] = copy_bot(saved, self._kinds, self._rings)
            self._orders_undo = undo_orders(self._orders_undo, bot, saved.open_orders)
        self._replaying = True
        try:
            for prior in applied[:i]:
                if prior.bot == bot:
                    self._apply_item(prior, arrival)
        finally:
            self._replaying = False
        topic = topic_name(event)
        reject = AppliedReject(
            reason="internal_error",
            detail=f"{type(exc).__name__}: {exc} (while applying this {topic} event)"[:300],
            topic=topic,
            bot=bot if isinstance(bot, str) else None,
            seq=getattr(event, "seq", None),
            excerpt=event_excerpt(event),
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
            by_reason = state.rejected_by_reason
            state.rejected_by_reason = {**by_reason, reason: by_reason.get(reason, 0) + 1}
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

        ``arrival`` is the wall-clock receive time (the collector passes one per batch); it only
        feeds liveness.  This is the ingest hot path, hence the inlined sequence and day bookkeeping.
        """
        s = self.bots.get(event.bot)
        refused = refusal(self.config.limits, self.bots, s, event)
        if refused is not None:
            self.reject(*refused, topic=topic_name(event), bot=event.bot, seq=event.seq, at=arrival)
            return False
        if s is None:
            s = self.bots[event.bot] = BotState(event.bot, self.config)
        self.version += 1
        seq, ts, lost = event.seq, event.ts, s.lost
        if event.run != s.run:
            s.new_run(event.run)
        if s.last_seq is not None and seq != s.last_seq + 1:
            s.track_seq(seq)
        s.last_seq = seq
        s.received += 1
        since = s.last_arrival
        s.last_arrival = self.clock() if arrival is None else arrival
        s.last_event_ts = ts
        if s.first_ts is None:
            s.first_ts = ts
            advance(self.day_clock, s, ts)
            s.series.append(ts, s.starting_equity)
        elif ts > s.now:
            advance(self.day_clock, s, ts)
        if s.lost_before_today > lost:  # the gap found by the day's first event is the day's
            s.lost_before_today = lost
        if since is not None:  # stale_between, inlined: the hot path
            stale = s.last_arrival - max(since + self.config.stale_after_s, s.day_start)
            if stale > 0:
                s.stale_today_s += stale
        handler = _HANDLERS.get(type(event))
        if handler is not None:
            handler(self, s, event)
        return True

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
            s = self.bots[name]
            arrival = s.last_arrival
            age = None if arrival is None else max(0.0, now - arrival)
            stale_now = 0.0 if arrival is None else stale_between(arrival, now, stale_after, s.day_start)
            bots[name] = replace(
                doc,
                last_event_age_s=age,
                stale=age is None or age > stale_after,
                stale_s_today=(doc.stale_s_today or 0.0) + stale_now,
            )
        collector = replace(cached.collector, rate_per_s=self._rate(now))
        return MetricsDocument(bots=bots, total=cached.total, collector=collector, fleet=cached.fleet)

    def _rate(self, now: float) -> float:
        marks = [m for m in self._rate_marks if now - m[0] <= 5.0]
        if len(marks) < 2 or marks[-1][0] <= marks[0][0]:
            return 0.0
        return (marks[-1][1] - marks[0][1]) / (marks[-1][0] - marks[0][0])

    def _compute_metrics(self) -> MetricsDocument:
        collector = CollectorStatus(
            received=self.received,
            rejected=self.rejected,
            rejected_by_reason=dict(self.rejected_by_reason),
            rate_per_s=0.0,
        )
        return metrics_document(self.bots, collector, self.config.metrics)

    def state(self, bot: str) -> StateDocument | None:
        """The /api/state document of one bot, or None if it is unknown."""
        s = self.bots.get(bot)
        return None if s is None else state_document(bot, s, self.recent_rejects)

    def positions(self) -> PositionsDocument:
        """Every bot's open positions, marked (the per-symbol figures of ``GET /metrics``)."""
        return positions_document(self.bots)
