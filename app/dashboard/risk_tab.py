"""The Risk tab's cards: one per metric of /api/metrics, totals across the bots of a view."""

from __future__ import annotations

from collections.abc import Callable

from app.dashboard import fmt
from app.dashboard.across_bots import age_note, worst_drawdown
from app.dashboard.money import Money
from app.dashboard.safety_view import fleet_cards, stale_note
from app.dashboard.view_input import ALL, ViewInput
from core.documents import BotMetrics


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
    cards = [
        ["Equity", equity, "neutral", one.equity_source if one else _sum_note(money)],
        ["Daily P&L", *daily, ""],
        ["Realized P&L", *realized, "net of fees"],
        ["Unrealized P&L", *unrealized, ""],
        ["Fees", total("fees", fmt.fee)[0], "neutral", ""],
        *_drawdown_cards(per_bot, inp.view == ALL),
        *(fleet_cards(inp.metrics) if inp.view == ALL else ()),
        ["Exposure gross", total("exposure_gross")[0], "neutral", ""],
        ["Exposure net", total("exposure_net", fmt.signed)[0], "neutral", ""],
        _leverage_card(per_bot, one, money),
        _sharpe_card(inp, one),
        _win_rate_card(per_bot, trades),
        _profit_factor_card(one),
        _expectancy_card(per_bot, money, trades),
        ["Closed trades", fmt.integer(trades), "neutral", ""],
        _latency_card(inp, per_bot),
    ]
    return _mark_old(_mark_stale_marks(cards, per_bot, inp), fresh)


#: The cards whose figure includes the positions' values at their marks.
_AT_MARKS = ("Equity", "Unrealized P&L", "Exposure gross", "Exposure net")


def _mark_stale_marks(
    cards: list[list[str]], per_bot: dict[str, BotMetrics], inp: ViewInput
) -> list[list[str]]:
    """An equity figure that includes a position valued at a stale mark says so."""
    note = stale_note(per_bot, inp.mark_stale_after_s)
    for card in cards if note else ():
        if card[0] in _AT_MARKS:
            card[3] = f"{note} · {card[3]}" if card[3] else note
    return cards


def _mark_old(cards: list[list[str]], fresh: str) -> list[list[str]]:
    """Put each card's "old" note before its own note: the view's, or the card's own (a 5th item)."""
    for card in cards:
        note = card.pop() if len(card) == 5 else fresh  # a card with its own freshness carries it
        if note:
            card[3] = f"{note} · {card[3]}" if card[3] else note
    return cards


def _win_rate_card(per_bot: dict[str, BotMetrics], trades: int) -> list[str]:
    wins, losses = sum(m.wins for m in per_bot.values()), sum(m.losses for m in per_bot.values())
    return [
        "Win rate",
        fmt.pct(wins / trades if trades else None, 1),
        "neutral",
        f"{fmt.integer(wins)} W / {fmt.integer(losses)} L",
    ]


def _profit_factor_card(one: BotMetrics | None) -> list[str]:
    """A ratio of one bot: with several, the card asks for a bot."""
    return (
        ["Profit factor", fmt.ratio(one.profit_factor), "neutral", ""]
        if one
        else _per_bot_card("Profit factor")
    )


def _sum_note(money: Money) -> str:
    return "sum of bots, per currency" if money.mixed else "sum of bots"


def _per_bot_card(label: str) -> list[str]:
    """A ratio that does not add up across bots."""
    return [label, fmt.NA, "neutral", "select a bot"]


def _drawdown_cards(per_bot: dict[str, BotMetrics], several: bool) -> list[list[str]]:
    """Drawdown and max drawdown (positive, below the peak); with several bots, the worst and whose."""
    cards = []
    for label, key in (("Drawdown", "drawdown"), ("Max drawdown", "max_drawdown")):
        dd, behind = worst_drawdown(per_bot, key)
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
