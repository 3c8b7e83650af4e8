"""The Trading tab's sections: open positions, open orders, recent fills, round trips, today's counts."""

from __future__ import annotations

from collections.abc import Callable

from app.dashboard import fmt
from app.dashboard.money import Money
from app.dashboard.safety_view import stale_marks
from app.dashboard.tables import Cell, bot_head, bot_rows, newest_first, table, with_bot
from app.dashboard.view_input import utc_now
from core.documents import BotMetrics, FillEntry, OpenOrder, Position, StateDocument


def positions_table(
    states: dict[str, StateDocument],
    show_bot: bool,
    money: Money | None = None,
    per_bot: dict[str, BotMetrics] | None = None,
    mark_stale_after_s: float | None = None,
) -> dict:
    """Open positions; one valued at a stale mark says so in its P&L, with the mark's age."""
    money = money or Money({})
    stale = stale_marks(per_bot or {}, mark_stale_after_s)
    rows = [
        with_bot(
            show_bot, bot, _position_row(p, money.cell(bot, fmt.signed(p.unrealized_pnl)), stale.get(bot, {}))
        )
        for bot, st in states.items()
        for p in st.positions
    ]
    return table(
        bot_head(
            show_bot, "Symbol", "Side", "Qty", "Avg entry", "Mark", money.head("Unrealized P&L"), "P&L %"
        ),
        rows,
        "No open positions",
    )


def _position_row(p: Position, pnl: str, stale: dict[str, float]) -> list:
    """One position's cells; ``pnl`` is its unrealized P&L as the view words money."""
    q, avg, upnl = p.qty, p.avg_price, p.unrealized_pnl
    basis = abs(q) * avg if q and avg else None
    old = stale.get(p.symbol)
    return [
        p.symbol,
        ["long", "pos"] if (q or 0) > 0 else ["short", "neg"],
        fmt.qty(abs(q) if q is not None else None),
        fmt.price(avg, like=p.mark),
        fmt.price(p.mark),
        [pnl, fmt.tone(upnl)] if old is None else [f"{pnl} (stale: mark {fmt.age(old)} old)", "warn"],
        [fmt.pct(upnl / basis if basis and upnl is not None else None, sign=True), fmt.tone(upnl)],
    ]


def orders_table(
    states: dict[str, StateDocument], show_bot: bool, when: Callable[[float | None], str] = utc_now
) -> dict:
    def cells(_bot: str, o: OpenOrder) -> list[Cell]:
        return [
            when(o.ts),
            o.order_id,
            o.symbol,
            _side(o.side),
            o.type,
            fmt.qty(o.qty),
            fmt.qty(o.filled_qty),
            fmt.price(o.price) if o.price is not None else "market",
            o.status.replace("_", " "),
        ]

    orders = newest_first(states, lambda st: st.open_orders, 500)
    head = bot_head(show_bot, "Time", "Order", "Symbol", "Side", "Type", "Qty", "Filled", "Price", "Status")
    return table(head, bot_rows(show_bot, orders, cells), "No open orders")


def _side(side: str | None) -> list[str]:
    return [side or fmt.NA, "pos" if side == "buy" else "neg" if side == "sell" else "neutral"]


def fills_table(
    states: dict[str, StateDocument],
    show_bot: bool,
    limit: int,
    when: Callable[[float | None], str] = utc_now,
    money: Money | None = None,
) -> dict:
    money = money or Money({})

    def cells(bot: str, f: FillEntry) -> list[Cell]:
        return [
            when(f.ts),
            f.symbol,
            _side(f.side),
            fmt.qty(f.qty),
            fmt.price(f.price),
            money.cell(bot, fmt.fee(f.fee)),
            [money.cell(bot, fmt.signed(f.realized_pnl)), fmt.tone(f.realized_pnl)],
            f.order_id,
        ]

    rows = bot_rows(show_bot, newest_first(states, lambda st: st.recent_fills, limit), cells)
    return table(_fills_head(show_bot, money), rows, "No fills yet")


def _fills_head(show_bot: bool, money: Money) -> list[str]:
    """The fills table's header: money columns name the view's currency when it has one."""
    return bot_head(
        show_bot,
        "Time",
        "Symbol",
        "Side",
        "Qty",
        "Price",
        money.head("Fee"),
        money.head("Realized P&L"),
        "Order",
    )


def trips_table(
    states: dict[str, StateDocument],
    show_bot: bool,
    when: Callable[[float | None], str] = utc_now,
    money: Money | None = None,
) -> dict:
    money = money or Money({})
    trips = [(bot, t) for bot, st in states.items() for t in st.round_trips_today]
    trips.sort(key=lambda bt: bt[1].closed_ts or 0.0, reverse=True)
    rows = []
    for bot, t in trips[:200]:
        pnl = t.pnl
        p = pnl or 0
        result = ["win", "pos"] if p > 0 else ["loss", "neg"] if p < 0 else ["flat", "neutral"]
        rows.append(
            with_bot(
                show_bot,
                bot,
                [
                    when(t.closed_ts),
                    t.symbol,
                    t.side,
                    fmt.qty(t.qty),
                    when(t.opened_ts),
                    [money.cell(bot, fmt.signed(pnl)), fmt.tone(pnl)],
                    result,
                ],
            )
        )
    return table(
        bot_head(show_bot, "Closed", "Symbol", "Side", "Qty", "Opened", money.head("P&L"), "Result"),
        rows,
        "No round trips today",
    )


def today_kv(per_bot: dict[str, BotMetrics]) -> list[list[str]]:
    bots = per_bot.values()
    wins, losses = sum(m.wins_today for m in bots), sum(m.losses_today for m in bots)
    decided = wins + losses
    return [
        ["Fills today", fmt.integer(sum(m.fills_today for m in bots)), "neutral"],
        ["Round trips today", fmt.integer(sum(m.round_trips_today for m in bots)), "neutral"],
        ["Wins", fmt.integer(wins), "pos" if wins else "neutral"],
        ["Losses", fmt.integer(losses), "neg" if losses else "neutral"],
        ["Win rate today", fmt.pct(wins / decided if decided else None, 1), "neutral"],
    ]
