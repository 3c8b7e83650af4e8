"""Reference model of the safety invariants of docs/alerts.md ("Safety invariants"), from the text only.

Written from the definitions, never from ``core/safety.py`` or ``alerts/safety_rules.py``:
it keeps every event of one bot and answers, the obvious way, which invariants the stream
breaks at its end.  Time is the events' own ``ts`` (the store's "now" is the newest one).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from collectors.events import Fill, Health, Mark, Order, Snapshot

REL = 1e-9


@dataclass
class Limits:
    grace_s: float = 2.0
    orders_open_after_stop_s: float = 30.0
    max_drawdown: float = 0.10
    max_orders_per_min: float = 120.0
    mark_stale_after_s: float = 60.0


@dataclass
class Verdict:
    """What the stream breaks at its end: rule -> the culprit its text must name (or a count)."""

    firing: dict[str, str] = field(default_factory=dict)
    exits_after_stop: int = 0
    new_risk_after_stop: int = 0
    orders_per_min: int = 0


def judge(events: list, lim: Limits) -> Verdict:
    """Replay ``events`` of one bot (applied in order) and judge the invariants at the end."""
    kill = breaker = None
    stop_ts = kill_ts = None
    run = None
    positions: dict[str, float] = {}
    open_orders: dict[str, None] = {}
    news: list[tuple[float, str]] = []  # (ts, order id) of every order event with status new
    since_restart_ids: list[str] = []
    dup: tuple[str, float] | None = None
    last_price: dict[str, float] = {}
    disagree: list[str] = []
    breaches: list[tuple[float, str]] = []
    exits = 0
    now = -math.inf
    for ev in events:
        now = max(now, ev.ts)
        if ev.run is not None and ev.run != run:
            if run is not None:  # a restart: a new process with its own switches and ids
                stop_ts = kill_ts = None
                breaches, exits, since_restart_ids = [], 0, []
            run = ev.run
        if isinstance(ev, Health):
            kill = ev.kill_switch if ev.kill_switch is not None else kill
            breaker = ev.circuit_breaker if ev.circuit_breaker is not None else breaker
            if kill == "triggered" or breaker == "open":
                stop_ts = ev.ts if stop_ts is None else stop_ts
            else:
                stop_ts = None
                breaches, exits = [], 0
            kill_ts = (ev.ts if kill_ts is None else kill_ts) if kill == "triggered" else None
        elif isinstance(ev, Order):
            if ev.status in ("new", "partially_filled"):
                open_orders[ev.order_id] = None
            else:
                open_orders.pop(ev.order_id, None)
            if ev.status == "new":
                news.append((ev.ts, ev.order_id))
                if ev.order_id in since_restart_ids[-512:]:
                    dup = (ev.order_id, ev.ts)
                else:
                    since_restart_ids.append(ev.order_id)
                if stop_ts is not None and ev.ts >= stop_ts:
                    breaches.append((ev.ts - stop_ts, ev.order_id))
        elif isinstance(ev, Fill):
            held = positions.get(ev.symbol, 0.0)
            d = ev.qty if ev.side == "buy" else -ev.qty
            if stop_ts is not None and ev.ts >= stop_ts:
                reduces = held != 0 and (d > 0) != (held > 0) and abs(d) <= abs(held) * (1 + REL)
                if reduces:
                    exits += 1
                else:
                    breaches.append((ev.ts - stop_ts, ev.fill_id))
            new = held + d
            if abs(new) <= REL * max(abs(held), 1.0):
                positions.pop(ev.symbol, None)
                last_price.pop(ev.symbol, None)
            else:
                positions[ev.symbol] = new
                last_price[ev.symbol] = max(last_price.get(ev.symbol, -math.inf), ev.ts)
        elif isinstance(ev, Mark):
            for sym in ev.prices:
                last_price[sym] = max(last_price.get(sym, -math.inf), ev.ts)
        elif isinstance(ev, Snapshot):
            theirs = {p.symbol: p.qty for p in ev.positions if p.qty != 0}
            disagree = sorted(
                s
                for s in set(theirs) | set(positions)
                if abs(theirs.get(s, 0.0) - positions.get(s, 0.0))
                > REL * max(abs(theirs.get(s, 0.0)), abs(positions.get(s, 0.0)))
            )
            positions = dict(theirs)
            open_orders = {
                o.order_id: None for o in ev.open_orders if o.status in ("new", "partially_filled")
            }
            for s in theirs:
                last_price.setdefault(s, ev.ts)
    v = Verdict(exits_after_stop=exits, new_risk_after_stop=len(breaches))
    late = [ident for after, ident in breaches if after > lim.grace_s]
    if stop_ts is not None and late:
        v.firing["trading_after_stop"] = late[-1]
    if kill_ts is not None and now - kill_ts >= lim.orders_open_after_stop_s and open_orders:
        v.firing["orders_open_after_kill"] = next(iter(open_orders))
    v.orders_per_min = sum(1 for ts, _ in news if math.floor(ts) > math.floor(now) - 60)
    if v.orders_per_min > lim.max_orders_per_min:
        v.firing["runaway_orders"] = str(v.orders_per_min)
    elif dup is not None and now - dup[1] < 60.0:
        v.firing["runaway_orders"] = dup[0]
    stale = sorted(s for s in positions if s in last_price and now - last_price[s] > lim.mark_stale_after_s)
    if stale:
        v.firing["stale_mark"] = stale[0]
    if disagree:
        v.firing["book_disagrees"] = disagree[0]
    return v
