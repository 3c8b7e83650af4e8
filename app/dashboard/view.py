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
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import msgspec
from msgspec import UNSET

from app.core.documents import BotMetrics, MetricsDocument, PersistenceStatus, StateDocument
from app.dashboard import fmt

ALL = "__all__"
Cell = str | list[str]


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
    builders: dict[str, Callable[[], Any]] = {
        "status": lambda: status_section(inp, per_bot),
        "bots": lambda: sorted(inp.metrics.bots),
        "tb-positions": lambda: positions_table(inp.states, show_bot),
        "tb-orders": lambda: orders_table(inp.states, show_bot),
        "tb-fills": lambda: fills_table(inp.states, show_bot, inp.fills_rows),
        "tb-trips": lambda: trips_table(inp.states, show_bot),
        "kv-today": lambda: today_kv(per_bot),
        "cards-risk": lambda: risk_cards(inp, per_bot),
        "kv-bot-health": lambda: bot_health_kv(per_bot, inp.stale_after_s),
        "tb-apis": lambda: apis_table(per_bot),
        "tb-events": lambda: events_table(inp.metrics, per_bot, rates),
        "tb-reject-reasons": lambda: reject_reasons_table(inp.metrics),
        "tb-rejects": lambda: rejects_table(inp.states),
        "tb-err-components": lambda: error_components_table(per_bot),
        "tb-errors": lambda: errors_table(inp.states, inp.error_rows),
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
    """The always-visible bar: connection state, money, switches, alerts."""
    label = f"All bots ({len(per_bot)})" if inp.view == ALL else inp.view
    if not per_bot:
        return _waiting_status(inp, label)
    stale = {b: m for b, m in per_bot.items() if m.stale}
    ages = [m.last_event_age_s for m in per_bot.values() if m.last_event_age_s is not None]
    youngest = min(ages) if ages else None
    if stale:
        conn = "stale"
        text = "STALE: " + ", ".join(
            f"{b} (last event {fmt.age(m.last_event_age_s)} ago)" for b, m in stale.items()
        )
    else:
        conn, text = "live", f"live · last event {fmt.age(youngest)} ago"
    note = _stale_note(stale)
    items = _money_items(inp, per_bot, note) + _switch_items(per_bot, note)
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
    return {"label": label, "conn": conn, "text": text, "warn": bool(stale) or failing, "items": items}


def _waiting_status(inp: ViewInput, label: str) -> dict:
    zmq = ", ".join(inp.listen_info.get("zmq", [])) or "n/a"
    http = inp.listen_info.get("http") or ""
    what = "No bot has connected yet" if inp.view == ALL else f"No events from bot {inp.view!s} yet"
    text = f"{what}. Listening for ZeroMQ events on {zmq}" + (f" · dashboard {http}" if http else "")
    return {"label": label, "conn": "waiting", "text": text, "warn": False, "items": []}


def _stale_note(stale: dict[str, BotMetrics]) -> str:
    """Marks every value of a stale view with how old it is."""
    if not stale:
        return ""
    oldest = max((m.last_event_age_s or 0.0) for m in stale.values())
    return f"{fmt.age(oldest)} old"


def _money_items(inp: ViewInput, per_bot: dict[str, BotMetrics], note: str) -> list[list[str]]:
    if inp.view == ALL:
        total = inp.metrics.total
        equity, daily = total.equity, total.daily_pnl
        dd = max((m.drawdown or 0.0 for m in per_bot.values()), default=None)
        dd_label = "Worst drawdown"
    else:
        m = next(iter(per_bot.values()))
        equity, daily, dd, dd_label = m.equity, m.daily_pnl, m.drawdown, "Drawdown"
    return [
        ["Equity", fmt.money(equity), "neutral", note],
        ["Daily P&L", fmt.signed(daily), fmt.tone(daily), note],
        [dd_label, fmt.pct(dd), "neg" if dd else "neutral", note],
    ]


_SWITCH_CLASS = {
    "armed": "pos",
    "triggered": "neg",
    "disabled": "warn",
    "closed": "pos",
    "open": "neg",
    "half_open": "warn",
}


def _switch_items(per_bot: dict[str, BotMetrics], note: str) -> list[list[str]]:
    kill = {b: m.health.kill_switch for b, m in per_bot.items()}
    breaker = {b: m.health.circuit_breaker for b, m in per_bot.items()}
    out = []
    for label, values in (("Kill switch", kill), ("Circuit breaker", breaker)):
        text, cls = _combine_switch(values)
        out.append([label, text, cls, note])
    return out


def _combine_switch(values: dict[str, str | None]) -> tuple[str, str]:
    """One bot: its state; several: the worst state, naming the bots in it."""
    known = {b: v for b, v in values.items() if v}
    if not known:
        return fmt.NA, "neutral"
    if len(values) == 1:
        v = next(iter(known.values()))
        return v.replace("_", " "), _SWITCH_CLASS.get(v, "neutral")
    bad = {b: v for b, v in known.items() if _SWITCH_CLASS.get(v) in ("neg", "warn")}
    if not bad:
        return f"all {next(iter(known.values())).replace('_', ' ')}", "pos"
    worst = "neg" if any(_SWITCH_CLASS.get(v) == "neg" for v in bad.values()) else "warn"
    return ", ".join(f"{b}: {v.replace('_', ' ')}" for b, v in bad.items()), worst


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


def positions_table(states: dict[str, StateDocument], show_bot: bool) -> dict:
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
                        fmt.price(avg),
                        fmt.price(p.mark),
                        [fmt.signed(upnl), fmt.tone(upnl)],
                        [
                            fmt.pct(upnl / basis if basis and upnl is not None else None, sign=True),
                            fmt.tone(upnl),
                        ],
                    ],
                )
            )
    return _table(
        _head(show_bot, "Symbol", "Side", "Qty", "Avg entry", "Mark", "Unrealized P&L", "P&L %"),
        rows,
        "No open positions",
    )


def orders_table(states: dict[str, StateDocument], show_bot: bool) -> dict:
    orders = [(bot, o) for bot, st in states.items() for o in st.open_orders]
    orders.sort(key=lambda bo: bo[1].ts or 0.0, reverse=True)
    rows = [
        _with_bot(
            show_bot,
            bot,
            [
                fmt.clock(o.ts),
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


def fills_table(states: dict[str, StateDocument], show_bot: bool, limit: int) -> dict:
    fills = [(bot, f) for bot, st in states.items() for f in st.recent_fills]
    fills.sort(key=lambda bf: bf[1].ts or 0.0, reverse=True)
    rows = [
        _with_bot(
            show_bot,
            bot,
            [
                fmt.clock(f.ts),
                f.symbol,
                _side(f.side),
                fmt.qty(f.qty),
                fmt.price(f.price),
                fmt.money(f.fee, 4 if (f.fee or 0) < 1 else 2),
                [fmt.signed(f.realized_pnl), fmt.tone(f.realized_pnl)],
                f.order_id,
            ],
        )
        for bot, f in fills[:limit]
    ]
    return _table(
        _head(show_bot, "Time", "Symbol", "Side", "Qty", "Price", "Fee", "Realized P&L", "Order"),
        rows,
        "No fills yet",
    )


def trips_table(states: dict[str, StateDocument], show_bot: bool) -> dict:
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
                    fmt.clock(t.closed_ts),
                    t.symbol,
                    t.side,
                    fmt.qty(t.qty),
                    fmt.clock(t.opened_ts),
                    [fmt.signed(pnl), fmt.tone(pnl)],
                    result,
                ],
            )
        )
    return _table(
        _head(show_bot, "Closed", "Symbol", "Side", "Qty", "Opened", "P&L", "Result"),
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
@dataclass(frozen=True)
class RiskFigures:
    """What the risk cards show: one bot's metrics, or totals across the bots of a view."""

    equity: float | None
    source: str  # the equity card's note
    daily_pnl: float | None
    realized_pnl: float | None
    unrealized_pnl: float | None
    fees: float | None
    drawdown: float | None
    max_drawdown: float | None
    exposure_gross: float | None
    exposure_net: float | None
    leverage: float | None
    sharpe: float | None
    win_rate: float | None
    wins: int
    losses: int
    profit_factor: float | None
    expectancy: float | None
    closed_trades: int
    latency_p95: float | None = None
    latency_avg: float | None = None
    per_bot_note: str = ""  # on ratios that only exist per bot

    @classmethod
    def of_bot(cls, m: BotMetrics) -> RiskFigures:
        return cls(
            equity=m.equity,
            source=m.equity_source,
            daily_pnl=m.daily_pnl,
            realized_pnl=m.realized_pnl,
            unrealized_pnl=m.unrealized_pnl,
            fees=m.fees,
            drawdown=m.drawdown,
            max_drawdown=m.max_drawdown,
            exposure_gross=m.exposure_gross,
            exposure_net=m.exposure_net,
            leverage=m.leverage,
            sharpe=m.sharpe,
            win_rate=m.win_rate,
            wins=m.wins,
            losses=m.losses,
            profit_factor=m.profit_factor,
            expectancy=m.expectancy,
            closed_trades=m.closed_trades,
            latency_p95=m.latency_ms.p95,
            latency_avg=m.latency_ms.avg,
        )


def risk_cards(inp: ViewInput, per_bot: dict[str, BotMetrics]) -> list[list[str]]:
    """One card per metric of /api/metrics; a view of all bots shows totals."""
    if not per_bot:
        return []
    m = (
        _aggregate(inp.metrics, per_bot)
        if inp.view == ALL
        else RiskFigures.of_bot(next(iter(per_bot.values())))
    )
    note = _stale_note({b: x for b, x in per_bot.items() if x.stale})
    cards = [
        ["Equity", fmt.money(m.equity), "neutral", m.source],
        ["Daily P&L", fmt.signed(m.daily_pnl), fmt.tone(m.daily_pnl), ""],
        ["Realized P&L", fmt.signed(m.realized_pnl), fmt.tone(m.realized_pnl), ""],
        ["Unrealized P&L", fmt.signed(m.unrealized_pnl), fmt.tone(m.unrealized_pnl), ""],
        ["Fees", fmt.money(m.fees), "neutral", ""],
        ["Drawdown", fmt.pct(m.drawdown), "neg" if m.drawdown else "neutral", ""],
        ["Max drawdown", fmt.pct(m.max_drawdown), "neg" if m.max_drawdown else "neutral", ""],
        ["Exposure gross", fmt.money(m.exposure_gross), "neutral", ""],
        ["Exposure net", fmt.signed(m.exposure_net), "neutral", ""],
        ["Leverage", _times(m.leverage), "neutral", ""],
        ["Sharpe", fmt.ratio(m.sharpe), "neutral", m.per_bot_note],
        [
            "Win rate",
            fmt.pct(m.win_rate, 1),
            "neutral",
            f"{fmt.integer(m.wins)} W / {fmt.integer(m.losses)} L",
        ],
        ["Profit factor", fmt.ratio(m.profit_factor), "neutral", m.per_bot_note],
        ["Expectancy", fmt.signed(m.expectancy), fmt.tone(m.expectancy), "per trade"],
        ["Closed trades", fmt.integer(m.closed_trades), "neutral", ""],
        ["Latency p95", fmt.ms(m.latency_p95), "neutral", f"avg {fmt.ms(m.latency_avg)}"],
    ]
    if note:
        for card in cards:
            card[3] = f"{note} · {card[3]}" if card[3] else note
    return cards


def _times(x: float | None) -> str:
    return fmt.NA if fmt.ratio(x) == fmt.NA else f"{fmt.ratio(x)}×"


def _aggregate(metrics: MetricsDocument, per_bot: dict[str, BotMetrics]) -> RiskFigures:
    """Totals across bots; ratios that do not add up are left to the per-bot view."""
    total = metrics.total
    bots = per_bot.values()
    wins = sum(m.wins for m in bots)
    losses = sum(m.losses for m in bots)
    trades = sum(m.closed_trades for m in bots)
    equity = total.equity
    return RiskFigures(
        equity=equity,
        source="sum of bots",
        daily_pnl=total.daily_pnl,
        realized_pnl=total.realized_pnl,
        unrealized_pnl=total.unrealized_pnl,
        fees=total.fees,
        drawdown=max((m.drawdown or 0.0 for m in bots), default=None),
        max_drawdown=max((m.max_drawdown or 0.0 for m in bots), default=None),
        exposure_gross=total.exposure_gross,
        exposure_net=total.exposure_net,
        leverage=total.exposure_gross / equity if equity and equity > 0 else None,
        sharpe=None,
        win_rate=wins / trades if trades else None,
        wins=wins,
        losses=losses,
        profit_factor=None,
        expectancy=sum((m.expectancy or 0.0) * m.closed_trades for m in bots) / trades if trades else None,
        closed_trades=trades,
        per_bot_note="select a bot",
    )


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
    for bot, m in per_bot.items():
        ev = m.events
        counts = {"received": ev.received, "rejected": ev.rejected, "lost": ev.lost}
        rows.append([bot, *_counts_with_rates(f"bot:{bot}", counts, rates), fmt.integer(ev.recovered)])
    col = metrics.collector
    totals = {"received": col.received, "rejected": col.rejected, "lost": None}
    rows.append([["collector (all bots)", "muted"], *_counts_with_rates("collector", totals, rates), fmt.NA])
    # Recovered: events missed live and applied from the bot's replay (docs/events.md)
    headers = ["Source", "Received", "Rate", "Rejected", "Rate", "Lost", "Rate", "Recovered"]
    return _table(headers, rows, "", keep_last=1)


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


def rejects_table(states: dict[str, StateDocument]) -> dict:
    rejects = next((st.recent_rejects for st in states.values() if st.recent_rejects), [])
    rows = [[fmt.clock(r.at), r.reason, r.topic or fmt.NA, r.detail, r.excerpt] for r in rejects]
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


def errors_table(states: dict[str, StateDocument], limit: int) -> dict:
    errors = [(bot, e) for bot, st in states.items() for e in st.recent_errors]
    errors.sort(key=lambda be: be[1].ts or 0.0, reverse=True)
    rows = [
        [
            fmt.clock(e.ts),
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
            str(msgspec.structs.asdict(failure)) if failure else "none",
            "neg" if failure else "neutral",
        ],
        [
            "Endpoints",
            ", ".join(_known(col.endpoints) or inp.listen_info.get("zmq") or []) or fmt.NA,
            "neutral",
        ],
        _auth_row(_known(col.curve)),
        _unauthorized_row(_known(col.unauthorized)),
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
        rows.extend(persistence_rows(persistence))
    return rows


def persistence_rows(p: PersistenceStatus) -> list[list[str]]:
    """The journal (is the state durable right now?) and how the state was restored at start-up."""
    j = p.journal
    if j.state == "off":
        rows = [["State journal", "off (storage.journal.enabled): a restart loses the state", "neg"]]
    elif j.state == "failing":
        rows = [["State journal", f"FAILING: {j.failure}; the state is kept in memory only", "neg"]]
    else:
        rows = [["State journal", f"ok, last commit {fmt.clock(j.last_commit_at)}", "pos"]]
    if j.state != "off":
        size = f"{fmt.nbytes(j.data_bytes)}; {fmt.integer(j.uncommitted)} batches uncommitted"
        rows.append(["Journal data", size, "neutral"])
    r = p.restore
    if r is not None:
        source = r.snapshot or "empty state"
        rows.append(
            [
                "State restored",
                f"{fmt.clock(r.at)} from {source} + {fmt.integer(r.journal_events)} journal events "
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
