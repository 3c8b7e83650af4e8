"""Turn hub documents into the dashboard's *sections* (pure, no Dash, no I/O).

A section is the display-ready content of one region of the page (the status
bar, one table, the risk cards...).  The broadcaster diffs sections between
ticks and pushes only those that changed; the browser renders them verbatim.

Wire shapes (all text already formatted, see fmt.py):

* table:  ``{"rows": [[cell, ...], ...], "empty": str, "cols": int}``;
  a cell is ``str`` or ``[text, css_class]``.
* kv:     ``[[label, text, css_class], ...]``.
* cards:  ``[[label, text, css_class, note], ...]``.
* status: see :func:`status_section`.
* error:  ``{"error": str}`` in place of any section that could not be built.

Everything that came from a bot stays a plain string here; the browser puts
it into text nodes, never into HTML.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from msgspec import UNSET

from app.core.documents import BotMetrics, CatchUp, MetricsDocument, PersistenceStatus, StateDocument
from app.dashboard import fmt

ALL = "__all__"
Cell = str | list[str]
UTC = ZoneInfo("UTC")


@dataclass
class ViewInput:
    """Everything one view needs for one tick, read from the hub beforehand."""

    view: str  # a bot id or ALL
    metrics: MetricsDocument
    states: dict[str, StateDocument]  # for the bots of this view
    now: float
    stale_after_s: float
    listen_info: dict
    alerts: dict | None = None
    server: dict = field(default_factory=dict)  # clients, frames/s: the dashboard's own state
    fills_rows: int = 100
    error_rows: int = 20
    #: ``metrics.timezone``: every time on the page is shown in it, with its abbreviation.
    zone: ZoneInfo = UTC
    #: The Sharpe definition in force (``metrics.*``), for the card's "n/a until" note.
    sharpe_min_returns: int = 30
    sharpe_interval_s: int = 60
    #: ``metrics.latency_window_s``: the latency card's window (the chart shows older samples too).
    latency_window_s: float = 300.0

    def when(self, ts: float | None) -> str:
        """An event time as the trader reads it (zone, and date when not today)."""
        return fmt.when(ts, self.zone, self.now)


class Rates:
    """Per-key event rates from successive counter readings (10 s window)."""

    WINDOW_S = 10.0

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._marks: dict[str, deque[tuple[float, float]]] = {}

    def rate(self, key: str, count: float) -> float | None:
        now = self._clock()
        marks = self._marks.setdefault(key, deque())
        if not marks or marks[-1][1] != count or now - marks[-1][0] >= 1.0:
            marks.append((now, count))
        while len(marks) > 2 and now - marks[0][0] > self.WINDOW_S:
            marks.popleft()
        if len(marks) < 2 or marks[-1][0] <= marks[0][0]:
            return None
        return max(0.0, (marks[-1][1] - marks[0][1]) / (now - marks[0][0]))


def utc_now(ts: float | None) -> str:
    """A time in UTC against the wall clock: for callers without a view (the view passes its own)."""
    return fmt.when(ts, UTC, time.time())


def view_bots(view: str, metrics: MetricsDocument) -> list[str]:
    """The bots a view covers: one, or all known ones."""
    known = sorted(metrics.bots)
    if view == ALL:
        return known
    return [view] if view in known else []


def build_sections(
    inp: ViewInput, rates: Rates, on_error: Callable[[str, Exception], None] | None = None
) -> dict[str, Any]:
    """All non-chart sections of a view (charts: see charts.py).

    Each section is built on its own: one that raises becomes an error marker
    (:func:`section_error`, shown in its place on the page) and ``on_error``
    hears of it, while every other section keeps updating.
    """
    bots = view_bots(inp.view, inp.metrics)
    per_bot = {b: inp.metrics.bots[b] for b in bots}
    show_bot = inp.view == ALL
    money = Money.of(per_bot)
    when = inp.when
    builders: dict[str, Callable[[], Any]] = {
        "status": lambda: status_section(inp, per_bot),
        "bots": lambda: sorted(inp.metrics.bots),
        "tb-positions": lambda: positions_table(inp.states, show_bot, money),
        "tb-orders": lambda: orders_table(inp.states, show_bot, when),
        "tb-fills": lambda: fills_table(inp.states, show_bot, inp.fills_rows, when, money),
        "tb-trips": lambda: trips_table(inp.states, show_bot, when, money),
        "kv-today": lambda: today_kv(per_bot),
        "cards-risk": lambda: risk_cards(inp, per_bot),
        "kv-bot-health": lambda: bot_health_kv(per_bot, inp.stale_after_s),
        "tb-apis": lambda: apis_table(per_bot),
        "tb-events": lambda: events_table(inp.metrics, per_bot, rates),
        "tb-reject-reasons": lambda: reject_reasons_table(inp.metrics),
        "tb-rejects": lambda: rejects_table(inp.states, when),
        "tb-err-components": lambda: error_components_table(per_bot),
        "tb-errors": lambda: errors_table(inp.states, inp.error_rows, when),
        "kv-monitor": lambda: monitor_kv(inp),
        "kv-alerts": lambda: alerts_kv(inp.alerts),
    }
    sections: dict[str, Any] = {}
    for key, build in builders.items():
        try:
            sections[key] = build()
        except Exception as exc:
            sections[key] = section_error(exc)
            if on_error is not None:
                on_error(key, exc)
    return sections


def section_error(exc: Exception) -> dict:
    """The marker of a section that could not be built; the page shows it in the section's place.

    Only the exception's type is shown: its text may quote a bot's input at length.
    """
    return {"error": f"this section could not be built ({type(exc).__name__}); see the monitor's log"}


# ---- status bar --------------------------------------------------------------
def status_section(inp: ViewInput, per_bot: dict[str, BotMetrics]) -> dict:
    """The always-visible bar: connection state, money, switches, alerts.

    Freshness is judged per figure: a figure is marked old (its note) only when every
    bot behind it is stale, and then with the age of the newest data behind it.  So in
    "All bots" a silent bot is named with its age (``stale_bots``, also in the text)
    while the totals the other bots keep moving are not marked old; a view whose bots
    are all stale marks everything.  The bar stays a warning while any bot is stale.
    """
    label = f"All bots ({len(per_bot)})" if inp.view == ALL else inp.view
    if not per_bot:
        return _waiting_status(inp, label)
    stale = {b: m for b, m in per_bot.items() if m.stale}
    youngest = _youngest(per_bot.values())
    stale_bots = ""
    if not stale:
        conn, text = "live", f"live · last event {fmt.age(youngest)} ago"
    elif inp.view == ALL:
        conn, stale_bots = "stale", stale_bots_text(stale, len(per_bot))
        live = len(per_bot) - len(stale)
        if live:
            text = f"{stale_bots} · {live} live, last event {fmt.age(youngest)} ago"
        else:
            text = f"{stale_bots} · newest data {fmt.age(youngest)} old"
    else:
        ((bot, m),) = stale.items()
        conn, stale_bots = "stale", f"{bot} stale, {fmt.age(m.last_event_age_s)}"
        text = f"STALE: {bot} (last event {fmt.age(m.last_event_age_s)} ago)"
    items = _money_items(inp, per_bot) + _switch_items(per_bot)
    failing = False
    if inp.alerts is not None:
        firing = int(inp.alerts.get("firing") or 0)
        failing = bool(inp.alerts.get("delivery_failing"))
        cls = "neg" if firing else "neutral"
        items.append(
            [
                "Alerts",
                f"{firing} firing" + (" · delivery failing" if failing else ""),
                "neg" if failing else cls,
                "",
            ]
        )
    if failing:  # the red banner: alerts are the safety net, and it has a hole
        text = "ALERT DELIVERY FAILING: no channel could deliver a critical alert (see Alerts tab) · " + text
    return {
        "label": label,
        "conn": conn,
        "text": text,
        "warn": bool(stale) or failing,
        "items": items,
        "stale_bots": stale_bots,
        "zone": inp.zone.key,  # the page's own times (its watchdog's "since") are shown in it too
    }


def stale_bots_text(stale: dict[str, BotMetrics], of: int) -> str:
    """``1 of 3 bots stale: beta, 1 min 21 s`` (several: ``...: beta, 12 s; gamma, 40 s``), oldest first."""
    oldest_first = sorted(stale.items(), key=lambda bm: -(bm[1].last_event_age_s or 0.0))
    names = "; ".join(f"{b}, {fmt.age(m.last_event_age_s)}" for b, m in oldest_first)
    return f"{len(stale)} of {of} bot{'s' if of != 1 else ''} stale: {names}"


def _waiting_status(inp: ViewInput, label: str) -> dict:
    zmq = ", ".join(inp.listen_info.get("zmq", [])) or "n/a"
    http = inp.listen_info.get("http") or ""
    what = "No bot has connected yet" if inp.view == ALL else f"No events from bot {inp.view!s} yet"
    text = f"{what}. Listening for ZeroMQ events on {zmq}" + (f" · dashboard {http}" if http else "")
    return {
        "label": label,
        "conn": "waiting",
        "text": text,
        "warn": False,
        "items": [],
        "stale_bots": "",
        "zone": inp.zone.key,
    }


def _youngest(bots: Iterable[BotMetrics]) -> float | None:
    ages = [m.last_event_age_s for m in bots if m.last_event_age_s is not None]
    return min(ages) if ages else None


def age_note(bots: Iterable[BotMetrics]) -> str:
    """The "old" mark of a figure: empty while any bot behind it is live.

    When every one of them is stale, the figure is as old as the newest data behind
    it, so that is the age shown: one silent bot's age never lands on a total the
    others keep current.
    """
    behind = list(bots)
    if not behind or not all(m.stale for m in behind):
        return ""
    return f"{fmt.age(_youngest(behind))} old"


def _worst_drawdown(
    per_bot: dict[str, BotMetrics], field: str = "drawdown"
) -> tuple[float | None, list[str]]:
    """The deepest drawdown of a view and the bots it comes from (all of them when none is down)."""
    if not per_bot:
        return None, []
    worst = max(getattr(m, field) or 0.0 for m in per_bot.values())
    return worst, [b for b, m in per_bot.items() if (getattr(m, field) or 0.0) == worst]


def _money_items(inp: ViewInput, per_bot: dict[str, BotMetrics]) -> list[list[str]]:
    money = Money.of(per_bot)
    note = age_note(per_bot.values())
    equity, _ = money.total(per_bot, "equity")
    daily, daily_tone = money.total(per_bot, "daily_pnl", fmt.signed)
    dd, behind = _worst_drawdown(per_bot)
    dd_label = "Worst drawdown" if inp.view == ALL else "Drawdown"
    return [
        ["Equity", equity, "neutral", note],
        ["Daily P&L", daily, daily_tone, note],
        [dd_label, fmt.drawdown(dd), "neg" if dd else "neutral", age_note(per_bot[b] for b in behind)],
    ]


_SWITCH_CLASS = {
    "armed": "pos",
    "triggered": "neg",
    "disabled": "warn",
    "closed": "pos",
    "open": "neg",
    "half_open": "warn",
}


def _switch_items(per_bot: dict[str, BotMetrics]) -> list[list[str]]:
    kill = {b: m.health.kill_switch for b, m in per_bot.items()}
    breaker = {b: m.health.circuit_breaker for b, m in per_bot.items()}
    out = []
    for label, values in (("Kill switch", kill), ("Circuit breaker", breaker)):
        text, cls, behind = _combine_switch(values)
        out.append([label, text, cls, age_note(per_bot[b] for b in behind)])
    return out


def _combine_switch(values: dict[str, str | None]) -> tuple[str, str, list[str]]:
    """One bot: its state; several: the worst state, naming the bots in it.

    Also returns the bots the text speaks of (whose freshness the figure has).
    """
    known = {b: v for b, v in values.items() if v}
    if not known:
        return fmt.NA, "neutral", list(values)
    if len(values) == 1:
        b, v = next(iter(known.items()))
        return v.replace("_", " "), _SWITCH_CLASS.get(v, "neutral"), [b]
    bad = {b: v for b, v in known.items() if _SWITCH_CLASS.get(v) in ("neg", "warn")}
    if not bad:
        return f"all {next(iter(known.values())).replace('_', ' ')}", "pos", list(known)
    worst = "neg" if any(_SWITCH_CLASS.get(v) == "neg" for v in bad.values()) else "warn"
    return ", ".join(f"{b}: {v.replace('_', ' ')}" for b, v in bad.items()), worst, list(bad)


# ---- money -------------------------------------------------------------------
#: A currency code is shown as the bot sent it, cut to this length (a bot's text, kept short).
CURRENCY_CHARS = 12
NO_CURRENCY = "(no currency)"


def _currency(code: str | None) -> str | None:
    code = (code or "").strip()[:CURRENCY_CHARS]
    return code or None


@dataclass(frozen=True)
class Money:
    """The currency of a view's money, from the bots' account events.

    One currency shared by every bot of the view goes into the headers and next to the
    figures; bots in different currencies are never added up: a sum becomes one figure
    per currency, and each table row carries its bot's currency.  A bot that has named
    no currency (derived equity) is not a different one: it is added to the others as
    before, only then no currency is claimed for the sum.
    """

    by_bot: dict[str, str | None]

    @classmethod
    def of(cls, per_bot: dict[str, BotMetrics]) -> Money:
        return cls({b: _currency(m.currency) for b, m in per_bot.items()})

    @property
    def mixed(self) -> bool:
        """Bots of the view name different currencies."""
        return len({c for c in self.by_bot.values() if c}) > 1

    @property
    def common(self) -> str | None:
        """The currency every bot of the view names; None when one names none, or they differ."""
        named = set(self.by_bot.values())
        return next(iter(named)) if len(named) == 1 else None

    def head(self, label: str) -> str:
        """A table header: ``Fee (USD)`` when the view has one currency."""
        return f"{label} ({self.common})" if self.common else label

    def cell(self, bot: str, text: str) -> str:
        """A table value: with its bot's currency when the view mixes currencies."""
        cur = self.by_bot.get(bot)
        return f"{text} {cur}" if self.mixed and cur and text != fmt.NA else text

    def amount(self, text: str) -> str:
        """A single figure of the whole view (one bot, or one currency) with its currency."""
        return f"{text} {self.common}" if self.common and text != fmt.NA else text

    def total(
        self, per_bot: dict[str, BotMetrics], field: str, form: Callable[[float | None], str] = fmt.money
    ) -> tuple[str, str]:
        """A sum across the view's bots as (text, tone): one per currency when they differ.

        A currency whose bots have no value yet is ``n/a``, not 0.
        """
        sums: dict[str | None, float | None] = {}
        for bot, m in per_bot.items():
            value, cur = getattr(m, field), self.by_bot.get(bot) if self.mixed else None
            if value is not None:
                sums[cur] = (sums.get(cur) or 0.0) + value
            else:
                sums.setdefault(cur, None)
        if not self.mixed:
            value = next(iter(sums.values()), None)
            return self.amount(form(value)), fmt.tone(value)
        order = sorted(sums, key=lambda c: (c is None, c or ""))
        text = " + ".join(f"{form(sums[c])} {c or NO_CURRENCY}" for c in order)
        tones = {fmt.tone(v) for v in sums.values()}
        return text, tones.pop() if len(tones) == 1 else "neutral"


# ---- trading tab -------------------------------------------------------------
#: Most rows a table sends to the page; the rest is one "and N more" row, so a bot naming
#: thousands of symbols, APIs or components cannot make every frame heavy or the page slow.
MAX_TABLE_ROWS = 200


def _table(head: list[str], rows: list[list[Cell]], empty: str, keep_last: int = 0) -> dict:
    """A table section; beyond ``MAX_TABLE_ROWS`` the rest is counted in one visible row.

    ``keep_last`` rows at the end (a totals row) are always shown.
    """
    if len(rows) > MAX_TABLE_ROWS:
        tail = rows[len(rows) - keep_last :] if keep_last else []
        shown = rows[: MAX_TABLE_ROWS - keep_last]
        more = len(rows) - len(shown) - len(tail)
        rows = [*shown, more_row(more, len(head)), *tail]
    return {"head": head, "rows": rows, "empty": empty}


def more_row(n: int, width: int) -> list[Cell]:
    """The row that says how many rows are not shown."""
    return [[f"and {fmt.integer(n)} more", "muted"], *([""] * (width - 1))]


def _with_bot(show_bot: bool, bot: str, cells: list[Cell]) -> list[Cell]:
    return [bot, *cells] if show_bot else cells


def _head(show_bot: bool, *cols: str) -> list[str]:
    return ["Bot", *cols] if show_bot else list(cols)


def positions_table(states: dict[str, StateDocument], show_bot: bool, money: Money | None = None) -> dict:
    money = money or Money({})
    rows = []
    for bot, st in states.items():
        for p in st.positions:
            q, avg, upnl = p.qty, p.avg_price, p.unrealized_pnl
            basis = abs(q) * avg if q and avg else None
            rows.append(
                _with_bot(
                    show_bot,
                    bot,
                    [
                        p.symbol,
                        ["long", "pos"] if (q or 0) > 0 else ["short", "neg"],
                        fmt.qty(abs(q) if q is not None else None),
                        fmt.price(avg, like=p.mark),
                        fmt.price(p.mark),
                        [money.cell(bot, fmt.signed(upnl)), fmt.tone(upnl)],
                        [
                            fmt.pct(upnl / basis if basis and upnl is not None else None, sign=True),
                            fmt.tone(upnl),
                        ],
                    ],
                )
            )
    return _table(
        _head(show_bot, "Symbol", "Side", "Qty", "Avg entry", "Mark", money.head("Unrealized P&L"), "P&L %"),
        rows,
        "No open positions",
    )


def orders_table(
    states: dict[str, StateDocument], show_bot: bool, when: Callable[[float | None], str] = utc_now
) -> dict:
    orders = [(bot, o) for bot, st in states.items() for o in st.open_orders]
    orders.sort(key=lambda bo: bo[1].ts or 0.0, reverse=True)
    rows = [
        _with_bot(
            show_bot,
            bot,
            [
                when(o.ts),
                o.order_id,
                o.symbol,
                _side(o.side),
                o.type,
                fmt.qty(o.qty),
                fmt.qty(o.filled_qty),
                fmt.price(o.price) if o.price is not None else "market",
                o.status.replace("_", " "),
            ],
        )
        for bot, o in orders[:500]
    ]
    head = _head(show_bot, "Time", "Order", "Symbol", "Side", "Type", "Qty", "Filled", "Price", "Status")
    return _table(head, rows, "No open orders")


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
    fills = [(bot, f) for bot, st in states.items() for f in st.recent_fills]
    fills.sort(key=lambda bf: bf[1].ts or 0.0, reverse=True)
    rows = [
        _with_bot(
            show_bot,
            bot,
            [
                when(f.ts),
                f.symbol,
                _side(f.side),
                fmt.qty(f.qty),
                fmt.price(f.price),
                money.cell(bot, fmt.fee(f.fee)),
                [money.cell(bot, fmt.signed(f.realized_pnl)), fmt.tone(f.realized_pnl)],
                f.order_id,
            ],
        )
        for bot, f in fills[:limit]
    ]
    return _table(
        _head(
            show_bot,
            "Time",
            "Symbol",
            "Side",
            "Qty",
            "Price",
            money.head("Fee"),
            money.head("Realized P&L"),
            "Order",
        ),
        rows,
        "No fills yet",
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
            _with_bot(
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
    return _table(
        _head(show_bot, "Closed", "Symbol", "Side", "Qty", "Opened", money.head("P&L"), "Result"),
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


# ---- risk tab ----------------------------------------------------------------
def risk_cards(inp: ViewInput, per_bot: dict[str, BotMetrics]) -> list[list[str]]:
    """One card per metric of /api/metrics; a view of all bots shows totals.

    Money carries its currency (one figure per currency when the bots differ), drawdowns
    are positive percentages below the peak, and a card is marked old only when every
    bot behind it is stale (see :func:`age_note`).
    """
    if not per_bot:
        return []
    money = Money.of(per_bot)
    one = next(iter(per_bot.values())) if inp.view != ALL else None
    fresh = age_note(per_bot.values())

    def total(field: str, form: Callable[[float | None], str] = fmt.money) -> tuple[str, str]:
        return money.total(per_bot, field, form)

    equity, _ = total("equity")
    daily, realized, unrealized = (
        total(f, fmt.signed) for f in ("daily_pnl", "realized_pnl", "unrealized_pnl")
    )
    trades = sum(m.closed_trades for m in per_bot.values())
    wins, losses = sum(m.wins for m in per_bot.values()), sum(m.losses for m in per_bot.values())
    cards = [
        ["Equity", equity, "neutral", one.equity_source if one else _sum_note(money)],
        ["Daily P&L", *daily, ""],
        ["Realized P&L", *realized, "net of fees"],
        ["Unrealized P&L", *unrealized, ""],
        ["Fees", total("fees", fmt.fee)[0], "neutral", ""],
        *_drawdown_cards(per_bot, inp.view == ALL),
        ["Exposure gross", total("exposure_gross")[0], "neutral", ""],
        ["Exposure net", total("exposure_net", fmt.signed)[0], "neutral", ""],
        _leverage_card(per_bot, one, money),
        _sharpe_card(inp, one),
        [
            "Win rate",
            fmt.pct(wins / trades if trades else None, 1),
            "neutral",
            f"{fmt.integer(wins)} W / {fmt.integer(losses)} L",
        ],
        ["Profit factor", fmt.ratio(one.profit_factor), "neutral", ""]
        if one
        else _per_bot_card("Profit factor"),
        _expectancy_card(per_bot, money, trades),
        ["Closed trades", fmt.integer(trades), "neutral", ""],
        _latency_card(inp, per_bot),
    ]
    for card in cards:
        note = card.pop() if len(card) == 5 else fresh  # a card with its own freshness carries it
        if note:
            card[3] = f"{note} · {card[3]}" if card[3] else note
    return cards


def _sum_note(money: Money) -> str:
    return "sum of bots, per currency" if money.mixed else "sum of bots"


def _per_bot_card(label: str) -> list[str]:
    """A ratio that does not add up across bots."""
    return [label, fmt.NA, "neutral", "select a bot"]


def _drawdown_cards(per_bot: dict[str, BotMetrics], several: bool) -> list[list[str]]:
    """Drawdown and max drawdown (positive, below the peak); with several bots, the worst and whose."""
    cards = []
    for label, key in (("Drawdown", "drawdown"), ("Max drawdown", "max_drawdown")):
        dd, behind = _worst_drawdown(per_bot, key)
        whose = f"worst: {', '.join(behind)}" if several and dd else ""
        cls = "neg" if dd else "neutral"
        cards.append([label, fmt.drawdown(dd), cls, whose, age_note(per_bot[b] for b in behind)])
    return cards


def _leverage_card(per_bot: dict[str, BotMetrics], one: BotMetrics | None, money: Money) -> list[str]:
    if one is not None:
        return ["Leverage", _times(one.leverage), "neutral", ""]
    if money.mixed:
        return ["Leverage", fmt.NA, "neutral", "mixed currencies: select a bot"]
    equity = sum(m.equity or 0.0 for m in per_bot.values())
    gross = sum(m.exposure_gross for m in per_bot.values())
    return ["Leverage", _times(gross / equity if equity > 0 else None), "neutral", ""]


def _expectancy_card(per_bot: dict[str, BotMetrics], money: Money, trades: int) -> list[str]:
    if money.mixed:
        return ["Expectancy", fmt.NA, "neutral", "mixed currencies: select a bot"]
    value = (
        sum((m.expectancy or 0.0) * m.closed_trades for m in per_bot.values()) / trades if trades else None
    )
    return ["Expectancy", money.amount(fmt.signed(value)), fmt.tone(value), "per trade"]


def _sharpe_card(inp: ViewInput, one: BotMetrics | None) -> list[str]:
    """Sharpe, or why there is none yet: how many returns of how many it needs, and how long that is."""
    if one is None:
        return _per_bot_card("Sharpe")
    if one.sharpe is not None:
        return ["Sharpe", fmt.ratio(one.sharpe), "neutral", f"{fmt.integer(one.sharpe_returns)} returns"]
    need, have = max(2, inp.sharpe_min_returns), one.sharpe_returns
    if have >= need:
        return ["Sharpe", fmt.NA, "neutral", "no deviation in the window (flat equity)"]
    wait = fmt.age((need - have) * inp.sharpe_interval_s)
    return ["Sharpe", fmt.NA, "neutral", f"needs {need} returns: {have} of {need} (~{wait} more)"]


def _latency_card(inp: ViewInput, per_bot: dict[str, BotMetrics]) -> list[str]:
    """Latency p95 over the window; several bots: the worst bot's, and the average of all samples."""
    measured = {b: m.latency_ms for b, m in per_bot.items() if m.latency_ms.count}
    if not measured:
        window = fmt.age(inp.latency_window_s)
        return ["Latency p95", fmt.NA, "neutral", f"no sample in the last {window} of event time"]
    count = sum(s.count for s in measured.values())
    avg = sum((s.avg or 0.0) * s.count for s in measured.values()) / count
    if len(per_bot) == 1:
        return ["Latency p95", fmt.ms(next(iter(measured.values())).p95), "neutral", f"avg {fmt.ms(avg)}"]
    worst = max(measured, key=lambda b: measured[b].p95 or 0.0)
    note = f"worst: {worst} · avg {fmt.ms(avg)} (all bots)"
    return ["Latency p95", fmt.ms(measured[worst].p95), "neutral", note]


def _times(x: float | None) -> str:
    return fmt.NA if fmt.ratio(x) == fmt.NA else f"{fmt.ratio(x)}×"


# ---- health tab --------------------------------------------------------------
_STATUS_CLASS = {"up": "pos", "degraded": "warn", "down": "neg"}


def bot_health_kv(per_bot: dict[str, BotMetrics], stale_after_s: float) -> list[list[str]]:
    rows = []
    for bot, m in per_bot.items():
        h = m.health
        prefix = f"{bot} · " if len(per_bot) > 1 else ""
        stale = m.stale
        rows += [
            [
                f"{prefix}Circuit breaker",
                (h.circuit_breaker or fmt.NA).replace("_", " "),
                _SWITCH_CLASS.get(h.circuit_breaker or "", "neutral"),
            ],
            [
                f"{prefix}Kill switch",
                h.kill_switch or fmt.NA,
                _SWITCH_CLASS.get(h.kill_switch or "", "neutral"),
            ],
            [
                f"{prefix}Last event",
                f"{fmt.age(m.last_event_age_s)} ago",
                "neg" if stale else "neutral",
            ],
            [
                f"{prefix}Stale (> {fmt.age(stale_after_s)})",
                "yes" if stale else "no",
                "neg" if stale else "pos",
            ],
            [
                f"{prefix}Position mismatches",
                fmt.integer(m.position_mismatches),
                "neg" if m.position_mismatches else "neutral",
            ],
        ]
    return rows


def apis_table(per_bot: dict[str, BotMetrics]) -> dict:
    rows = []
    for bot, m in per_bot.items():
        for api, status in m.health.apis.items():
            rows.append([bot, api, [status or fmt.NA, _STATUS_CLASS.get(status or "", "neutral")]])
    rows.sort(key=lambda r: r[2][0] != "down")  # when rows are capped, the APIs down are the ones shown
    return _table(["Bot", "API", "Status"], rows, "No API status reported yet")


def events_table(metrics: MetricsDocument, per_bot: dict[str, BotMetrics], rates: Rates) -> dict:
    rows = []
    col = metrics.collector
    catch_up = col.catch_up
    for bot, m in per_bot.items():
        ev = m.events
        counts = {"received": ev.received, "rejected": ev.rejected, "lost": ev.lost}
        cells = _counts_with_rates(f"bot:{bot}", counts, rates)
        rows.append([bot, *cells, fmt.integer(ev.recovered), _catch_up_cell(catch_up.get(bot))])
    for bot in sorted(set(catch_up) - set(per_bot)):  # asked at start, not in the state (yet)
        rows.append([bot, *[fmt.NA] * 7, _catch_up_cell(catch_up[bot])])
    totals = {"received": col.received, "rejected": col.rejected, "lost": None}
    rows.append(
        [["collector (all bots)", "muted"], *_counts_with_rates("collector", totals, rates), fmt.NA, fmt.NA]
    )
    # Recovered: events missed live and applied from the bot's replay; Catch-up: what the
    # monitor asked each bot for at its start, and what came of it (docs/events.md)
    headers = ["Source", "Received", "Rate", "Rejected", "Rate", "Lost", "Rate", "Recovered", "Catch-up"]
    return _table(headers, rows, "", keep_last=1)


_CATCH_UP_CLASS = {"asking": "warn", "done": "pos", "lost": "neg"}


def _catch_up_cell(c: CatchUp | None) -> Cell:
    """``done: 4 received, 0 lost (1 request)``: a bot's catch-up after the monitor's start."""
    if c is None:
        return fmt.NA
    asked = f"{fmt.integer(c.asked)} request{'s' if c.asked != 1 else ''}"
    text = f"{c.state}: {fmt.integer(c.received)} received, {fmt.integer(c.lost)} lost ({asked})"
    return [text, "neg" if c.lost else _CATCH_UP_CLASS.get(c.state, "neutral")]


def _catch_up_row(catch_up: dict[str, CatchUp]) -> list[str]:
    """How many bots are still being caught up after the start, done, or given up."""
    if not catch_up:
        return ["Catch-up after start", "nothing to catch up", "neutral"]
    states = [c.state for c in catch_up.values()]
    text = ", ".join(f"{states.count(s)} {s}" for s in ("asking", "done", "lost") if s in states)
    cls = "neg" if "lost" in states else "warn" if "asking" in states else "pos"
    return ["Catch-up after start", text, cls]


def _counts_with_rates(prefix: str, counts: dict[str, int | None], rates: Rates) -> list[Cell]:
    cells: list[Cell] = []
    for key, n in counts.items():
        r = rates.rate(f"{prefix}:{key}", n) if n is not None else None
        bad = key != "received" and bool(n)
        cells += [[fmt.integer(n), "neg" if bad else "neutral"], fmt.rate(r)]
    return cells


def reject_reasons_table(metrics: MetricsDocument) -> dict:
    by_reason = metrics.collector.rejected_by_reason
    rows = [
        [reason, [fmt.integer(n), "neg" if n else "neutral"]]
        for reason, n in sorted(by_reason.items(), key=lambda kv: -kv[1])
    ]
    return _table(["Reason", "Count"], rows, "No rejected messages")


def rejects_table(states: dict[str, StateDocument], when: Callable[[float | None], str] = utc_now) -> dict:
    rejects = next((st.recent_rejects for st in states.values() if st.recent_rejects), [])
    rows = [[when(r.at), r.reason, r.topic or fmt.NA, r.detail, r.excerpt] for r in rejects]
    return _table(["Time", "Reason", "Topic", "Detail", "Message excerpt"], rows, "No rejected messages")


def error_components_table(per_bot: dict[str, BotMetrics]) -> dict:
    rows = []
    for bot, m in per_bot.items():
        errors = m.errors
        for comp, n in sorted(errors.by_component.items(), key=lambda kv: -kv[1]):
            rows.append([bot, comp, fmt.integer(n)])
        sev = errors.by_severity
        if sev:
            text = ", ".join(f"{k} {fmt.integer(v)}" for k, v in sorted(sev.items()))
            rows.append([bot, ["by severity", "muted"], text])
            rows.append([bot, ["last 5 min", "muted"], fmt.integer(errors.last_5m)])
    return _table(["Bot", "Component", "Errors"], rows, "No errors reported")


_SEVERITY_CLASS = {"warning": "warn", "error": "neg", "critical": "neg strong"}


def errors_table(
    states: dict[str, StateDocument], limit: int, when: Callable[[float | None], str] = utc_now
) -> dict:
    errors = [(bot, e) for bot, st in states.items() for e in st.recent_errors]
    errors.sort(key=lambda be: be[1].ts or 0.0, reverse=True)
    rows = [
        [
            when(e.ts),
            bot,
            [e.severity, _SEVERITY_CLASS.get(e.severity, "")],
            e.component,
            e.message,
        ]
        for bot, e in errors[:limit]
    ]
    return _table(["Time", "Bot", "Severity", "Component", "Message"], rows, "No errors reported")


def _auth_row(curve: bool | None) -> list[str]:
    """Whether bots must prove who they are (ZeroMQ CURVE) before their events are read."""
    text = "CURVE (listed bot keys only)" if curve else "off" if curve is False else fmt.NA
    return ["Bot authentication", text, "pos" if curve else "neutral"]


def _unauthorized_row(count: int | None) -> list[str]:
    """Connections CURVE refused: a bot with a wrong key, or someone else knocking."""
    return ["Unauthorized attempts", fmt.integer(count), "neg" if count else "neutral"]


def monitor_kv(inp: ViewInput) -> list[list[str]]:
    col = inp.metrics.collector
    mon = None if inp.metrics.monitor is UNSET else inp.metrics.monitor
    alive = _known(col.alive)
    restarts = _known(col.restarts)
    failure = _known(col.last_failure)
    rows = [
        [
            "Collector thread",
            "running" if alive else "DOWN" if alive is False else fmt.NA,
            "pos" if alive else "neg" if alive is False else "neutral",
        ],
        ["Collector restarts", fmt.integer(restarts), "neg" if restarts else "neutral"],
        [
            "Last collector failure",
            f"{inp.when(failure.at)}: {failure.error}" if failure else "none",
            "neg" if failure else "neutral",
        ],
        [
            "Endpoints",
            ", ".join(_known(col.endpoints) or inp.listen_info.get("zmq") or []) or fmt.NA,
            "neutral",
        ],
        _auth_row(_known(col.curve)),
        _unauthorized_row(_known(col.unauthorized)),
        _catch_up_row(col.catch_up),
        ["Ingest rate", fmt.rate(col.rate_per_s), "neutral"],
        ["Uptime", fmt.age(None if mon is None else mon.uptime_s), "neutral"],
        ["Memory (RSS)", fmt.nbytes(None if mon is None else mon.rss_bytes), "neutral"],
    ]
    if mon is not None:
        rows.append(["Threads", fmt.integer(mon.threads), "neutral"])
        refused = mon.web_refused if isinstance(mon.web_refused, dict) else {}
        shown = ", ".join(f"{k} {n}" for k, n in sorted(refused.items()) if n) or "none"
        rows.append(["Web requests refused", shown, "neg" if shown != "none" else "neutral"])
    if inp.server:
        rows.append(["Dashboard pages connected", fmt.integer(inp.server.get("clients")), "neutral"])
    persistence = _known(inp.metrics.persistence)
    if persistence is not None:
        rows.extend(persistence_rows(persistence, inp.when))
    return rows


def persistence_rows(p: PersistenceStatus, when: Callable[[float | None], str] = utc_now) -> list[list[str]]:
    """The journal (is the state durable right now?) and how the state was restored at start-up."""
    j = p.journal
    if j.state == "off":
        rows = [["State journal", "off (storage.journal.enabled): a restart loses the state", "neg"]]
    elif j.state == "failing":
        rows = [["State journal", f"FAILING: {j.failure}; the state is kept in memory only", "neg"]]
    else:
        rows = [["State journal", f"ok, last commit {when(j.last_commit_at)}", "pos"]]
    if j.state != "off":
        size = f"{fmt.nbytes(j.data_bytes)}; {fmt.integer(j.uncommitted)} batches uncommitted"
        rows.append(["Journal data", size, "neutral"])
    r = p.restore
    if r is not None:
        source = r.snapshot or "empty state"
        rows.append(
            [
                "State restored",
                f"{when(r.at)} from {source} + {fmt.integer(r.journal_events)} journal events "
                f"in {r.duration_s:.2f} s",
                "neutral",
            ]
        )
        lost = f"{fmt.nbytes(r.lost_bytes)} cut: " + "; ".join(r.problems) if r.problems else "none"
        rows.append(["Restore problems", lost, "neg" if r.problems else "neutral"])
    return rows


def _known(value: Any) -> Any:
    """A field only the running monitor fills in (UNSET in the store's own document) as None."""
    return None if value is UNSET else value


def alerts_kv(alerts: dict | None) -> list[list[str]]:
    if alerts is None:
        return [["Alerting", "not configured", "muted"]]
    firing = int(alerts.get("firing") or 0)
    rows = [
        ["Firing alerts", fmt.integer(firing), "neg" if firing else "pos"],
        [
            "Delivery",
            "FAILING" if alerts.get("delivery_failing") else "ok",
            "neg" if alerts.get("delivery_failing") else "pos",
        ],
    ]
    for name, ch in sorted((alerts.get("channels") or {}).items()):
        text = "ok" if ch.get("ok") else f"failing: {ch.get('last_error') or 'unknown error'}"
        text += f" · pending {fmt.integer(ch.get('pending'))} · dead {fmt.integer(ch.get('dead'))}"
        rows.append([f"Channel {name}", text, "pos" if ch.get("ok") else "neg"])
    return rows
