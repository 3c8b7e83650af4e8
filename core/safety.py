"""Safety facts: what a bot does, checked against what it says (pure core).

A bot that reports its kill switch TRIGGERED may still be trading; its own drawdown
protection may be blind to unrealized losses; a loop may re-send one order forever;
its snapshot may disagree with its own fills.  The monitor is independent of the bot,
so it is the one place that can see these.  This module keeps, per bot and as the
events are applied, the facts the safety rules need (alerts/safety_rules.py judges
them against the settings), so a rule fires at the first evaluation after the event
that broke an invariant.

Time is the events' own ``ts``, so a replay gives the same facts; the rules add the
wall-clock age of the bot's last event (``last_event_age_s``) to every "since".  Memory is
bounded: the newest :data:`MAX_BREACHES` breaches, :data:`MAX_NEW_IDS` recent order
ids, one bucket per second of the last minute, one mark time per symbol the bot
holds (the symbol cap, ``limits.max_symbols``, bounds those).
"""

from __future__ import annotations

import copy
import math
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

import msgspec

from core.documents import (
    NO_CURRENCY,
    BookDisagreement,
    BotMetrics,
    FleetTotals,
    SafetyMetrics,
    StopBreach,
)

if TYPE_CHECKING:
    from core.accounting import Position

#: Breaches (risk added after a stop) kept per bot, newest last.
MAX_BREACHES = 10
#: Order ids seen as ``new`` kept per bot, to tell a re-sent order from a new one.
MAX_NEW_IDS = 512
#: Disagreements of one snapshot kept (the count is exact).
MAX_DISAGREEMENTS = 10
#: Open order ids a document lists while the bot is stopped.
MAX_LISTED_ORDERS = 10
#: The orders-per-minute window, in whole seconds of event time.
WINDOW_S = 60
_REL_TOL = 1e-9


class SafetyState(msgspec.Struct, kw_only=True):
    """One bot's safety facts; a checkpoint keeps it as it is (see core/checkpoint_schema.py)."""

    #: event time the bot reported its kill switch triggered or its breaker open; None = trading
    stopped_at: float | None = None
    stopped_by: str | None = None  # "kill_switch" | "circuit_breaker"
    killed_at: float | None = None  # the kill switch's own trip (the cancel check counts from it)
    breaches: list[StopBreach] = []
    new_risk_after_stop: int = 0
    exits_after_stop: int = 0
    #: whole second of event time -> new orders in it (the last WINDOW_S seconds only)
    order_seconds: dict[int, int] = {}
    new_ids: dict[str, float] = {}  # order id -> ts it was seen as new (insertion order = age)
    duplicate_orders: int = 0
    last_duplicate: str | None = None
    last_duplicate_ts: float | None = None
    last_mark: dict[str, float] = {}  # symbol -> event time of its newest price
    disagreements: list[BookDisagreement] = []
    disagreeing: int = 0  # symbols the newest snapshot disagreed on

    def __deepcopy__(self, _memo: dict) -> SafetyState:
        """A containment copy: one level per container (their items are immutable)."""
        c = copy.copy(self)
        for name in ("breaches", "order_seconds", "new_ids", "last_mark", "disagreements"):
            setattr(c, name, copy.copy(getattr(self, name)))
        return c

    # ---- switches ---------------------------------------------------------
    def on_health(self, ts: float, kill_switch: str | None, breaker: str | None) -> None:
        """After a health event: a trip starts a stop, a re-arm (both back to normal) ends it."""
        killed = kill_switch == "triggered"
        if killed and self.killed_at is None:
            self.killed_at = ts
        elif not killed:
            self.killed_at = None
        if killed or breaker == "open":
            if self.stopped_at is None:
                self.stopped_at = ts
                self.stopped_by = "kill_switch" if killed else "circuit_breaker"
        elif self.stopped_at is not None:
            self.end_stop()

    def end_stop(self) -> None:
        """Re-armed, or a restarted bot (a new process with its own switches): trading is legal again."""
        self.stopped_at = self.stopped_by = self.killed_at = None
        self.breaches = []
        self.new_risk_after_stop = self.exits_after_stop = 0

    def restarted(self) -> None:
        """The bot restarted: its stop ends and its order ids may start again."""
        self.end_stop()
        self.new_ids = {}

    # ---- orders and fills -------------------------------------------------
    def on_new_order(self, ts: float, order_id: str, side: str, qty: float, symbol: str) -> None:
        """An order event with status ``new``: the rate window, re-sends, and a stop's breach."""
        second = math.floor(ts)
        self.order_seconds[second] = self.order_seconds.get(second, 0) + 1
        if len(self.order_seconds) > WINDOW_S:
            self.order_seconds = {k: v for k, v in self.order_seconds.items() if k > second - WINDOW_S}
        if order_id in self.new_ids:
            self.duplicate_orders += 1
            self.last_duplicate, self.last_duplicate_ts = order_id, ts
        else:
            if len(self.new_ids) >= MAX_NEW_IDS:
                del self.new_ids[next(iter(self.new_ids))]
            self.new_ids[order_id] = ts
        self._breach(ts, "order", order_id, side, qty, symbol)

    def on_fill(self, ts: float, fill_id: str, side: str, qty: float, symbol: str, held: float) -> None:
        """A fill and the position ``held`` before it: after a stop, an exit is counted, an entry a breach."""
        if self.stopped_at is None or ts < self.stopped_at:
            return
        d = qty if side == "buy" else -qty
        if held != 0 and (d > 0) != (held > 0) and abs(d) <= abs(held) * (1 + _REL_TOL):
            self.exits_after_stop += 1
        else:
            self._breach(ts, "fill", fill_id, side, qty, symbol)

    def _breach(self, ts: float, kind: str, ident: str, side: str, qty: float, symbol: str) -> None:
        if self.stopped_at is None or ts < self.stopped_at:
            return
        self.new_risk_after_stop += 1
        self.breaches.append(
            StopBreach(
                kind=kind, id=ident, side=side, qty=qty, symbol=symbol, ts=ts, after_s=ts - self.stopped_at
            )
        )
        if len(self.breaches) > MAX_BREACHES:
            del self.breaches[0]

    # ---- prices and books -------------------------------------------------
    def on_prices(self, ts: float, symbols: Iterable[str]) -> None:
        for sym in symbols:
            if ts >= self.last_mark.get(sym, -math.inf):
                self.last_mark[sym] = ts

    def forget_symbol(self, symbol: str) -> None:
        self.last_mark.pop(symbol, None)

    def on_snapshot(
        self, ts: float, ours: Mapping[str, Position], theirs: list[tuple[str, float, float]]
    ) -> None:
        """Before a snapshot replaces the book: where it disagrees with the monitor's accounting."""
        wanted = {sym: (qty, avg) for sym, qty, avg in theirs if qty != 0}
        found = []
        for sym in sorted(set(ours) | set(wanted)):
            pos = ours.get(sym)
            held, held_avg = (pos.qty, pos.avg_price) if pos is not None else (0.0, 0.0)
            qty, avg = wanted.get(sym, (0.0, 0.0))
            if _differs(held, qty) or (qty != 0 and held != 0 and _differs(held_avg, avg)):
                found.append(BookDisagreement(symbol=sym, monitor_qty=held, bot_qty=qty))
        self.disagreeing = len(found)
        self.disagreements = found[:MAX_DISAGREEMENTS]
        for sym in wanted:
            self.last_mark.setdefault(sym, ts)  # valued from here on, at its price or its average


def _differs(a: float, b: float) -> bool:
    return abs(a - b) > _REL_TOL * max(abs(a), abs(b))


def safety_metrics(
    state: SafetyState, now: float, open_orders: Any, positions: Iterable[str]
) -> SafetyMetrics:
    """The document part, in event time (``now`` = the bot's newest event ts)."""
    stopped = state.stopped_at
    window = sum(n for sec, n in state.order_seconds.items() if sec > math.floor(now) - WINDOW_S)
    ages = {sym: max(0.0, now - state.last_mark[sym]) for sym in sorted(positions) if sym in state.last_mark}
    killed = state.killed_at
    listed = list(open_orders)[:MAX_LISTED_ORDERS] if killed is not None else []
    return SafetyMetrics(
        stopped_by=state.stopped_by,
        since_stop_s=None if stopped is None else max(0.0, now - stopped),
        since_kill_switch_s=None if killed is None else max(0.0, now - killed),
        new_risk_after_stop=state.new_risk_after_stop,
        exits_after_stop=state.exits_after_stop,
        breaches=list(reversed(state.breaches)),
        open_orders_after_kill=len(open_orders) if killed is not None else 0,
        open_order_ids=listed,
        orders_per_min=window,
        duplicate_orders=state.duplicate_orders,
        last_duplicate=state.last_duplicate,
        since_duplicate_s=None
        if state.last_duplicate_ts is None
        else max(0.0, now - state.last_duplicate_ts),
        mark_age_s=ages,
        oldest_mark_age_s=max(ages.values(), default=None),
        book_disagreements=state.disagreeing,
        disagreements=list(state.disagreements),
    )


def fleet_totals(bots: Mapping[str, Any], docs: Mapping[str, BotMetrics]) -> dict[str, FleetTotals]:
    """The "All bots" totals per currency: what the fleet-wide limits check (``bots``: the store's states).

    A bot without equity yet adds nothing; its exposure still counts.
    """
    groups: dict[str, list[str]] = {}
    for name, doc in docs.items():
        groups.setdefault(doc.currency or NO_CURRENCY, []).append(name)
    out = {}
    for currency, names in sorted(groups.items()):
        equity = peak = daily = gross = 0.0
        for name in names:
            doc = docs[name]
            gross += doc.exposure_gross
            daily += doc.daily_pnl or 0.0
            top = bots[name].series.peak
            if doc.equity is not None and math.isfinite(top):
                equity += doc.equity
                peak += top
        drawdown = min(max((peak - equity) / peak, 0.0), 1.0) if peak > 0 else 0.0
        out[currency] = FleetTotals(
            bots=names,
            equity=equity,
            peak_equity=peak,
            drawdown=drawdown,
            daily_pnl=daily,
            exposure_gross=gross,
        )
    return out
