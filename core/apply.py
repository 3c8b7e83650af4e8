"""Applying events: what each kind of event does to its bot's state (pure core).

:meth:`StateStore.apply <core.store.StateStore.apply>` does the bookkeeping
every event shares (sequence, liveness, the bot's day) and hands the event to
its handler in :data:`HANDLERS`.  A handler takes ``(store, bot state, event)``:
the store for its configuration and for the open orders' undo log that
containment reads (core/containment.py).  Time-based metrics use the
events' own ``ts``, so replaying the same events gives the same state.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from typing import TYPE_CHECKING

from collectors.events import (
    OPEN_ORDER_STATUSES,
    Account,
    Error,
    Fill,
    Health,
    Latency,
    Mark,
    Order,
    OrderBody,
    Snapshot,
)
from core.accounting import RoundTrip
from core.containment import MISSING, REPLACED
from core.documents import RoundTripEntry, copied
from core.series import DayClock

if TYPE_CHECKING:
    from core.store import BotState, StateStore


def advance(day_clock: DayClock, s: BotState, ts: float) -> None:
    """Move the bot's "now" forward and roll its calendar day when needed."""
    s.now = ts
    day = day_clock.day_start(ts)
    if day > s.day_start:
        s.day_start = day
        s.series.roll_day(day)
        s.fills_today = s.round_trips_today = s.wins_today = s.losses_today = 0
        s.trips_today.clear()
        s.realized_today = s.fees_today = s.stale_today_s = 0.0
        s.largest_loss_today = None
        s.lost_before_today = s.lost


def stale_between(since: float, until: float, after_s: float, day_start: float) -> float:
    """Seconds of ``(since, until]`` a bot was stale (no arrival for ``after_s``), within its day."""
    return max(0.0, until - max(since + after_s, day_start))


def _point(s: BotState, ts: float) -> None:
    """A point of the derived equity curve (a bot that reports its account has its own)."""
    if s.source == "derived":
        s.series.append(ts, s.derived_equity())


def _on_account(store: StateStore, s: BotState, ts: float, equity: float, cash, currency) -> None:
    """The bot reported its equity: from now on its curve is the reported one, not the derived."""
    if s.source != "account":
        s.source = "account"
        s.series = s._new_series(store.config)
        s.series.roll_day(s.day_start)
    s.series.append(ts, equity)
    s.cash = cash
    if currency is not None:
        s.currency = currency


def _account(store: StateStore, s: BotState, ev: Account) -> None:
    _on_account(store, s, ev.ts, ev.equity, ev.cash, ev.currency)


def _fill(store: StateStore, s: BotState, ev: Fill) -> None:
    held = s.book.positions.get(ev.symbol)
    s.safety.on_fill(ev.ts, ev.fill_id, ev.side, ev.qty, ev.symbol, 0.0 if held is None else held.qty)
    outcome = s.book.fill(ev.symbol, ev.side, ev.qty, ev.price, ev.fee, ev.ts)
    if s.book.positions[ev.symbol].qty == 0:  # flat: nothing left to value, drop it
        del s.book.positions[ev.symbol]
        s.marks.pop(ev.symbol, None)
        s.symbols.discard(ev.symbol)
        s.safety.forget_symbol(ev.symbol)
    else:
        s.marks[ev.symbol] = ev.price
        s.symbols.add(ev.symbol)
        s.safety.on_prices(ev.ts, (ev.symbol,))
    s.recent_fills.appendleft((ev, outcome.realized))
    if ev.ts >= s.day_start:
        s.fills_today += 1
        s.realized_today += outcome.realized
        s.fees_today += ev.fee
    for trip in outcome.closed:
        _count_trip(s, trip)
    _point(s, ev.ts)


def _count_trip(s: BotState, trip: RoundTrip) -> None:
    if trip.closed_ts is None or trip.closed_ts < s.day_start:
        return
    s.round_trips_today += 1
    pnl = trip.pnl
    s.wins_today += pnl > 0
    s.losses_today += pnl < 0
    if pnl < 0 and (s.largest_loss_today is None or pnl < s.largest_loss_today):
        s.largest_loss_today = pnl
    s.trips_today.appendleft(copied(RoundTripEntry, trip, pnl=pnl))


def _mark(store: StateStore, s: BotState, ev: Mark) -> None:
    s.marks.update(ev.prices)
    s.symbols.update(ev.prices)
    s.safety.on_prices(ev.ts, ev.prices)
    _point(s, ev.ts)


def _order(store: StateStore, s: BotState, ev: Order | OrderBody, ts: float | None = None) -> None:
    """Keep an open order, drop a closed one; every change is logged for containment to undo."""
    orders, undo, oid = s.open_orders, store._orders_undo, ev.order_id
    if ts is None and ev.status == "new":  # an order event (a snapshot's orders pass their ts)
        s.safety.on_new_order(ev.ts, oid, ev.side, ev.qty, ev.symbol)  # type: ignore[union-attr]
    if ev.status in OPEN_ORDER_STATUSES:
        if oid not in orders and len(orders) >= s.max_open_orders:
            undo.append((s.bot, *orders.popitem(last=False), True))  # bounded: evict the oldest
        undo.append((s.bot, oid, orders.get(oid, MISSING), False))
        orders[oid] = (ev, getattr(ev, "ts", ts))
    else:
        old = orders.pop(oid, MISSING)
        if old is not MISSING:
            undo.append((s.bot, oid, old, False))


def _health(store: StateStore, s: BotState, ev: Health) -> None:
    if ev.apis:
        s.apis.update(ev.apis)
    if ev.circuit_breaker is not None:
        s.circuit_breaker = ev.circuit_breaker
    if ev.kill_switch is not None:
        s.kill_switch = ev.kill_switch
    s.safety.on_health(ev.ts, s.kill_switch, s.circuit_breaker)


def _snapshot(store: StateStore, s: BotState, ev: Snapshot) -> None:
    positions = [(p.symbol, p.qty, p.avg_price) for p in ev.positions]
    s.safety.on_snapshot(ev.ts, s.book.positions, positions)
    s.position_mismatches += s.book.replace(positions, ev.ts)
    s.symbols = set(s.marks) | set(s.book.positions)
    store._orders_undo.append((s.bot, REPLACED, None, False))
    s.open_orders = OrderedDict()  # a new one: the batch's copy of the bot keeps the old one
    for order in ev.open_orders:
        _order(store, s, order, ev.ts)
    if ev.account is not None:
        a = ev.account
        _on_account(store, s, ev.ts, a.equity, a.cash, a.currency)
    else:
        _point(s, ev.ts)


#: The handler of each kind of event (containment's copy relies on what each changes:
#: see core/containment.py, ``_TOUCHED_BY``).
HANDLERS: dict[type, Callable] = {
    Fill: _fill,
    Mark: _mark,
    Account: _account,
    Order: _order,
    Latency: lambda store, s, ev: s.latency.add(ev.ts, ev.op, ev.ms),
    Error: lambda store, s, ev: s.errors.add(ev.ts, ev.component, ev.severity, ev.message),
    Health: _health,
    Snapshot: _snapshot,
}
