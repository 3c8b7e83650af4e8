"""The always-visible status bar: connection state, money, kill switch and breaker, alerts."""

from __future__ import annotations

from alerts.read_model import AlertStatus
from app.dashboard import fmt
from app.dashboard.across_bots import SWITCH_CLASS, age_note, worst_drawdown, youngest_age
from app.dashboard.money import Money
from app.dashboard.view_input import ALL, ViewInput
from core.documents import BotMetrics


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
    conn, text, stale_bots = _connection(inp.view, per_bot, stale)
    items = _money_items(inp, per_bot) + _switch_items(per_bot)
    failing = False
    if inp.alerts is not None:
        item, failing = _alerts_item(inp.alerts)
        items.append(item)
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


def _connection(
    view: str, per_bot: dict[str, BotMetrics], stale: dict[str, BotMetrics]
) -> tuple[str, str, str]:
    """(conn, text, stale_bots): live, or which bots are stale and how old the newest data is."""
    youngest = youngest_age(per_bot.values())
    stale_bots = ""
    if not stale:
        conn, text = "live", f"live · last event {fmt.age(youngest)} ago"
    elif view == ALL:
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
    return conn, text, stale_bots


def _alerts_item(alerts: AlertStatus) -> tuple[list[str], bool]:
    """The bar's Alerts figure, and whether delivery is failing (then the whole bar turns red)."""
    firing, failing = alerts.firing, alerts.delivery_failing
    cls = "neg" if firing else "neutral"
    item = [
        "Alerts",
        f"{firing} firing" + (" · delivery failing" if failing else ""),
        "neg" if failing else cls,
        "",
    ]
    return item, failing


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


def _money_items(inp: ViewInput, per_bot: dict[str, BotMetrics]) -> list[list[str]]:
    money = Money.of(per_bot)
    note = age_note(per_bot.values())
    equity, _ = money.total(per_bot, "equity")
    daily, daily_tone = money.total(per_bot, "daily_pnl", fmt.signed)
    dd, behind = worst_drawdown(per_bot)
    dd_label = "Worst drawdown" if inp.view == ALL else "Drawdown"
    return [
        ["Equity", equity, "neutral", note],
        ["Daily P&L", daily, daily_tone, note],
        [dd_label, fmt.drawdown(dd), "neg" if dd else "neutral", age_note(per_bot[b] for b in behind)],
    ]


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
        return v.replace("_", " "), SWITCH_CLASS.get(v, "neutral"), [b]
    bad = {b: v for b, v in known.items() if SWITCH_CLASS.get(v) in ("neg", "warn")}
    if not bad:
        return f"all {next(iter(known.values())).replace('_', ' ')}", "pos", list(known)
    worst = "neg" if any(SWITCH_CLASS.get(v) == "neg" for v in bad.values()) else "warn"
    return ", ".join(f"{b}: {v.replace('_', ' ')}" for b, v in bad.items()), worst, list(bad)
